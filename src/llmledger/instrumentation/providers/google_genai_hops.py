"""Usage of every HTTP request behind one google-genai call, without a span per request.

``generate_content`` with Python callables as tools (automatic function calling, AFC) sends one
request per round and returns only the LAST round's ``usage_metadata``; automatic continuation
adds requests too. The cost must cover all of them, so the private per-request methods are wrapped
with tiny hooks that report into a :class:`HopLog` owned by the enclosing public call, found
through a context variable that is only set while that call runs:

* non-streamed ``generate_content``: the adapter sets it when the call starts and resets it when
  the response is read. ``Models._generate_content`` (one per HTTP request) adds its response's
  usage to the log;
* streams: :func:`traced_stream` / :func:`traced_async_stream` set it around each step of the
  stream only (never while the user's code runs between chunks).
  ``_generate_content_stream_with_continuation`` (one per AFC round) opens a new entry; each
  chunk's usage is that round's running total including its continuation requests, so the log
  keeps the last one per round and the rounds are summed.

A non-streamed call that fails before its first request (e.g. on argument validation) leaves its
log current until the next call in that context replaces it. That is harmless, except inside an AFC
tool of an enclosing call: the enclosing call then sees a log that is not its own and falls back
to the SDK's last-round usage (a request failing inside a tool is handled: the hook restores the
context).

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

from llmledger.instrumentation.lifecycle import Call, traced_async_generator, traced_generator

logger = logging.getLogger("llmledger.instrumentation.google_genai")


class HopLog:
    """One ``usage_metadata`` per request (non-streamed) or per AFC round (streamed)."""

    __slots__ = ("token", "usages")

    def __init__(self) -> None:
        self.usages: list[Any] = []
        self.token: Token[HopLog | None] | None = None

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


def open_log() -> HopLog:
    """Make a new log current for a non-streamed call (until :func:`close_log`)."""
    log = HopLog()
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
    try:
        response = wrapped(*args, **kwargs)
    except BaseException:
        # A failed request fails the whole call (the SDK retries nothing here), whose response
        # will never be read: give the context back now, e.g. to an AFC tool that called Gemini,
        # caught the error and lets the enclosing call go on.
        close_log(log)
        raise
    _note_response(log, response)
    return response


async def _async_request_hop(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                             kwargs: dict[str, Any]) -> Any:
    log = _current.get()
    if log is None:
        return await wrapped(*args, **kwargs)
    log.start()
    try:
        response = await wrapped(*args, **kwargs)
    except BaseException:
        close_log(log)
        raise
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


# ---- streams: the log is current during each step, and only then -------------------------------
class _MadeCurrent:
    """Makes a log current for one step of a stream (the lifecycle's per-step scope)."""

    __slots__ = ("_log", "_token")

    def __init__(self, log: HopLog) -> None:
        self._log = log

    def __enter__(self) -> None:
        self._token = _current.set(self._log)

    def __exit__(self, *exc_info: object) -> None:
        _current.reset(self._token)


def traced_stream(generator: Iterator[Any], call: Call, log: HopLog) -> Iterator[Any]:
    """The lifecycle's traced generator, plus the hop log made current around each ``next``."""
    return traced_generator(generator, call, partial(_MadeCurrent, log))


def traced_async_stream(generator: AsyncIterator[Any], call: Call, log: HopLog) -> AsyncIterator[Any]:
    return traced_async_generator(generator, call, partial(_MadeCurrent, log))
