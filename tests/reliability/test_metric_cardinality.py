"""Per-customer series stay within the SDK's cardinality limit at the default customer cap
(issue 18, item 4): nothing folds into the SDK's unlabelled ``otel.metric.overflow`` point, and
every token, call and dollar is still counted (past the bound, under ``customer.id="_other"``)."""

from __future__ import annotations

import time
from collections import defaultdict
from decimal import Decimal

from harness import Harness, instrumented
from llmledger.config import Config
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

CUSTOMERS = 1000  # the default metric_customer_cap
PLANS = ("free", "pro", "team")
FEATURES = ("chat", "summarize")
MODELS = ("gpt-4o", "gpt-4o-mini")
INSTRUMENTS = ("llmledger.customer.cost", "llmledger.customer.tokens", "llmledger.customer.calls")


def _feed(harness: Harness, customers: int) -> int:
    telemetry = harness.instrumentor.telemetry
    assert telemetry is not None
    now = time.time_ns()
    calls = 0
    for index in range(customers):
        customer = f"cust-{index:04d}"
        plan = PLANS[index % len(PLANS)]
        for feature in FEATURES:
            for model in MODELS:
                record = CallRecord(
                    provider="openai", operation="chat", request_model=model, stream=False,
                    start_time_ns=now, end_time_ns=now + 1000,
                    usage=Usage(input_tokens=100, output_tokens=10, cache_read_tokens=20),
                    cost=Cost(status="priced", total=Decimal("0.001")),
                    customer=CustomerContext(customer, plan, feature),
                    error_type="RateLimitError" if index % 10 == 0 and feature == "chat" else None)
                telemetry.record(record, None)
                calls += 1
    telemetry.flush()
    return calls


def _overflowed(harness: Harness, name: str) -> list[dict[str, object]]:
    return [dict(p.attributes) for p in harness.points(name) if "otel.metric.overflow" in dict(p.attributes)]


def test_default_cap_with_plans_features_models_never_reaches_sdk_overflow() -> None:
    with instrumented(Config()) as harness:
        calls = _feed(harness, CUSTOMERS)
        for name in INSTRUMENTS:
            points = harness.points(name)
            assert len(points) <= 2000, (name, len(points))
            assert _overflowed(harness, name) == [], name
        assert harness.sum_of("llmledger.customer.calls") == calls
        assert harness.sum_of("llmledger.customer.tokens", gen_ai__token__type="input") == 100 * calls
        assert abs(harness.sum_of("llmledger.customer.cost") - 0.001 * calls) < 1e-9
        by_customer: dict[object, float] = defaultdict(float)
        for point in harness.points("llmledger.customer.cost"):
            by_customer[dict(point.attributes)["customer.id"]] += point.value
        assert "_other" in by_customer  # 1,000 x 2 features x 2 models is past the bound
        assert len(by_customer) > 400  # most customers keep their own series


def test_below_the_bound_nothing_folds() -> None:
    with instrumented(Config()) as harness:
        _feed(harness, 100)
        for name in INSTRUMENTS:
            customers = {dict(p.attributes)["customer.id"] for p in harness.points(name)}
            assert "_other" not in customers
            assert len(customers) == 100


def test_a_configured_series_limit_is_kept() -> None:
    with instrumented(Config(metric_series_limit=300)) as harness:
        calls = _feed(harness, 200)
        for name in INSTRUMENTS:
            assert len(harness.points(name)) <= 300
        assert harness.sum_of("llmledger.customer.calls") == calls
