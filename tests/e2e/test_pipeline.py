"""llmledger -> collector gateway -> Prometheus + Jaeger, with the shipped configs and rules:
what the spans say each customer cost is what Prometheus, the recording rules and Jaeger show."""

from __future__ import annotations

import json
import math
import time
import urllib.parse
from collections import Counter, defaultdict
from typing import Any

import pytest
from e2e_backends import Stack, Workload, http_get
from e2e_scenario import (
    CONTENT_ATTRIBUTES,
    CONTENT_CUSTOMER,
    METRIC_CUSTOMER_CAP,
    METRIC_CUSTOMERS,
    OTHER,
    REVENUE,
    SERVICE,
    UNPRICED_MODEL,
    UNPROFITABLE,
    metric_customer,
)

pytestmark = pytest.mark.e2e

JOB = f'job="{SERVICE}"'


def llmledger_spans(workload: Workload) -> list[dict[str, Any]]:
    return [s for s in workload.spans if "llmledger.cost.status" in s["attributes"]]


def span_cost_by_metric_customer(workload: Workload) -> dict[str, float]:
    costs: dict[str, float] = defaultdict(float)
    for span in llmledger_spans(workload):
        attrs = span["attributes"]
        if "gen_ai.usage.cost" in attrs:
            costs[metric_customer(attrs["customer.id"])] += attrs["gen_ai.usage.cost"]
    return dict(costs)


def by_label(result: list[dict[str, Any]], label: str) -> dict[str, float]:
    return {r["metric"].get(label, ""): float(r["value"][1]) for r in result}


def jaeger_traces(stack: Stack, **tags: str) -> list[dict[str, Any]]:
    params = {"service": SERVICE, "tags": json.dumps(tags), "limit": "200", "lookback": "1h"}
    body = json.loads(http_get(f"{stack.jaeger.query_url}/api/traces?{urllib.parse.urlencode(params)}"))
    return list(body["data"] or [])


def test_customer_cost_in_prometheus_equals_the_sum_of_span_costs(stack: Stack, workload: Workload) -> None:
    expected = span_cost_by_metric_customer(workload)
    got = by_label(stack.prometheus.query(
        f"sum by (customer_id) (llmledger_customer_cost_USD_total{{{JOB}}})"), "customer_id")
    assert set(got) == set(expected) == {*METRIC_CUSTOMERS, OTHER}
    for customer, cost in expected.items():
        assert math.isclose(got[customer], cost, rel_tol=1e-9), customer
    # The cap held: the spans name more customers than the metrics do.
    span_customers = {s["attributes"]["customer.id"] for s in llmledger_spans(workload)}
    assert len(span_customers) > METRIC_CUSTOMER_CAP == len(set(got) - {OTHER})


def test_calls_errors_and_unpriced_calls_are_counted(stack: Stack, workload: Workload) -> None:
    spans = llmledger_spans(workload)
    expected_calls = Counter((metric_customer(s["attributes"]["customer.id"]), s["attributes"].get("error.type", ""))
                             for s in spans)
    result = stack.prometheus.query(f"sum by (customer_id, error_type) (llmledger_customer_calls_total{{{JOB}}})")
    got = {(r["metric"]["customer_id"], r["metric"].get("error_type", "")): float(r["value"][1]) for r in result}
    assert got == {key: float(n) for key, n in expected_calls.items()}
    assert any(error for _, error in got), "the workload's failed call must show up with its error.type"

    unpriced = sum(1 for s in spans if s["attributes"]["llmledger.cost.status"] == "unpriced")
    assert unpriced >= 2
    assert by_label(stack.prometheus.query(
        f"sum by (gen_ai_request_model) (llmledger_unpriced_calls_total{{{JOB}}})"),
        "gen_ai_request_model") == {UNPRICED_MODEL: unpriced}
    no_usage = Counter(s["attributes"]["gen_ai.request.model"] for s in spans
                       if s["attributes"]["llmledger.cost.status"] == "no_usage"
                       and "error.type" not in s["attributes"])
    assert no_usage
    assert by_label(stack.prometheus.query(
        f"sum by (gen_ai_request_model) (llmledger_no_usage_calls_total{{{JOB}}})"),
        "gen_ai_request_model") == {model: float(n) for model, n in no_usage.items()}


