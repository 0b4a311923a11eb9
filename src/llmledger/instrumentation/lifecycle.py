"""The generic call lifecycle, written once for every provider and call style.

start (guarded) -> the SDK call (untouched; its exception re-raised as is) -> finish (guarded):
extract usage, price it, hand the CallRecord to telemetry. A streamed result is observed where
its adapter says the stream lives (``streams.observe``); the call then finishes when the stream
ends, fails, is closed, or is garbage-collected after being abandoned — exactly once. Adapters
never see the ``Call``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled

from llmledger.attribution import current_customer
from llmledger.endpoints import provider_billed
from llmledger.instrumentation.adapter import (
    RESPONSE_LOST,
    MalformedUsage,
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
)
from llmledger.instrumentation.raw_responses import RawResponseProxy
from llmledger.instrumentation.streams import Step, observe, traced_async_generator, traced_generator
from llmledger.integrations.ownership import sdk_call_owned
from llmledger.propagation import call_context
from llmledger.usage import CallRecord, CustomerContext, implausible_count

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from llmledger.limits.guard import LimitGuard
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

logger = logging.getLogger("llmledger.instrumentation")

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]


class Call:
    """One LLM call in flight. ``finish`` is idempotent and never raises."""

    __slots__ = ("_done", "_lifecycle", "_token", "adapter", "handler", "record", "request", "span", "target")

    def __init__(self, lifecycle: Lifecycle, adapter: ProviderAdapter, target: PatchTarget, request: RequestInfo,
                 customer: CustomerContext | None) -> None:
        self._done = True  # until the span exists there is nothing to finish
        self._lifecycle = lifecycle
        self.adapter, self.target, self.request = adapter, target, request
        telemetry = lifecycle.telemetry
        self.record = CallRecord(
            provider=request.provider, operation=target.operation, request_model=request.model,
            stream=request.stream, start_time_ns=time.time_ns(),
            server_address=request.server_address, server_port=request.server_port,
            modifiers=request.modifiers, customer=customer)
        self.span: Span | None = telemetry.start_span(self.record)
        self.handler: StreamHandler | None = None
        self._token: object = None
        self._done = False

    def __enter__(self) -> None:
        """The SDK call is sent: the call's span is current (its trace context goes out with the
        request when configured), inside the adapter's ``around_call``."""
        if self.span is not None:
            self._token = otel_context.attach(call_context(self.span, self._lifecycle.propagate_trace_context))
        around = self.request.around_call
        if around is not None:
            around.__enter__()

    def __exit__(self, exc_type: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        """The SDK call returned or raised: an error is the call's (``fail``) and goes on untouched."""
        try:
            around = self.request.around_call
            if around is not None:
                around.__exit__(exc_type, error, tb)
            if error is not None:
                self.fail(error)
        finally:
            if self._token is not None:
                otel_context.detach(self._token)  # type: ignore[arg-type]

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
                record.cost = self._lifecycle.pricer.price(
                    record.provider, record.response_model or record.request_model, record.usage,
                    record.modifiers, record.start_time_ns)
            if info is not None and info.provider_cost is not None:
                record.computed_cost = record.cost.total
                record.cost = provider_billed(record.cost, info.provider_cost)
        except Exception:
            logger.debug("llmledger: could not complete the call record", exc_info=True)
        self._lifecycle.telemetry.record(self.record, self.span)

    def fail(self, error: BaseException) -> None:
        """The SDK call raised. An error about a response the SDK received and refused (the adapter's
        ``error_result``) is a billed call: recorded with that response's usage and the error. An
        error the SDK raises before sending anything (argument validation, a client-side limit) is
        not a failed LLM call: no request left the process, so nothing is recorded (the span is
        dropped unended: never exported). Either way the error goes on untouched."""
        try:
            received = self.adapter.error_result(self.target, self.request, error)
        except Exception:
            logger.debug("llmledger: cannot read the error of %s", self.target.qualname, exc_info=True)
            received = None
        if received is not None:
            self.finish_unobserved(None if received is RESPONSE_LOST else received, error)
            return
        if isinstance(error, _REJECTED_BEFORE_SENDING) and not isinstance(error, _READ_ERRORS):
            if not self._done:
                self._done = True
                logger.debug("llmledger: %s rejected the call before sending it (%s: %s); not recorded",
                             self.target.qualname, type(error).__qualname__, error)
            return
        self.finish(None, error)

    def finish_stream(self, error: BaseException | None = None) -> None:
        """End a stream: take what its handler saw (partial on error or abandonment)."""
        if self._done:
            return
        handler = self.handler
        self.finish(None if handler is None else self._read(handler.result), error)

    def finish_unobserved(self, value: Any, error: BaseException | None = None) -> None:
        """End a call from what ``value`` says, read by the adapter as a response (a stream that
        could not be observed: e.g. an entered stream manager; a response the SDK refused; None:
        nothing to read)."""
        adapter, target, request = self.adapter, self.target, self.request
        self.finish(None if value is None else self._read(lambda: adapter.response_info(target, request, value)),
                    error)

    @property
    def streamed(self) -> bool:
        return self.request.stream

    def finish_body(self, body: Any) -> None:
        """End a raw-response call whose body the user has read (None: unreadable)."""
        if self._done:
            return
        adapter, target, request = self.adapter, self.target, self.request
        self.finish(None if body is None else self._read(lambda: adapter.body_info(target, request, body)))

    def _read(self, read: Callable[[], ResponseInfo]) -> ResponseInfo | None:
        """What the adapter reads of the call's response; None (logged) when it cannot."""
        try:
            return read()
        except MalformedUsage as exc:
            warn_malformed(self, exc)
        except Exception:
            logger.debug("llmledger: cannot read the response of %s", self.target.qualname, exc_info=True)
        return None

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
            self.reader_failed()
            return False

    def first_chunk(self) -> Callable[[Any], bool] | None:
        """The first chunk arrived: note its time; the handler's chunk reader for a loop that guards
        it (``streams.traced_generator``), None when there is no handler."""
        if self.record.first_chunk_time_ns is None:
            self.record.first_chunk_time_ns = time.time_ns()
        return None if self.handler is None else self.handler.on_chunk

    def reader_failed(self) -> None:
        """The handler raised on a chunk: logged, and the stream's later chunks pass unread."""
        logger.debug("llmledger: stream chunk handling failed", exc_info=True)
        self.handler = None

    def span_current(self) -> contextlib.AbstractContextManager[object]:
        """Make the call's span current (for requests sent after the wrapper returned)."""
        return _SpanCurrent(self.span, self._lifecycle.propagate_trace_context)

    def __del__(self) -> None:
        # A stream the caller walked away from: end its span with what was seen.
        if not self._done:
            with contextlib.suppress(Exception):  # interpreter shutdown and the like
                self.finish_stream(None)


class _SpanCurrent:
    __slots__ = ("_propagate", "_span", "_token")

    def __init__(self, span: Span | None, propagate: bool) -> None:
        self._span, self._propagate = span, propagate
        self._token: object = None

    def __enter__(self) -> None:
        if self._span is not None:
            self._token = otel_context.attach(call_context(self._span, self._propagate))

    def __exit__(self, *exc_info: object) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]


