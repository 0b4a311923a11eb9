"""The ``messages.stream(...)`` helper of the Anthropic SDK (sync and async, beta included).

``stream()`` does not go through ``create``: it returns a ``MessageStreamManager`` whose request
fires in ``__enter__``; the ``MessageStream`` it yields then reads the raw event stream itself in
``text_stream``, ``until_done()`` and ``get_final_message()``, so nothing the user iterates passes
through a proxy of ours. So llmledger proxies the *manager*:

* ``__enter__``/``__aenter__`` runs the request with llmledger's span current (the SDK's own span
  and its ``traceparent`` nest under it); a failed request ends the call with that error, re-raised
  untouched;
* the ``MessageStream`` returned to the user is the SDK's own object; llmledger puts its generic
  stream proxy in place of the stream's raw event stream before anything reads it, so every helper
  reads through it: same events, exact usage, time to first chunk, and a failure mid-stream ends
  the call with that error. The call also ends on ``close()``, on exit, or when abandoned (GC);
* if a future SDK no longer keeps the raw stream where expected, the call is finished at exit from
  ``current_message_snapshot.usage`` (which asserts when no event arrived: guarded).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import wrapt

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo, ResponseInfo, StreamHandler
from llmledger.instrumentation.lifecycle import Call, activate, warn_malformed
from llmledger.instrumentation.providers.anthropic import message_info
from llmledger.instrumentation.streams import AsyncStreamProxy, SyncStreamProxy

logger = logging.getLogger("llmledger.instrumentation.anthropic")


def _observe(stream: Any, call: Call, handler: StreamHandler, proxy_type: type) -> bool:
    """Route the message stream's raw events through llmledger's stream proxy. False if it cannot."""
    try:
        from anthropic import AsyncStream, Stream

        raw = getattr(stream, "_raw_stream", None)
        if not isinstance(raw, (Stream, AsyncStream)) or isinstance(raw, (SyncStreamProxy, AsyncStreamProxy)):
            return False
        call.handler = handler
        stream._raw_stream = proxy_type(raw, call)
        return True
    except Exception:
        logger.debug("llmledger: cannot observe the Anthropic message stream", exc_info=True)
        return False


def _snapshot_info(stream: Any, request: RequestInfo) -> ResponseInfo | None:
    try:
        message = stream.current_message_snapshot
    except AssertionError:  # no message_start arrived
        return None
    return message_info(message, request)


def _finish_from_snapshot(stream: Any, call: Call) -> None:
    """The fallback path: end the call with what the SDK's own accumulated message says."""
    info = None
    try:
        if stream is not None:
            info = _snapshot_info(stream, call.request)
    except MalformedUsage as exc:
        warn_malformed(call, exc)
    except Exception:
        logger.debug("llmledger: cannot read the Anthropic message snapshot", exc_info=True)
    call.finish(info, None)


class _ManagerProxy(wrapt.ObjectProxy[Any]):
    """What the sync and async manager proxies share: the call, and what happens after enter and at
    exit (only the ``await`` differs)."""

    def __init__(self, manager: Any, call: Call, handler: StreamHandler) -> None:
        super().__init__(manager)
        self._self_call = call
        self._self_handler = handler
        self._self_stream: Any = None
        self._self_observed = False

    def _self_entered(self, stream: Any, proxy_type: type) -> Any:
        self._self_stream = stream
        self._self_observed = _observe(stream, self._self_call, self._self_handler, proxy_type)
        return stream

    def _self_exited(self) -> None:
        if self._self_observed:
            self._self_call.finish_stream(None)  # normally already done by the stream's close()
        else:
            _finish_from_snapshot(self._self_stream, self._self_call)


@contextlib.contextmanager
def _request(call: Call) -> Iterator[None]:
    """Around the manager's enter, which sends the request. It fires after the lifecycle's own span
    context has been detached (that only spans ``stream()``), so the call's span is made current
    again; a failed request ends the call with its error, re-raised untouched."""
    with activate(call):
        try:
            yield
        except BaseException as error:
            call.finish(None, error)
            raise


class MessageStreamManagerProxy(_ManagerProxy):
    """Stands in for ``MessageStreamManager`` / ``BetaMessageStreamManager``."""

    def __enter__(self) -> Any:
        with _request(self._self_call):
            stream = self.__wrapped__.__enter__()
        return self._self_entered(stream, SyncStreamProxy)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_exited()


class AsyncMessageStreamManagerProxy(_ManagerProxy):
    """Stands in for ``AsyncMessageStreamManager`` / ``BetaAsyncMessageStreamManager``."""

    async def __aenter__(self) -> Any:
        with _request(self._self_call):
            stream = await self.__wrapped__.__aenter__()
        return self._self_entered(stream, AsyncStreamProxy)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_exited()


def wrap_stream_manager(manager: Any, call: Call, handler: StreamHandler) -> Any:
    """The proxy for what ``Messages.stream`` / ``AsyncMessages.stream`` returned."""
    if hasattr(manager, "__aenter__"):
        return AsyncMessageStreamManagerProxy(manager, call, handler)
    return MessageStreamManagerProxy(manager, call, handler)
