"""The generic call lifecycle, written once for every provider and call style.

start (guarded) -> the SDK call (untouched; its exception re-raised as is) -> finish (guarded):
extract usage, price it, hand the CallRecord to telemetry. Streams finish when they end, fail,
are closed, or are garbage-collected after being abandoned — exactly once.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from llmledger import propagation
from llmledger.attribution import current_customer
from llmledger.instrumentation.adapter import (
    MalformedUsage,
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
)
from llmledger.usage import CallRecord, implausible_count

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

logger = logging.getLogger("llmledger.instrumentation")

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class Call:
    """One LLM call in flight. ``finish`` is idempotent and never raises."""

    __slots__ = ("_done", "_pricer", "_telemetry", "adapter", "handler", "record", "request", "span",
                 "target")

    def __init__(self, adapter: ProviderAdapter, target: PatchTarget, request: RequestInfo,
                 telemetry: Telemetry, pricer: Pricer) -> None:
        self._done = True  # until the span exists there is nothing to finish
        self.adapter, self.target, self.request = adapter, target, request
        self._telemetry, self._pricer = telemetry, pricer
        self.record = CallRecord(
            provider=request.provider, operation=request.operation or target.operation,
            request_model=request.model,
            stream=request.stream, start_time_ns=time.time_ns(),
            server_address=request.server_address, server_port=request.server_port,
            modifiers=request.modifiers, customer=current_customer())
        self.span: Span | None = telemetry.start_span(self.record)
        self.handler: StreamHandler | None = None
        self._done = False

    def first_chunk(self) -> None:
        if self.record.first_chunk_time_ns is None:
            self.record.first_chunk_time_ns = time.time_ns()

    def finish(self, info: ResponseInfo | None, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        try:
            record = self.record
            record.end_time_ns = time.time_ns()
            if error is not None:
                record.error_type = _error_type(error)
            if info is not None:
                record.usage = info.usage
                record.response_model = info.response_model
                record.response_id = info.response_id
                record.finish_reasons = info.finish_reasons
                if info.modifiers is not None:
                    record.modifiers = info.modifiers
            if record.usage is not None and (problem := implausible_count(record.usage)):
                warn_malformed(self, MalformedUsage(problem))
                record.usage = None
            if record.usage is not None:
                at = datetime.fromtimestamp(record.start_time_ns / 1e9, tz=timezone.utc)
                record.cost = self._pricer.price(
                    record.provider, record.response_model or record.request_model, record.usage,
                    record.modifiers, at)
        except Exception:
            logger.debug("llmledger: could not complete the call record", exc_info=True)
        self._telemetry.record(self.record, self.span)

    def finish_stream(self, error: BaseException | None = None) -> None:
        """End a stream: take what its handler saw (partial on error or abandonment)."""
        if self._done:
            return
        info = None
        if self.handler is not None:
            try:
                info = self.handler.result()
            except MalformedUsage as exc:
                warn_malformed(self, exc)
            except Exception:
                logger.debug("llmledger: stream handler failed", exc_info=True)
        self.finish(info, error)

    def on_chunk(self, chunk: Any) -> bool:
        """Per-chunk work: note the first chunk's time, let the handler look. True = hide it."""
        if self.record.first_chunk_time_ns is None:
            self.record.first_chunk_time_ns = time.time_ns()
        handler = self.handler
        if handler is None:
            return False
        try:
            return handler.on_chunk(chunk)
        except Exception:
            logger.debug("llmledger: stream chunk handling failed", exc_info=True)
            self.handler = None
            return False

    def __del__(self) -> None:
        # A stream the caller walked away from: end its span with what was seen.
        if not self._done:
            with contextlib.suppress(Exception):  # interpreter shutdown and the like
                self.finish_stream(None)


_warned_malformed: set[tuple[str, str]] = set()


def warn_malformed(call: Call, exc: MalformedUsage) -> None:
    """Bad usage data from a provider: log once per provider and model, record no_usage."""
    key = (call.record.provider, call.record.request_model or "")
    if key not in _warned_malformed:
        _warned_malformed.add(key)
        logger.warning("llmledger: %s returned usage it cannot read for model %s (%s); the call is "
                       "recorded without usage", key[0], key[1] or "?", exc)


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


def _span_context(call: Call) -> object:
    return otel_context.attach(propagation.call_context(call.span)) if call.span is not None else None


@contextlib.contextmanager
def activate(call: Call) -> Iterator[None]:
    """Make the call's span current (for adapters whose SDK sends the request outside the wrapper)."""
    token = _span_context(call)
    try:
        yield
    finally:
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]