_warned_malformed: set[tuple[str, str]] = set()


def warn_malformed(call: Call, exc: MalformedUsage) -> None:
    """Bad usage data from a provider: log once per provider and model, record no_usage."""
    key = (call.record.provider, call.record.request_model or "")
    if key not in _warned_malformed:
        _warned_malformed.add(key)
        logger.warning("llmledger: %s returned usage it cannot read for model %s (%s); the call is "
                       "recorded without usage", key[0], key[1] or "?", exc)


_REJECTED_BEFORE_SENDING = (ValueError, TypeError)
"""What SDKs raise for a call they refuse to send (a missing argument, ``max_tokens`` too large for a
non-streamed request, a pydantic validation error). Their errors about a request that was sent are
their own API/transport error types, never these."""
_READ_ERRORS = (json.JSONDecodeError, UnicodeError)
"""ValueErrors that come from reading a response, i.e. after a request was sent."""


def _error_type(error: BaseException) -> str:
    return type(error).__qualname__


class Lifecycle:
    """Builds the wrapt wrappers for one adapter's targets, bound to telemetry, pricing and the
    attribution policy."""

    def __init__(self, telemetry: Telemetry, pricer: Pricer, *, trust_inbound_baggage: bool = False,
                 propagate_trace_context: bool = False) -> None:
        self.telemetry = telemetry
        self.pricer = pricer
        self.trust_inbound_baggage = trust_inbound_baggage
        self.propagate_trace_context = propagate_trace_context
        """Whether requests sent during a call carry its trace context (``propagation``)."""
        self.active = True
        """False after ``uninstrument()``: SDK objects that cached a bound wrapper pass through."""
        self.limits: LimitGuard | None = None
        """Per-customer limits (llmledger.limits); None unless rules are configured."""

    def _start(self, adapter: ProviderAdapter, target: PatchTarget, instance: Any,
               args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call | None:
        if not self.active or not is_instrumentation_enabled() or sdk_call_owned():
            return None  # sdk_call_owned: an integration (LiteLLM) records this call itself
        try:
            request = adapter.request_info(target, instance, args, kwargs)
            if request is None:
                return None
            call = Call(self, adapter, target, request, current_customer(self.trust_inbound_baggage))
        except Exception:
            logger.debug("llmledger: could not start %s", target.qualname, exc_info=True)
            return None
        if self.limits is not None:  # ---- limits (issue 14): may raise LimitExceeded, nothing sent
            self.limits.before_call(call)
        return call

    def _on_result(self, call: Call, result: Any) -> Any:
        """After a successful SDK call: record it, or hand back the observed stream. Never raises."""
        try:
            adapter, target, request = call.adapter, call.target, call.request
            place = adapter.stream_place(target, request, result)
            if place is None:
                call.finish(adapter.response_info(target, request, result))
                return result
            call.handler = adapter.stream_handler(target, request, result)
            if place.kind == "raw":
                return RawResponseProxy(result, call)
            return observe(result, place, call, _safe_step(adapter, target, request))
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
                with call:
                    result = await wrapped(*args, **(call.request.kwargs or kwargs))
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
                return trace_generator(generator, call, _safe_step(adapter, target, call.request))
            return gen_wrapper

        def sync_wrapper(wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...],
                         kwargs: dict[str, Any]) -> Any:
            call = start(adapter, target, instance, args, kwargs)
            if call is None:
                return wrapped(*args, **kwargs)
            with call:
                result = wrapped(*args, **(call.request.kwargs or kwargs))
            return on_result(call, result)
        return sync_wrapper


def _safe_handler(adapter: ProviderAdapter, target: PatchTarget,
                  request: RequestInfo) -> StreamHandler | None:
    try:
        return adapter.stream_handler(target, request)
    except Exception:
        logger.debug("llmledger: no stream handler for %s", target.qualname, exc_info=True)
        return None


def _safe_step(adapter: ProviderAdapter, target: PatchTarget, request: RequestInfo) -> Step | None:
    try:
        step: Step | None = adapter.stream_step(target, request)
        return step
    except Exception:
        logger.debug("llmledger: no stream step for %s", target.qualname, exc_info=True)
        return None
