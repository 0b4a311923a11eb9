"""UTC calendar months and days and the rolling minute, on an injected clock, through the guard's
read API and the spend it is handed (``on_record``), in-process."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from llmledger.config import load_config
from llmledger.errors import LimitExceeded
from llmledger.limits import build_limit_guard
from llmledger.limits.windows import Moment
from llmledger.plans import load_plans
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.now = moment.timestamp()

    def __call__(self) -> float:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.timestamp()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def record(customer: str, usd: str, tokens: int = 0, plan: str | None = None,
           feature: str | None = None) -> CallRecord:
    return CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                      start_time_ns=0, usage=Usage(input_tokens=tokens),
                      cost=Cost(status="priced", total=Decimal(usd)),
                      customer=CustomerContext(customer, plan=plan, feature=feature))


def guard_for(clock: Clock, rules: list[dict], plans: dict | None = None):
    config = load_config(None, env={}, limits=rules,
                         plans=load_plans(plans, None, "test") if plans else None)
    guard = build_limit_guard(config, clock=clock)
    assert guard is not None
    return guard


def by_cap(rows):
    return {row.cap: row for row in rows}


def test_moment_keys_and_resets():
    moment = Moment.at(utc(2026, 12, 31, 23, 59, 30).timestamp())
    assert (moment.month, moment.day) == ("2026-12", "2026-12-31")
    assert moment.resets_at("month") == utc(2027, 1, 1)
    assert moment.resets_at("day") == utc(2027, 1, 1)
    assert moment.resets_at("minute", utc(2026, 12, 31, 23, 59, 10).timestamp()) == utc(2027, 1, 1, 0, 0, 10)
    assert Moment.at(utc(2028, 2, 29, 12).timestamp()).resets_at("month") == utc(2028, 3, 1)


def test_month_and_day_roll_over_in_utc():
    clock = Clock(utc(2026, 1, 31, 23, 0))
    guard = guard_for(clock, [{"customer": "c1", "usd_per_month": 10, "usd_per_day": 3,
                               "tokens_per_day": 1000}])
    guard.on_record(record("c1", "2.5", 600))
    rows = by_cap(guard.usage("c1"))
    assert rows["usd_per_month"].used == Decimal("2.5") and rows["usd_per_month"].remaining == Decimal("7.5")
    assert rows["usd_per_day"].used == Decimal("2.5")
    assert rows["tokens_per_day"].used == 600 and rows["tokens_per_day"].remaining == 400
    assert rows["usd_per_day"].resets_at == utc(2026, 2, 1)
    guard.on_record(record("c1", "0.5", 400))
    with pytest.raises(LimitExceeded) as raised:
        guard.check("c1")
    error = raised.value
    assert (error.customer, error.rule, error.window) == ("c1", "customer=c1", "day")
    assert error.used == Decimal(3) and error.limit == Decimal(3) and error.resets_at == utc(2026, 2, 1)
    # one second past midnight UTC: a new day and a new month
    clock.set(utc(2026, 2, 1, 0, 0, 1))
    rows = by_cap(guard.check("c1"))
    assert rows["usd_per_month"].used == 0 and rows["usd_per_day"].used == 0
    assert rows["usd_per_month"].resets_at == utc(2026, 3, 1)
    guard.on_record(record("c1", "1"))
    clock.set(utc(2026, 2, 2, 12))  # the next day: the day resets, the month keeps counting
    rows = by_cap(guard.usage("c1"))
    assert rows["usd_per_month"].used == Decimal(1) and rows["usd_per_day"].used == 0


def test_rolling_minute_counts_reserved_calls():
    clock = Clock(utc(2026, 5, 5, 10, 0, 0))
    guard = guard_for(clock, [{"plan": "free", "calls_per_minute": 2}],
                      plans={"free": {"monthly_usd": 0}})
    scope = "c2"
    limits = guard.thresholds(guard.rules.by_plan["free"], scope, "free")
    for second in (0, 20):
        clock.set(utc(2026, 5, 5, 10, 0, second))
        guard.store.check(scope, Moment.at(clock()), limits)
    clock.set(utc(2026, 5, 5, 10, 0, 40))
    with pytest.raises(LimitExceeded) as raised:
        guard.check(scope, plan="free")
    assert raised.value.window == "minute" and raised.value.resets_at == utc(2026, 5, 5, 10, 1, 0)
    clock.set(utc(2026, 5, 5, 10, 1, 0))  # the first call is now a minute old
    assert by_cap(guard.check(scope, plan="free"))["calls_per_minute"].used == 1


def test_cost_share_of_revenue_uses_the_customers_revenue():
    clock = Clock(utc(2026, 3, 10))
    guard = guard_for(clock, [{"plan": "pro", "cost_share_of_revenue": 0.8, "action": "block"}],
                      plans={"pro": {"monthly_usd": 99}})
    guard.on_record(record("p1", "79", plan="pro"))
    row = guard.usage("p1", plan="pro")[0]
    assert row.cap == "cost_share_of_revenue" and row.limit == Decimal("79.2") and row.window == "month"
    guard.check("p1", plan="pro")
    guard.on_record(record("p1", "0.2", plan="pro"))
    with pytest.raises(LimitExceeded, match=r"cost_share_of_revenue|79\.2"):
        guard.check("p1", plan="pro")


def test_warn_rules_never_raise_from_check_and_feature_rules_count_their_feature():
    clock = Clock(utc(2026, 3, 10))
    guard = guard_for(clock, [{"customer": "w", "usd_per_day": 1, "action": "warn"},
                              {"feature": "summarize", "usd_per_day": 2}])
    guard.on_record(record("w", "5", feature="chat"))
    assert by_cap(guard.check("w"))["usd_per_day"].exceeded  # warn: reported, not raised
    guard.on_record(record("x", "1.5", feature="summarize"))
    guard.on_record(record("x", "9", feature="chat"))  # no rule for x outside summarize
    assert guard.usage("x") == []
    assert guard.usage("x", feature="summarize")[0].used == Decimal("1.5")
    guard.on_record(record("x", "0.5", feature="summarize"))
    with pytest.raises(LimitExceeded, match="feature=summarize"):
        guard.check("x", feature="summarize")


def test_no_rules_builds_no_guard():
    assert build_limit_guard(load_config(None, env={})) is None