class Lifecycle:
    """Builds the wrapt wrappers for one adapter's targets, bound to telemetry and pricing."""

    def __init__(self, telemetry: Telemetry, pricer: Pricer) -> None:
        self.telemetry = telemetry
        self.pricer = pricer
        self.active = True
        """False after ``uninstrument()``: SDK objects that cached a bound wrapper pass through."""

    def _start(self, adapter: ProviderAdapter, target: PatchTarget, instance: Any,
               args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        if not self.active or not is_instrumentation_enabled():
            return None
        try:
            request = adapter.request_info(target, instance, args, kwargs)
            if request is None:
                return None
            return Call(adapter, target, request, self.telemetry, self.pricer)
        except Exception:
            logger.debug("llmledger: could not start %s", target.qualname, exc_info=True)
            return None

    def _on_result(self, call: Call, result: Any) -> Any:
        """After a successful SDK call: record it, or hand back a stream proxy. Never raises."""
        try:
            adapter, target, request = call.adapter, call.target, call.request
            custom = adapter.wrap_result(target, request, result, call)
            if custom is not None:
                return custom
            if not adapter.is_stream(target, request, result):
                call.finish(adapter.response_info(target, request, result))
                return result
            call.handler = adapter.stream_handler(target, request)
            return wrap_stream(result, call)
        except MalformedUsage as exc:
            warn_malformed(call, exc)
            call.finish(None)
            return result
        except Exception:
            logger.debug("llmledger: could not handle the result of %s", call.target.qualname,
                         exc_info=True)
            call.finish(None)
            return result

    def wrapper(self, adapter: ProviderAdapter, target: PatchTarget) -> Wrapper:
        if target.role == "hop":
            hop: Wrapper = adapter.hop_wrapper(target)
            return hop
        start, on_result = self._start, self._on_result

        if target.style == "async":
            async def async_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                                    kwargs: dict[str, Any]) -> Any:
                call = start(adapter, target, instance, args, kwargs)
                if call is None:
                    return await wrapped(*args, **kwargs)
                token = _span_context(call)
                try:
                    result = await wrapped(*args, **(call.request.kwargs or kwargs))
                except BaseException as error:
                    call.finish(None, error)
                    raise
                finally:
                    if token is not None:
                        otel_context.detach(token)  # type: ignore[arg-type]
                return on_result(call, result)
            return async_wrapper

        if target.style in ("sync_gen", "async_gen"):
            trace_generator: Callable[..., Any] = (
                traced_generator if target.style == "sync_gen" else traced_async_generator)

            def gen_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                            kwargs: dict[str, Any]) -> Any:
                call = start(adapter, target, instance, args, kwargs)
                if call is None:
                    return wrapped(*args, **kwargs)
                generator = wrapped(*args, **(call.request.kwargs or kwargs))
                call.handler = _safe_handler(adapter, target, call.request)
                return trace_generator(generator, call)
            return gen_wrapper

        def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                         kwargs: dict[str, Any]) -> Any:
            call = start(adapter, target, instance, args, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            token = _span_context(call)
            try:
                result = wrapped(*args, **(call.request.kwargs or kwargs))
            except BaseException as error:
                call.finish(None, error)
                raise
            finally:
                if token is not None:
                    otel_context.detach(token)  # type: ignore[arg-type]
            return on_result(call, result)
        return sync_wrapper


def _safe_handler(adapter: ProviderAdapter, target: PatchTarget,
                  request: RequestInfo) -> StreamHandler | None:
    try:
        return adapter.stream_handler(target, request)
    except Exception:
        logger.debug("llmledger: no stream handler for %s", target.qualname, exc_info=True)
        return None


Step = Callable[[], contextlib.AbstractContextManager[object]]
"""A per-step scope: entered around each ``next`` of a traced generator, never while the user's code
runs between chunks (google-genai makes its hop log current this way)."""


def traced_generator(generator: Iterator[Any], call: Call, step: Step | None = None) -> Iterator[Any]:
    """For SDK generator functions (lazy: the request starts on the first ``next``)."""
    try:
        if step is None:  # the common case: a plain loop, nothing per chunk but the call's own work
            for chunk in generator:
                if not call.on_chunk(chunk):
                    yield chunk
        else:
            while True:
                with step():
                    try:
                        chunk = next(generator)
                    except StopIteration:
                        break
                if not call.on_chunk(chunk):
                    yield chunk
    except GeneratorExit:
        call.finish_stream(None)
        close = getattr(generator, "close", None)
        if close is not None:
            close()
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


async def traced_async_generator(generator: AsyncIterator[Any], call: Call,
                                 step: Step | None = None) -> AsyncIterator[Any]:
    try:
        if step is None:
            async for chunk in generator:
                if not call.on_chunk(chunk):
                    yield chunk
        else:
            while True:
                with step():
                    try:
                        chunk = await generator.__anext__()
                    except StopAsyncIteration:
                        break
                if not call.on_chunk(chunk):
                    yield chunk
    except GeneratorExit:
        call.finish_stream(None)
        aclose = getattr(generator, "aclose", None)
        if aclose is not None:
            await aclose()
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


def wrap_stream(result: Any, call: Call) -> Any:
    """Proxy a stream object so it reports when it ends; generators get a traced generator."""
    from llmledger.instrumentation.streams import AsyncStreamProxy, SyncStreamProxy

    if inspect.isgenerator(result):
        return traced_generator(result, call)
    if inspect.isasyncgen(result):
        return traced_async_generator(result, call)
    if hasattr(result, "__aiter__") or hasattr(result, "__anext__"):
        return AsyncStreamProxy(result, call)
    return SyncStreamProxy(result, call)
