"""Usage of every HTTP request behind one google-genai call, without a span per request.

``generate_content`` with Python callables as tools (automatic function calling, AFC) sends one
request per round and returns only the LAST round's ``usage_metadata``; automatic continuation
adds requests too. The cost must cover all of them, so the private per-request methods are wrapped
with tiny hooks that report into a :class:`HopLog` owned by the enclosing public call, found
through a context variable that is only set while that call runs:

* non-streamed ``generate_content``: the generic call wrapper enters the request's :class:`MadeCurrent` scope
  around the SDK call (``RequestInfo.around_call``). ``Models._generate_content`` (one per HTTP
  request) adds its response's usage to the log;
* streams: the same scope is the stream's per-step scope (``streams.Step``), entered around each
  step of the stream only (never while the user's code runs between chunks).
  ``_generate_content_stream_with_continuation`` (one per AFC round) opens a new entry; each
  chunk's usage is that round's running total including its continuation requests, so the log
  keeps the last one per round and the rounds are summed.

The scope restores the context however the call ends, so a call failing inside an AFC tool of an
enclosing call gives the enclosing call its log back. A log displaced while its call ran (its scope
found another log current at exit) is not trusted: the call falls back to the SDK's last-round usage.

The hooks are not patch targets of the instrumentor (that would make a span per request): they
are installed once, on the first call of an instrumented google-genai method, and do nothing but
one context-variable read when no llmledger call is in progress (e.g. after ``uninstrument()``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextvars import ContextVar, Token
from functools import partial
from typing import Any

from llmledger.instrumentation.streams import ObservedCall, traced_async_generator, traced_generator

logger = logging.getLogger("llmledger.instrumentation.google_genai")


class HopLog:
    """One ``usage_metadata`` per request (non-streamed) or per AFC round (streamed)."""

    __slots__ = ("intact", "token", "usages")

    def __init__(self) -> None:
        self.usages: list[Any] = []
        self.token: Token[HopLog | None] | None = None
        self.intact = True
        """False once the log was found displaced by another when its call ended."""

    def start(self) -> None:
        self.usages.append(None)

    def note(self, usage_metadata: Any) -> None:
        if usage_metadata is None:
            return
        if self.usages:
            self.usages[-1] = usage_metadata
        else:  # the hooks are missing (another SDK version): a single round
            self.usages.append(usage_metadata)

    def reported(self) -> list[Any]:
        return [usage for usage in self.usages if usage is not None]


_current: ContextVar[HopLog | None] = ContextVar("llmledger_genai_hops", default=None)


def open_log(log: HopLog | None = None) -> HopLog:
    """Make a (new) log current (until :func:`close_log`)."""
    log = HopLog() if log is None else log
    log.token = _current.set(log)
    return log


def close_log(log: HopLog) -> bool:
    """Restore the context; True if the log was still the current one, i.e. it saw every hop."""
    intact = _current.get() is log
    if log.token is not None:
        with contextlib.suppress(ValueError, RuntimeError):  # another context, or already reset
            _current.reset(log.token)
        log.token = None
    return intact


# ---- the hooks on the private per-request methods -----------------------------------------------
def _note_response(log: HopLog, response: Any) -> None:
    try:
        log.note(getattr(response, "usage_metadata", None))
    except Exception:
        logger.debug("llmledger: could not note a google-genai hop", exc_info=True)


def _request_hop(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                 kwargs: dict[str, Any]) -> Any:
    log = _current.get()
    if log is None:
        return wrapped(*args, **kwargs)
    log.start()
    response = wrapped(*args, **kwargs)  # a failure fails the call: its scope restores the context
    _note_response(log, response)
    return response


async def _async_request_hop(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                             kwargs: dict[str, Any]) -> Any:
    log = _current.get()
    if log is None:
        return await wrapped(*args, **kwargs)
    log.start()
    response = await wrapped(*args, **kwargs)
    _note_response(log, response)
    return response


def _stream_round(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                  kwargs: dict[str, Any]) -> Any:
    # Calling a (async) generator function only builds the generator: same hook for both.
    log = _current.get()
    if log is not None:
        log.start()
    return wrapped(*args, **kwargs)


HOOKS: dict[str, Callable[..., Any]] = {
    "Models._generate_content": _request_hop,
    "AsyncModels._generate_content": _async_request_hop,
    "Models._generate_content_stream_with_continuation": _stream_round,
    "AsyncModels._generate_content_stream_with_continuation": _stream_round,
}
"""The private per-request methods (patched as ``role="hop"`` targets) and their hooks."""


# ---- the scope: the log is current during the call (or each step of its stream), and only then --
class MadeCurrent:
    """Makes a log current for the SDK call (``around_call``) or one step of a stream (``Step``)."""

    __slots__ = ("_log",)

    def __init__(self, log: HopLog) -> None:
        self._log = log

    def __enter__(self) -> None:
        open_log(self._log)

    def __exit__(self, *exc_info: object) -> None:
        if not close_log(self._log):
            self._log.intact = False


def traced_stream(generator: Iterator[Any], call: ObservedCall, log: HopLog) -> Iterator[Any]:
    """The traced generator, with the hop log made current around each ``next``."""
    return traced_generator(generator, call, partial(MadeCurrent, log))


def traced_async_stream(generator: AsyncIterator[Any], call: ObservedCall, log: HopLog) -> AsyncIterator[Any]:
    return traced_async_generator(generator, call, partial(MadeCurrent, log))