def test_semconv_cost_histogram_agrees_with_the_per_customer_counter(stack: Stack, workload: Workload) -> None:
    total = sum(span_cost_by_metric_customer(workload).values())
    result = stack.prometheus.query(f"sum(gen_ai_usage_cost_USD_sum{{{JOB}}})")
    assert math.isclose(float(result[0]["value"][1]), total, rel_tol=1e-9)


def test_plan_revenue_is_exported_per_customer(stack: Stack, workload: Workload) -> None:
    got = by_label(stack.prometheus.query(f"llmledger_customer_revenue_USD{{{JOB}}}"), "customer_id")
    assert got == REVENUE


def test_month_to_date_recording_rules_equal_the_span_costs(stack: Stack, workload: Workload) -> None:
    """The billing-month rules (evaluated every minute) end up at exactly the counters' total:
    the first call of every new series is counted, which increase() would miss."""
    expected = span_cost_by_metric_customer(workload)

    def settled(result: list[dict[str, Any]]) -> bool:
        got = by_label(result, "customer_id")
        return set(got) == set(expected) and all(math.isclose(got[c], v, rel_tol=1e-9) for c, v in expected.items())

    stack.prometheus.wait_for("llmledger:customer_cost_usd:month_to_date", settled, timeout=150)
    margin = by_label(stack.prometheus.query("llmledger:customer_margin_usd:month_to_date"), "customer_id")
    for customer, revenue in REVENUE.items():
        assert math.isclose(margin[customer], revenue - expected[customer], rel_tol=1e-9), customer
    assert math.isclose(margin[OTHER], -expected[OTHER], rel_tol=1e-9)
    assert margin[UNPROFITABLE] < 0 < margin["cust-pro"]


def _alerts(stack: Stack, alertname: str) -> list[dict[str, Any]]:
    return stack.prometheus.query(f'ALERTS{{alertname="{alertname}"}}')


def test_alerts_evaluate_on_real_data(stack: Stack, workload: Workload) -> None:
    # Cost above revenue: pending (it fires after its `for: 5m`), for that customer only.
    unprofitable = stack.prometheus.wait_for(
        'ALERTS{alertname="LLMLedgerCustomerUnprofitable"}', bool, timeout=150)
    assert {(a["metric"]["customer_id"], a["metric"]["alertstate"]) for a in unprofitable} == {
        (UNPROFITABLE, "pending")}
    # Unpriced calls in both phases: firing at once, for that model only.
    unpriced = stack.prometheus.wait_for('ALERTS{alertname="LLMLedgerUnpricedModelCalls"}', bool, timeout=30)
    assert {(a["metric"]["gen_ai_request_model"], a["metric"]["alertstate"]) for a in unpriced} == {
        (UNPRICED_MODEL, "firing")}
    # One call in eight fails at the OpenAI fake: above 5%, and enough calls once the counters
    # have grown over two phases (increase() skips a series' first sample): pending for openai.
    errors = stack.prometheus.wait_for('ALERTS{alertname="LLMLedgerHighErrorRate"}', bool, timeout=30)
    assert {(a["metric"]["gen_ai_provider_name"], a["metric"]["alertstate"]) for a in errors} == {
        ("openai", "pending")}
    # Quiet ones: no customer spent over 1 USD in the hour, nothing was refused or dropped.
    for quiet in ("LLMLedgerCustomerSpendSpike", "LLMLedgerCollectorRefusingData", "LLMLedgerRecordsDropped"):
        assert not _alerts(stack, quiet), quiet


