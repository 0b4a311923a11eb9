"""Whose work is this? The customer context, carried by contextvars.

``customer(...)`` is a context manager and a decorator (sync and async functions);
``set_customer(...)`` sets the customer for the rest of the current context (frameworks, hooks).
Threads started with ``contextvars.copy_context()`` (e.g. via ``asyncio.to_thread``) and asyncio
tasks inherit the customer of the code that created them.

Baggage: when ``propagate_baggage`` is on, the customer is also put into OTel baggage so that
downstream services receive it. Inbound baggage is only *read* as attribution when the operator
says the caller is trusted (``trust_inbound_baggage``): otherwise any client could bill its calls
to another tenant.
"""

from __future__ import annotations

import contextvars
import functools
import hashlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

from opentelemetry import baggage
from opentelemetry import context as otel_context

from llmledger.usage import CustomerContext

F = TypeVar("F", bound=Callable[..., Any])

_current: contextvars.ContextVar[CustomerContext | None] = contextvars.ContextVar(
    "llmledger_customer", default=None
)

BAGGAGE_KEYS = {"customer.id": "id", "customer.plan": "plan", "app.feature": "feature", "user.id": "user"}


class _Settings:
    """Process-wide switches set by ``init()``/``instrument()``; read on each call."""

    propagate_baggage = False
    trust_inbound_baggage = False


settings = _Settings()


MAX_LABEL_LENGTH = 256
"""Longest customer id, plan, feature or user id llmledger records. A longer one (a bug, or a
hostile request header) keeps its first characters and gets ``…#`` plus 16 hex digits of its
SHA-256: still distinct and recognisable, but one id can no longer weigh megabytes in every metric
export, span and ledger row."""


def bounded(value: str) -> str:
    if len(value) <= MAX_LABEL_LENGTH:
        return value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{value[:MAX_LABEL_LENGTH - 18]}…#{digest}"


def _bounded_or_none(value: str | None) -> str | None:
    return bounded(value) if isinstance(value, str) else value


def _make(customer_id: str, plan: str | None, feature: str | None, user: str | None,
          attrs: dict[str, Any]) -> CustomerContext:
    if not isinstance(customer_id, str) or not customer_id:
        raise ValueError(f"customer id must be a non-empty string, got {customer_id!r}")
    for key, value in attrs.items():
        if not isinstance(value, (str, int, float, bool)):
            raise TypeError(f"customer attribute {key!r} must be str, int, float or bool, got {value!r}")
    return CustomerContext(bounded(customer_id), _bounded_or_none(plan), _bounded_or_none(feature),
                           _bounded_or_none(user), tuple(sorted(attrs.items())))


def _baggage_context(ctx: CustomerContext) -> otel_context.Context:
    current = otel_context.get_current()
    for key, field_name in BAGGAGE_KEYS.items():
        value = getattr(ctx, field_name)
        if value is not None:
            current = baggage.set_baggage(key, value, context=current)
    return current


class customer:
    """Attribute every LLM call inside to a customer.

    >>> with llmledger.customer("cust-123", plan="pro", feature="summarize"):
    ...     client.chat.completions.create(...)

    Also usable as ``@llmledger.customer("cust-123")`` on sync and async functions.
    """

    def __init__(self, id: str, plan: str | None = None, feature: str | None = None,
                 user: str | None = None, **attrs: Any) -> None:
        self._ctx = _make(id, plan, feature, user, attrs)
        self._tokens: list[tuple[contextvars.Token[CustomerContext | None], object | None]] = []

    def __enter__(self) -> CustomerContext:
        otel_token = None
        if settings.propagate_baggage:
            otel_token = otel_context.attach(_baggage_context(self._ctx))
        self._tokens.append((_current.set(self._ctx), otel_token))
        return self._ctx

    def __exit__(self, *exc: object) -> None:
        token, otel_token = self._tokens.pop()
        _current.reset(token)
        if otel_token is not None:
            otel_context.detach(cast(Any, otel_token))

    async def __aenter__(self) -> CustomerContext:
        return self.__enter__()

    async def __aexit__(self, *exc: object) -> None:
        self.__exit__(*exc)

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):
            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with self._fresh():
                    return await func(*args, **kwargs)
            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return func(*args, **kwargs)
        return cast(F, wrapper)

    def _fresh(self) -> customer:
        # A decorated function may run concurrently or recursively: one scope object per call.
        fresh = customer.__new__(customer)
        fresh._ctx = self._ctx
        fresh._tokens = []
        return fresh


def set_customer(id: str, plan: str | None = None, feature: str | None = None,
                 user: str | None = None, **attrs: Any) -> contextvars.Token[CustomerContext | None]:
    """Set the customer for the rest of the current context; returns a token for ``reset_customer``."""
    ctx = _make(id, plan, feature, user, attrs)
    if settings.propagate_baggage:
        otel_context.attach(_baggage_context(ctx))
    return _current.set(ctx)


def reset_customer(token: contextvars.Token[CustomerContext | None]) -> None:
    _current.reset(token)


@contextmanager
def no_customer() -> Iterator[None]:
    """Run a block with no customer attribution (e.g. background jobs inside a request)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def _from_baggage() -> CustomerContext | None:
    entries = baggage.get_all()
    customer_id = entries.get("customer.id")
    if not isinstance(customer_id, str) or not customer_id:
        return None

    def text(key: str) -> str | None:
        value = entries.get(key)
        return bounded(value) if isinstance(value, str) and value else None

    return CustomerContext(bounded(customer_id), text("customer.plan"), text("app.feature"), text("user.id"))


def current_customer() -> CustomerContext | None:
    """The customer of the running code: explicit scope first, then trusted inbound baggage."""
    ctx = _current.get()
    if ctx is None and settings.trust_inbound_baggage:
        return _from_baggage()
    return ctx
