"""Telemetry: bounded customer labels, revenue gauge, attribute contract on a synthetic record."""

from __future__ import annotations

from decimal import Decimal

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.plans import load_plans
from llmledger.telemetry import Telemetry
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage


def make(cap=1000, allow=None, plans=None):
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    telemetry = Telemetry(tracer_provider, MeterProvider(metric_readers=[reader]), plans=plans,
                          customer_cap=cap, customer_allow_list=allow)
    return telemetry, exporter, reader


def points(reader, name):
    data = reader.get_metrics_data()
    return [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
            if m.name == name for p in m.data.data_points]


def record(customer_id, cost="0.01"):
    return CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                      start_time_ns=1_000_000_000, end_time_ns=1_500_000_000,
                      usage=Usage(input_tokens=100, output_tokens=10, cache_read_tokens=40),
                      cost=Cost("priced", Decimal(cost), Decimal(cost), Decimal(0), "test"),
                      customer=CustomerContext(customer_id, "pro"))


def emit(telemetry, rec):
    span = telemetry.start_span(rec)
    telemetry.record(rec, span)


def test_customer_cap_folds_overflow_into_other_but_spans_keep_real_id():
    telemetry, exporter, reader = make(cap=3)
    for i in range(5):
        emit(telemetry, record(f"c{i}"))
    labels = sorted(p.attributes["customer.id"] for p in points(reader, "llmledger.customer.calls"))
    assert labels == ["_other", "c0", "c1", "c2"]
    other = [p for p in points(reader, "llmledger.customer.calls") if p.attributes["customer.id"] == "_other"]
    assert other[0].value == 2
    assert sorted(s.attributes["customer.id"] for s in exporter.get_finished_spans()) == [
        "c0", "c1", "c2", "c3", "c4"]
    cost_other = [p for p in points(reader, "llmledger.customer.cost") if p.attributes["customer.id"] == "_other"]
    assert abs(cost_other[0].value - 0.02) < 1e-12


def test_allow_list():
    telemetry, _, reader = make(allow=frozenset({"vip"}))
    emit(telemetry, record("vip"))
    emit(telemetry, record("nobody"))
    assert sorted(p.attributes["customer.id"] for p in points(reader, "llmledger.customer.calls")) == [
        "_other", "vip"]


def test_revenue_of_allow_listed_customer_from_its_plan():
    plans = load_plans({"pro": {"monthly_usd": 99}}, {}, "test.yaml")
    telemetry, _, reader = make(allow=frozenset({"vip"}), plans=plans)
    emit(telemetry, record("vip"))
    emit(telemetry, record("nobody"))
    revenue = {p.attributes["customer.id"]: p.value for p in points(reader, "llmledger.customer.revenue")}
    assert revenue == {"vip": 99.0}


def test_tokens_by_type_and_no_customer_labels_on_semconv_metrics():
    telemetry, _, reader = make()
    emit(telemetry, record("c1"))
    by_type = {p.attributes["gen_ai.token.type"]: p.value for p in points(reader, "llmledger.customer.tokens")}
    assert by_type == {"input": 100, "output": 10, "cache_read": 40}
    for name in ("gen_ai.client.token.usage", "gen_ai.client.operation.duration", "gen_ai.usage.cost"):
        for point in points(reader, name):
            assert "customer.id" not in point.attributes


def test_revenue_gauge_from_plans():
    plans = load_plans({"starter": {"monthly_usd": 19}, "pro": {"monthly_usd": 99}},
                       {"c1": {"plan": "starter"}}, "test.yaml")
    telemetry, _, reader = make(plans=plans)
    emit(telemetry, record("c2"))  # plan "pro" given on the call
    revenue = {p.attributes["customer.id"]: (p.attributes["customer.plan"], p.value)
               for p in points(reader, "llmledger.customer.revenue")}
    assert revenue == {"c1": ("starter", 19.0), "c2": ("pro", 99.0)}


def test_span_attributes_of_a_record():
    telemetry, exporter, _ = make()
    emit(telemetry, record("c1"))
    (span,) = exporter.get_finished_spans()
    assert span.name == "chat gpt-4o"
    assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == 40
    assert span.start_time == 1_000_000_000 and span.end_time == 1_500_000_000
    assert span.attributes["llmledger.cost.source"] == "test"


def test_a_collection_records_queued_calls_first_even_if_the_worker_never_ran():
    telemetry, _, reader = make()
    telemetry._queue._start_worker = lambda: None  # the worker would race the read: keep it out
    for i in range(3):
        emit(telemetry, record(f"c{i}"))
    assert telemetry._queue.pending() == 3
    durations = points(reader, "gen_ai.client.operation.duration")
    assert [p.count for p in durations] == [3]
    assert sum(p.value for p in points(reader, "llmledger.customer.calls")) == 3
    assert telemetry._queue.pending() == 0


def test_metric_points_carry_exemplars_of_the_call_span():
    telemetry, exporter, reader = make()
    emit(telemetry, record("c1"))
    telemetry.flush()
    span = exporter.get_finished_spans()[0]
    (cost_point,) = points(reader, "gen_ai.usage.cost")
    assert [e.span_id for e in cost_point.exemplars] == [span.context.span_id]
    assert cost_point.exemplars[0].trace_id == span.context.trace_id


def test_after_close_calls_are_recorded_on_the_callers_thread():
    telemetry, _, reader = make()
    telemetry.close()
    emit(telemetry, record("c1"))
    assert telemetry._queue.pending() == 0
    assert sum(p.value for p in points(reader, "llmledger.customer.calls")) == 1


def test_no_usage_calls_counted_and_logged_once_per_provider_and_model(caplog):
    import logging

    telemetry, exporter, reader = make()

    def no_usage(model, error=None):
        return CallRecord(provider="deepseek", operation="chat", request_model=model, stream=True,
                          start_time_ns=1_000_000_000, end_time_ns=1_500_000_000, error_type=error,
                          server_address="api.deepseek.com")

    with caplog.at_level(logging.WARNING, logger="llmledger.telemetry"):
        for rec in (no_usage("deepseek-chat"), no_usage("deepseek-chat"), no_usage("deepseek-reasoner"),
                    no_usage("deepseek-chat", error="RateLimitError")):  # a failed call: an error, not no_usage
            emit(telemetry, rec)
        telemetry.flush()
    counts = {p.attributes["gen_ai.request.model"]: p.value for p in points(reader, "llmledger.no_usage.calls")}
    assert counts == {"deepseek-chat": 2, "deepseek-reasoner": 1}
    assert {p.attributes["gen_ai.provider.name"] for p in points(reader, "llmledger.no_usage.calls")} == {"deepseek"}
    logged = [r.getMessage() for r in caplog.records if "returned no usage" in r.getMessage()]
    assert len(logged) == 2 and "deepseek-chat" in logged[0] and "api.deepseek.com" in logged[0]
    assert all(s.attributes["llmledger.cost.status"] == "no_usage" for s in exporter.get_finished_spans())


def test_provider_billed_call_keeps_the_computed_figure():
    telemetry, exporter, _reader = make()
    rec = record("c1", cost="0.0391")
    rec.cost = Cost("priced", Decimal("0.0391"), source="provider")
    rec.computed_cost = Decimal("0.038")
    emit(telemetry, rec)
    attrs = exporter.get_finished_spans()[0].attributes
    assert attrs["llmledger.cost.source"] == "provider"
    assert attrs["gen_ai.usage.cost"] == 0.0391 and attrs["llmledger.cost.computed"] == 0.038