def test_data_loss_alert_fires_when_the_gateway_cannot_export(stack: Stack) -> None:
    """The broken gateway's trace backend does not exist (and it does not retry): the spans are
    dropped, otelcol_exporter_send_failed_spans grows and LLMLedgerCollectorExportFailing fires."""
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": "e2e-data-loss"}))
    provider.add_span_processor(SimpleSpanProcessor(
        OTLPSpanExporter(endpoint=f"http://{stack.broken_collector.otlp_grpc}", insecure=True)))
    tracer = provider.get_tracer("e2e")
    instance = f'instance="{stack.broken_collector.telemetry_endpoint}"'
    failed = f'sum({{__name__=~"otelcol_exporter_send_failed_spans(_total)?",{instance}}})'
    for batch in range(2):  # two rounds: the counter is born with the first, increase() sees the second
        for i in range(5):
            with tracer.start_as_current_span(f"lost span {batch}.{i}"):
                pass
        want = 5 * (batch + 1)

        def counted(result: list[dict[str, Any]], want: int = want) -> bool:
            return bool(result) and float(result[0]["value"][1]) >= want

        stack.prometheus.wait_for(failed, counted, timeout=60)
        time.sleep(2)
    provider.shutdown()
    alerts = stack.prometheus.wait_for(
        f'ALERTS{{alertname="LLMLedgerCollectorExportFailing",alertstate="firing",{instance}}}', bool, timeout=60)
    assert {a["metric"]["exporter"] for a in alerts} == {"otlp_grpc/traces"}
    # The healthy gateway is not accused.
    healthy = f'instance="{stack.collector.telemetry_endpoint}"'
    assert not stack.prometheus.query(f'ALERTS{{alertname="LLMLedgerCollectorExportFailing",{healthy}}}')


def test_jaeger_finds_each_customers_traces_by_tag(stack: Stack, workload: Workload) -> None:
    expected: dict[str, set[str]] = defaultdict(set)
    for span in llmledger_spans(workload):
        expected[span["attributes"]["customer.id"]].add(span["trace_id"])
    deadline = time.monotonic() + 30
    for customer, trace_ids in expected.items():
        while True:
            found = {t["traceID"] for t in jaeger_traces(stack, **{"customer.id": customer})}
            if found == trace_ids or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert found == trace_ids, customer
    # the tagged spans carry the cost the metrics summed
    trace = jaeger_traces(stack, **{"customer.id": UNPROFITABLE})[0]
    tags = {t["key"]: t["value"] for t in trace["spans"][0]["tags"]}
    assert tags["customer.plan"] == "starter" and tags["llmledger.cost.status"] == "priced"
    assert tags["gen_ai.usage.cost"] > 0


def test_gateway_strips_message_content(stack: Stack, workload: Workload) -> None:
    content_spans = [s for s in workload.spans if s["attributes"].get("customer.id") == CONTENT_CUSTOMER]
    assert content_spans and all(a in content_spans[0]["attributes"] for a in CONTENT_ATTRIBUTES)
    traces = jaeger_traces(stack, **{"customer.id": CONTENT_CUSTOMER})
    assert len(traces) == 1
    span = traces[0]["spans"][0]
    keys = {t["key"] for t in span["tags"]}
    assert not any(k.startswith(("gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
                                 "gen_ai.prompt", "gen_ai.completion")) for k in keys), keys
    assert {"gen_ai.request.model", "gen_ai.operation.name", "customer.id"} <= keys  # the rest stays
    event_keys = {f["key"] for log in span.get("logs", []) for f in log["fields"]}
    assert span.get("logs") and "gen_ai.prompt" not in event_keys


def test_span_metrics_count_every_llm_span(stack: Stack, workload: Workload) -> None:
    expected = Counter("STATUS_CODE_ERROR" if s["attributes"].get("error.type") else "STATUS_CODE_UNSET"
                       for s in workload.spans if "gen_ai.operation.name" in s["attributes"])

    def complete(result: list[dict[str, Any]]) -> bool:
        return by_label(result, "status_code") == {k: float(v) for k, v in expected.items()}

    stack.prometheus.wait_for(f"sum by (status_code) (llmledger_span_calls_total{{{JOB}}})", complete, timeout=30)
    count = stack.prometheus.query(f"sum(llmledger_span_duration_seconds_count{{{JOB}}})")
    assert float(count[0]["value"][1]) == sum(expected.values())
