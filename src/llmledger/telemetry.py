"""The one place that turns a CallRecord into span attributes and metric points.

Attribute and instrument names live here and nowhere else (see DESIGN.md, "Contract").
Everything on the per-call path is cheap: the span is finished on the caller's thread, the
metric points are recorded off the request path (``MetricQueue``), metric attribute sets are built
once per (customer, model, ...) combination and reused, and zero counts are not recorded.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Meter, MeterProvider, Observation
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
)

from llmledger.exact_sums import SERIES_LIMIT, ExactSums, _Delegate, _shared_observables
from llmledger.metric_queue import MetricQueue
from llmledger.month_to_date import MonthToDate, cache_savings
from llmledger.plans import PlanBook
from llmledger.usage import CallRecord, CustomerContext

if TYPE_CHECKING:
    from llmledger.pricing.engine import Pricer

logger = logging.getLogger("llmledger.telemetry")

SCOPE = "llmledger"
OTHER_CUSTOMER = "_other"
UNATTRIBUTED = "_unattributed"
"""customer.id on metrics for calls made outside any customer scope."""
_ATTR_CACHE_LIMIT = 50_000
_NO_EXEMPLAR = Context()
"""An empty context: a metric point recorded with it has no span, so the SDK keeps no exemplar."""

TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
                 67108864]
DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96,
                    81.92]
COST_BUCKETS = [0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 50]


class RecordSink(Protocol):
    """Receives every finished call (e.g. the local ledger). Must not block."""

    def on_record(self, record: CallRecord) -> None: ...


def _customer_span_attributes(customer: CustomerContext) -> dict[str, Any]:
    attrs: dict[str, Any] = {"customer.id": customer.id}
    if customer.plan is not None:
        attrs["customer.plan"] = customer.plan
    if customer.feature is not None:
        attrs["app.feature"] = customer.feature
    if customer.user is not None:
        attrs["user.id"] = customer.user
    attrs.update(customer.attrs)
    return attrs


class Telemetry:
    """Owns the tracer, the instruments and the sinks; one per instrumentation."""

    def __init__(
        self,
        tracer_provider: TracerProvider | None,
        meter_provider: MeterProvider | None,
        *,
        plans: PlanBook | None = None,
        customer_cap: int = 1000,
        series_limit: int = SERIES_LIMIT,
        customer_allow_list: frozenset[str] | None = None,
        sinks: Sequence[RecordSink] = (),
        version: str = "0",
        pricer: Pricer | None = None,
    ) -> None:
        self.tracer: Tracer = trace.get_tracer(SCOPE, version, tracer_provider=tracer_provider)
        from opentelemetry import metrics

        meter: Meter = metrics.get_meter(SCOPE, version, meter_provider=meter_provider)
        self._plans = plans or PlanBook()
        self._cap = customer_cap
        self._allow = customer_allow_list
        self._seen_customers: dict[str, str | None] = {}
        self._seen_lock = threading.Lock()
        self._metric_attrs: dict[tuple[Any, ...], Any] = {}
        self.sinks: list[RecordSink] = list(sinks)
        self._queue: MetricQueue[tuple[CallRecord, SpanContext | None]] = MetricQueue(self._record_queued)
        drain = self._queue.drain

        self._token_usage = meter.create_histogram(
            "gen_ai.client.token.usage", unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
        self._duration = meter.create_histogram(
            "gen_ai.client.operation.duration", unit="s", description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self._ttfc = meter.create_histogram(
            "gen_ai.client.operation.time_to_first_chunk", unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self._cost = meter.create_histogram(
            "gen_ai.usage.cost", unit="USD", description="Cost of a GenAI operation in USD.",
            explicit_bucket_boundaries_advisory=COST_BUCKETS)
        # Per-customer counters are summed here, exactly, and reported as cumulative observable
        # counters at collection time: one dict update per call instead of an SDK measurement each.
        self._customer_cost = ExactSums.on(meter, "llmledger.customer.cost", "USD",
                                        "LLM cost per customer in USD.", drain, series_limit)
        self._customer_tokens = ExactSums.on(meter, "llmledger.customer.tokens", "{token}",
                                          "Tokens per customer and type.", drain, series_limit)
        self._customer_calls = ExactSums.on(meter, "llmledger.customer.calls", "{call}", "LLM calls per customer.",
                                            drain, series_limit)
        self._unpriced = ExactSums.on(meter, "llmledger.unpriced.calls", "{call}",
                                      "Calls whose model has no known price.", drain, series_limit)
        self._no_usage = ExactSums.on(meter, "llmledger.no_usage.calls", "{call}",
                                      "Successful calls whose response reported no usage.", drain, series_limit)
        self._no_usage_logged: set[tuple[str, str | None]] = set()
        self._dropped = meter.create_counter(
            "llmledger.records.dropped", unit="{record}", description="Call records llmledger dropped.")
        shared = _shared_observables.setdefault(meter, {})
        revenue = shared.get("llmledger.customer.revenue")
        if isinstance(revenue, _Delegate):
            revenue.callback = self._observe_revenue
        else:
            revenue = shared["llmledger.customer.revenue"] = _Delegate(self._observe_revenue)
            meter.create_observable_gauge(
                "llmledger.customer.revenue", callbacks=[revenue], unit="USD",
                description="Monthly revenue of each customer, from the configured plans, plus this "
                            "month's overage past the plan's allowance.")
        # ---- overage and cache savings (ledger.month_to_date) ----
        self._pricer = pricer
        self._month_to_date = MonthToDate(self._plans)
        self._cache_savings = ExactSums.on(meter, "llmledger.customer.cache_savings", "USD",
                                           "What cached input would have cost uncached minus what it cost.",
                                           drain, series_limit)

    # ---- customers on metrics: bounded ---------------------------------------------------------
    def metric_customer_id(self, customer_id: str, plan: str | None) -> str:
        if self._allow is not None:
            if customer_id not in self._allow:
                return OTHER_CUSTOMER
            if plan is not None and self._seen_customers.get(customer_id) != plan:
                self._seen_customers[customer_id] = plan  # bounded by the allow-list; for revenue
            return customer_id
        if customer_id in self._seen_customers:
            return customer_id
        with self._seen_lock:
            if customer_id in self._seen_customers:
                return customer_id
            if len(self._seen_customers) >= self._cap:
                return OTHER_CUSTOMER
            self._seen_customers[customer_id] = plan
            return customer_id

    def _observe_revenue(self, options: CallbackOptions) -> Iterable[Observation]:
        self._queue.drain()  # customers first seen in queued calls have revenue too
        reported: set[str] = set()
        for account in self._plans:
            label = self.metric_customer_id(account.id, account.plan)
            if label != OTHER_CUSTOMER:
                reported.add(account.id)
                overage = self._month_to_date.overage(account.id, account.plan)
                yield Observation(float(account.monthly_usd + overage),
                                  {"customer.id": account.id, "customer.plan": account.plan})
        for customer_id, plan in list(self._seen_customers.items()):
            if customer_id in reported or plan is None:
                continue
            revenue = self._plans.revenue(customer_id, plan)
            if revenue is not None:
                revenue += self._month_to_date.overage(customer_id, plan)
                yield Observation(float(revenue), {"customer.id": customer_id, "customer.plan": plan})

    # ---- spans -----------------------------------------------------------------------------------
    def start_span(self, record: CallRecord) -> Span:
        model = record.request_model or ""
        attributes: dict[str, Any] = {
            "gen_ai.operation.name": record.operation,
            "gen_ai.provider.name": record.provider,
            "gen_ai.request.stream": record.stream,
        }
        if record.request_model:
            attributes["gen_ai.request.model"] = record.request_model
        if record.server_address:
            attributes["server.address"] = record.server_address
        if record.server_port:
            attributes["server.port"] = record.server_port
        return self.tracer.start_span(
            f"{record.operation} {model}".rstrip(), kind=SpanKind.CLIENT, attributes=attributes,
            start_time=record.start_time_ns)

    def record(self, record: CallRecord, span: Span | None) -> None:
        """Finish the span, queue the metric points and hand the call to the sinks. Never raises."""
        try:
            if span is not None:
                self._finish_span(record, span)
        except Exception:
            logger.debug("llmledger: could not finish span", exc_info=True)
        try:
            # The span's context, not the span: a queued call must not keep a whole span alive.
            self._queue.submit((record, None if span is None else span.get_span_context()))
        except Exception:
            logger.debug("llmledger: could not queue the metric points", exc_info=True)
        for sink in self.sinks:
            try:
                sink.on_record(record)
            except Exception:
                logger.debug("llmledger: sink %r failed", sink, exc_info=True)

    def flush(self) -> None:
        """Record the metric points of every call finished so far (collections do this too)."""
        self._queue.drain()

    def close(self) -> None:
        """Record what is queued and stop the metric worker; later calls record on their thread."""
        self._queue.close()

    def record_dropped(self, reason: str, count: int = 1) -> None:
        self._dropped.add(count, {"reason": reason})

    def _finish_span(self, record: CallRecord, span: Span) -> None:
        ctx = span.get_span_context()
        record.trace_id, record.span_id = ctx.trace_id, ctx.span_id
        attrs: dict[str, Any] = {}
        if record.response_model:
            attrs["gen_ai.response.model"] = record.response_model
        if record.response_id:
            attrs["gen_ai.response.id"] = record.response_id
        if record.finish_reasons:
            attrs["gen_ai.response.finish_reasons"] = list(record.finish_reasons)
        ttfc = record.time_to_first_chunk_s
        if ttfc is not None:
            attrs["gen_ai.response.time_to_first_chunk"] = ttfc
        usage = record.usage
        if usage is not None:
            attrs["gen_ai.usage.input_tokens"] = usage.input_tokens
            attrs["gen_ai.usage.output_tokens"] = usage.output_tokens
            if usage.cache_read_tokens:
                attrs["gen_ai.usage.cache_read.input_tokens"] = usage.cache_read_tokens
            if usage.cache_write_tokens:
                attrs["gen_ai.usage.cache_creation.input_tokens"] = usage.cache_write_tokens
            if usage.reasoning_tokens:
                attrs["gen_ai.usage.reasoning.output_tokens"] = usage.reasoning_tokens
        if record.modifiers.service_tier:
            attrs["llmledger.service_tier"] = record.modifiers.service_tier
        cost = record.cost
        attrs["llmledger.cost.status"] = cost.status
        if cost.total is not None:
            attrs["gen_ai.usage.cost"] = float(cost.total)
            if cost.input is not None:
                attrs["llmledger.cost.input"] = float(cost.input)
            if cost.output is not None:
                attrs["llmledger.cost.output"] = float(cost.output)
        if cost.source:
            attrs["llmledger.cost.source"] = cost.source
        if record.computed_cost is not None:  # the provider billed the call: our figure beside it
            attrs["llmledger.cost.computed"] = float(record.computed_cost)
        if cost.matched_model:
            attrs["llmledger.cost.model"] = cost.matched_model
        if record.customer is not None:
            attrs.update(_customer_span_attributes(record.customer))
        if record.error_type:
            attrs["error.type"] = record.error_type
            span.set_status(Status(StatusCode.ERROR))
        span.set_attributes(attrs)
        span.end(end_time=record.end_time_ns)

    # ---- metrics ---------------------------------------------------------------------------------
    def _cached(self, key: tuple[Any, ...], build: Any) -> Any:
        attrs = self._metric_attrs.get(key)
        if attrs is None:
            if len(self._metric_attrs) >= _ATTR_CACHE_LIMIT:
                self._metric_attrs.clear()
            attrs = self._metric_attrs[key] = build()
        return attrs

    def _semconv_attrs(self, record: CallRecord) -> dict[str, Any]:
        # server.address/server.port (Recommended in the conventions) stay on the span only: every
        # metric attribute is validated and hashed by the SDK on each of the 4-5 points of a call.
        attrs: dict[str, Any] = {
            "gen_ai.operation.name": record.operation,
            "gen_ai.provider.name": record.provider,
        }
        if record.request_model:
            attrs["gen_ai.request.model"] = record.request_model
        if record.response_model:
            attrs["gen_ai.response.model"] = record.response_model
        if record.error_type:
            attrs["error.type"] = record.error_type
        return attrs

    def _record_queued(self, item: tuple[CallRecord, SpanContext | None]) -> None:
        record, span_context = item
        context = None if span_context is None else trace.set_span_in_context(NonRecordingSpan(span_context))
        self._record_metrics(record, context)

    def _record_metrics(self, record: CallRecord, context: Context | None = None) -> None:
        """The call's metric points; ``context`` (the call's span) lets the SDK link exemplars."""
        key = (record.operation, record.provider, record.request_model, record.response_model,
               record.error_type)
        base = self._cached(("semconv", *key), lambda: self._semconv_attrs(record))
        self._duration.record(record.duration_s, base, context)
        ttfc = record.time_to_first_chunk_s
        if ttfc is not None:
            self._ttfc.record(ttfc, base, context)
        usage = record.usage
        if usage is not None:
            # exemplars on the duration and cost points only (the ones worth a jump to the trace);
            # an exemplar costs the SDK a filter check, an attribute filter and a reservoir write
            self._token_usage.record(usage.input_tokens, self._cached(
                ("tok", "input", *key), lambda: {**base, "gen_ai.token.type": "input"}), _NO_EXEMPLAR)
            self._token_usage.record(usage.output_tokens, self._cached(
                ("tok", "output", *key), lambda: {**base, "gen_ai.token.type": "output"}), _NO_EXEMPLAR)
        cost = record.cost
        if cost.total is not None:
            self._cost.record(float(cost.total), base, context)
        elif cost.status == "unpriced":
            self._unpriced.add((record.provider, record.request_model), 1, lambda: {
                "gen_ai.provider.name": record.provider,
                "gen_ai.request.model": record.request_model or "",
            })
        elif cost.status == "no_usage" and record.error_type is None:
            self._count_no_usage(record)
        self._record_customer_metrics(record)

    def _count_no_usage(self, record: CallRecord) -> None:
        """A call that succeeded without usage has no cost: counted, and logged once per provider and
        model (a failed call has none by nature and is counted as an error instead)."""
        key = (record.provider, record.request_model)
        self._no_usage.add(key, 1, lambda: {
            "gen_ai.provider.name": record.provider,
            "gen_ai.request.model": record.request_model or "",
        })
        if key not in self._no_usage_logged and len(self._no_usage_logged) < _ATTR_CACHE_LIMIT:
            self._no_usage_logged.add(key)
            logger.warning(
                "llmledger: %s returned no usage for model %s (%s call to %s); such calls are recorded "
                "as no_usage, with no cost, and counted in llmledger.no_usage.calls", record.provider,
                record.request_model or "?", "a streamed" if record.stream else "a",
                record.server_address or "?")

    def _record_customer_metrics(self, record: CallRecord) -> None:
        customer = record.customer
        if customer is None:
            customer_id, plan, feature = UNATTRIBUTED, None, None
        else:
            plan = customer.plan or self._plans.plan_of(customer.id)
            customer_id = self.metric_customer_id(customer.id, plan)
            feature = customer.feature
        plan_label = plan or ""
        self._customer_calls.add((customer_id, plan_label, record.provider, record.error_type), 1, lambda: {
            "customer.id": customer_id, "customer.plan": plan_label,
            "gen_ai.provider.name": record.provider,
            **({"error.type": record.error_type} if record.error_type else {}),
        })
        cost = record.cost
        if cost.total is not None:
            self._customer_cost.add(
                (customer_id, plan_label, feature, record.provider, record.request_model), cost.total, lambda: {
                    "customer.id": customer_id, "customer.plan": plan_label, "app.feature": feature or "",
                    "gen_ai.provider.name": record.provider,
                    "gen_ai.request.model": record.request_model or "",
                })
        if customer is not None:
            self._month_to_date.add(customer.id, plan, record)
        saved = cache_savings(record, self._pricer)
        if saved:
            self._cache_savings.add((customer_id, plan_label, feature), saved, lambda: {
                "customer.id": customer_id, "customer.plan": plan_label, "app.feature": feature or ""})
        usage = record.usage
        if usage is None:
            return
        for token_type, count in (
            ("input", usage.input_tokens), ("output", usage.output_tokens),
            ("cache_read", usage.cache_read_tokens), ("cache_creation", usage.cache_write_tokens),
            ("reasoning", usage.reasoning_tokens),
        ):
            if count:
                self._customer_tokens.add(
                    (customer_id, plan_label, token_type), count,
                    lambda token_type=token_type: {  # type: ignore[misc]
                        "customer.id": customer_id, "customer.plan": plan_label, "gen_ai.token.type": token_type})
