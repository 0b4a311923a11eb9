"""The per-customer metrics of issue 15: cache savings counter and overage in the revenue gauge.

gpt-4o list prices (genai-prices 0.2.3): $2.50 input, $1.25 cached input, $10 output per million.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from llmledger.month_to_date import MonthToDate, cache_savings
from llmledger.plans import load_plans
from llmledger.pricing import Pricer
from llmledger.telemetry import Telemetry
from llmledger.usage import CallRecord, CustomerContext, Usage

PLANS = load_plans({"metered": {"monthly_usd": 10, "included_tokens": 1_000_000, "overage_usd_per_mtok": 2},
                    "flat": {"monthly_usd": 50}},
                   {"meter-co": {"plan": "metered"}, "flat-co": {"plan": "flat"}}, "test.yaml")
PRICER = Pricer()


def _call(customer: str, feature: str, start_ns: int | None = None) -> CallRecord:
    # 1,000,000 input of which 400,000 cached, 100,000 output:
    # 600,000 * 2.5/M = 1.5 + 400,000 * 1.25/M = 0.5 + 100,000 * 10/M = 1.0 -> 3.00
    start = start_ns if start_ns is not None else time.time_ns()
    usage = Usage(input_tokens=1_000_000, output_tokens=100_000, cache_read_tokens=400_000)
    base = CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                      start_time_ns=start, end_time_ns=start + 10**9, usage=usage,
                      customer=CustomerContext(customer, None, feature))
    return CallRecord(**{**{name: getattr(base, name) for name in base.__dataclass_fields__},
                         "cost": PRICER.price("openai", "gpt-4o", usage)})


def _points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
            if m.name == name for p in m.data.data_points]


def test_cache_savings_of_one_call() -> None:
    call = _call("flat-co", "chat")
    assert call.cost.total == Decimal("3")
    # uncached: 1,000,000 * 2.5/M + 1.0 = 3.50; saved 3.50 - 3.00 = 0.50
    assert cache_savings(call, PRICER) == Decimal("0.5")
    assert cache_savings(call, None) is None


def test_counter_and_revenue_gauge_with_overage() -> None:
    reader = InMemoryMetricReader()
    telemetry = Telemetry(None, MeterProvider(metric_readers=[reader]), plans=PLANS, pricer=PRICER)
    for customer, feature in (("meter-co", "chat"), ("meter-co", "search"), ("flat-co", "chat")):
        record = _call(customer, feature)
        telemetry.record(record, telemetry.start_span(record))
    saved = {(p.attributes["customer.id"], p.attributes["app.feature"]): p.value
             for p in _points(reader, "llmledger.customer.cache_savings")}
    assert saved == {("meter-co", "chat"): 0.5, ("meter-co", "search"): 0.5, ("flat-co", "chat"): 0.5}
    revenue = {p.attributes["customer.id"]: p.value for p in _points(reader, "llmledger.customer.revenue")}
    # meter-co: 2 * 1,100,000 = 2,200,000 tokens this month, 1,200,000 past the allowance at $2/M = 2.40
    assert revenue == {"meter-co": 12.4, "flat-co": 50.0}



def test_month_to_date_starts_again_each_month() -> None:
    tracker = MonthToDate(PLANS)
    october = int(datetime(2026, 10, 31, 23, tzinfo=timezone.utc).timestamp()) * 10**9
    november = int(datetime(2026, 11, 1, 1, tzinfo=timezone.utc).timestamp()) * 10**9
    tracker.add("meter-co", None, _call("meter-co", "chat", october))
    tracker.add("meter-co", None, _call("meter-co", "chat", october))
    assert tracker.overage("meter-co", None, datetime(2026, 10, 31, 23, 30, tzinfo=timezone.utc)) == Decimal("2.40")
    tracker.add("meter-co", None, _call("meter-co", "chat", november))
    # November so far: 1,100,000 tokens, 100,000 over at $2/M = 0.20
    assert tracker.overage("meter-co", None, datetime(2026, 11, 2, tzinfo=timezone.utc)) == Decimal("0.20")
    assert tracker.overage("flat-co", None) == 0  # flat plans bill no overage and are not tracked
