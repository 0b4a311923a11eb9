"""Carry the customer from the code that publishes a Celery task to the worker that runs it.

At publish (``before_task_publish``) the current customer is written into llmledger's own task
header, ``llmledger_customer``; in the worker (``task_prerun``) it is read back from that header
and made current for the task, then reset (``task_postrun``). A task published with no customer
runs with none, whatever the worker thread ran before. Only this header is read: inbound OTel
baggage stays untrusted unless ``trust_inbound_baggage`` says otherwise (whoever can publish to
your broker can already run any task, so the header adds no new trust).

Eagerly run tasks (``task_always_eager``, ``apply()``) run in the caller's context and keep its
customer; they are left alone.
"""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

from llmledger.attribution import _current
from llmledger.usage import CustomerContext

logger = logging.getLogger("llmledger.integrations")

HEADER = "llmledger_customer"
_UID = "llmledger-customer"
_SCALARS = (str, int, float, bool)


def encode_customer(customer: CustomerContext) -> dict[str, Any]:
    return {"id": customer.id, "plan": customer.plan, "feature": customer.feature,
            "user": customer.user, "attrs": [[key, value] for key, value in customer.attrs]}


def decode_customer(raw: object) -> CustomerContext | None:
    """The customer in a task header, or None when it is absent or not one llmledger wrote."""
    if not isinstance(raw, dict):
        return None
    customer_id = raw.get("id")
    if not isinstance(customer_id, str) or not customer_id:
        return None

    def text(key: str) -> str | None:
        value = raw.get(key)
        return value if isinstance(value, str) and value else None

    attrs: list[tuple[str, str | int | float | bool]] = []
    for pair in raw.get("attrs") or ():
        if (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], str)
                and isinstance(pair[1], _SCALARS)):
            attrs.append((pair[0], pair[1]))
    return CustomerContext(customer_id, text("plan"), text("feature"), text("user"), tuple(attrs))


def _before_publish(sender: Any = None, headers: dict[str, Any] | None = None, **_: Any) -> None:
    try:
        customer = _current.get()
        if customer is not None and headers is not None:
            headers[HEADER] = encode_customer(customer)
    except Exception:
        logger.debug("llmledger: could not put the customer on task %s", sender, exc_info=True)


_tokens: dict[str, Any] = {}
"""task id -> the contextvar token to reset when the task ends (tasks may run on several threads)."""


def _prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    try:
        request = task.request
        if getattr(request, "is_eager", False) or task_id is None:
            return
        raw = getattr(request, HEADER, None)
        if raw is None:
            headers = getattr(request, "headers", None)  # some protocols keep custom headers here
            raw = headers.get(HEADER) if isinstance(headers, dict) else None
        _tokens[task_id] = _current.set(decode_customer(raw))
    except Exception:
        logger.debug("llmledger: could not restore the customer of task %s", task_id, exc_info=True)


def _postrun(task_id: str | None = None, **_: Any) -> None:
    token = _tokens.pop(task_id, None) if task_id is not None else None
    if token is None:
        return
    try:
        _current.reset(token)
    except ValueError:  # reset in another context than the prerun's: leave nothing behind
        _current.set(None)


class CeleryPropagation:
    """Connects the three signal handlers when Celery is installed; ``uninstall`` disconnects them."""

    def __init__(self) -> None:
        self._connected = False

    def install(self) -> None:
        if self._connected or importlib.util.find_spec("celery") is None:
            return
        try:
            from celery import signals
        except Exception:
            logger.debug("llmledger: celery is installed but does not import", exc_info=True)
            return
        signals.before_task_publish.connect(_before_publish, weak=False, dispatch_uid=_UID)
        signals.task_prerun.connect(_prerun, weak=False, dispatch_uid=_UID)
        signals.task_postrun.connect(_postrun, weak=False, dispatch_uid=_UID)
        self._connected = True

    def uninstall(self) -> None:
        if not self._connected:
            return
        from celery import signals

        signals.before_task_publish.disconnect(_before_publish, dispatch_uid=_UID)
        signals.task_prerun.disconnect(_prerun, dispatch_uid=_UID)
        signals.task_postrun.disconnect(_postrun, dispatch_uid=_UID)
        self._connected = False
