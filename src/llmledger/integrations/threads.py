"""Carry the customer into threads: ``ThreadPoolExecutor`` (``submit``, ``map``,
``loop.run_in_executor``) and ``threading.Thread``.

Only llmledger's own customer value travels, never the rest of the caller's context: a work item
submitted inside ``llmledger.customer(...)`` runs under that customer and the worker thread is
left as it was afterwards; a ``Thread`` started inside a scope runs its whole life under the
customer that was current at ``start()``. Pool worker threads are always created with no
customer, so a pooled thread never keeps the customer of the request that happened to spawn it.

The patch targets are data; a target missing from this Python is skipped with a debug log.
Installed by the instrumentor (``attribution.propagate_to_threads``, on by default) and removed
by ``uninstrument()``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import wrapt

from llmledger.attribution import _current
from llmledger.patches import unwrap_all
from llmledger.usage import CustomerContext

logger = logging.getLogger("llmledger.integrations")

_ATTRIBUTE = "_llmledger_customer"


def run_as(customer: CustomerContext | None, fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` made to run under ``customer`` (and only that) wherever it is called."""

    def run_with_customer(*args: Any, **kwargs: Any) -> Any:
        token = _current.set(customer)
        try:
            return fn(*args, **kwargs)
        finally:
            _current.reset(token)

    return run_with_customer


def _submit(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> Any:
    customer = _current.get()
    if customer is None or not args:
        return wrapped(*args, **kwargs)
    # Threads the pool spawns inside submit() must not inherit the customer (see _start).
    token = _current.set(None)
    try:
        return wrapped(run_as(customer, args[0]), *args[1:], **kwargs)
    finally:
        _current.reset(token)


def _start(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> Any:
    customer = _current.get()
    if customer is not None:
        try:
            setattr(instance, _ATTRIBUTE, customer)
        except Exception:  # a Thread subclass with __slots__ or a read-only __setattr__
            logger.debug("llmledger: cannot carry the customer into %r", instance, exc_info=True)
    return wrapped(*args, **kwargs)


def _bootstrap(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
               kwargs: dict[str, Any]) -> Any:
    # Runs first thing in the new thread, whose context is empty: no reset needed at its end.
    customer = getattr(instance, _ATTRIBUTE, None)
    if customer is not None:
        _current.set(customer)
    return wrapped(*args, **kwargs)


Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

THREAD_TARGETS: tuple[tuple[str, str, Wrapper], ...] = (
    ("concurrent.futures.thread", "ThreadPoolExecutor.submit", _submit),
    ("threading", "Thread.start", _start),
    ("threading", "Thread._bootstrap_inner", _bootstrap),
)
"""(module, Class.method, wrapper): where a customer crosses into another thread."""


class ThreadPropagation:
    """The installed thread patches; ``uninstall`` restores the originals."""

    def __init__(self) -> None:
        self._patched: list[tuple[Any, str]] = []

    def install(self) -> None:
        if self._patched:
            return
        for module_name, qualname, wrapper in THREAD_TARGETS:
            class_name, name = qualname.split(".")
            owner = getattr(importlib.import_module(module_name), class_name, None)
            if owner is None or name not in vars(owner):
                logger.debug("llmledger: no %s.%s here; customer propagation skips it", module_name,
                             qualname)
                continue
            if isinstance(vars(owner)[name], wrapt.FunctionWrapper):
                continue
            wrapt.wrap_function_wrapper(owner, name, wrapper)
            self._patched.append((owner, name))

    def uninstall(self) -> None:
        unwrap_all(self._patched)
