"""The demo's simulated month: who calls what, how often, and the classic unprofitable customer."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from llmledger.demo.clock import SimulatedClockSink, shifted, simulated_time
from llmledger.demo.scenario import (
    CACHED_PREFIX,
    CUSTOMERS,
    PLANS,
    POWER_USER,
    RATE_LIMITED_EVERY,
    month_days,
    plan_month,
    plans_config,
    previous_month,
)
from llmledger.pricing import Pricer
from llmledger.usage import CallRecord, Usage

OCTOBER = date(2026, 10, 1)


def test_twenty_customers_on_three_plans() -> None:
    assert len(CUSTOMERS) == 20 and len({c.id for c in CUSTOMERS}) == 20
    assert {c.plan for c in CUSTOMERS} == set(PLANS) == {"starter", "pro", "business"}
    customers = plans_config()["customers"]
    assert isinstance(customers, dict)
    assert customers["globex"] == {"plan": "business", "monthly_usd": 350}


def test_the_power_user_loses_money_at_list_prices() -> None:
    month = plan_month(OCTOBER)
    summaries = [call for day in month for call in day
                 if call.customer == POWER_USER and call.workload.feature == "summarize"]
    per_day = Counter(call.at.date() for call in summaries)
    assert set(per_day.values()) == {4} and len(per_day) == 31  # four a day, every day
    assert {(c.workload.model, c.input_tokens, c.output_tokens) for c in summaries} == {
        ("claude-sonnet-4-6", 50_000, 1_000)}
    pricer = Pricer()
    cost = pricer.price("anthropic", "claude-sonnet-4-6", Usage(50_000, 1_000)).total
    # 50,000 * $3/M + 1,000 * $15/M = 0.15 + 0.015 = 0.165 a summary
    assert cost == Decimal("0.165")
    assert cost * len(summaries) == Decimal("20.46") > PLANS["starter"]["monthly_usd"]
    # The same summaries on GPT-4o: 50,000 * $2.50/M + 1,000 * $10/M = 0.135, 16.74 a month: profitable
    gpt4o = pricer.price("openai", "gpt-4o", Usage(50_000, 1_000)).total
    assert gpt4o == Decimal("0.135") and gpt4o * len(summaries) < 19


def test_a_realistic_mix_of_calls() -> None:
    calls = [call for day in plan_month(OCTOBER) for call in day]
    kinds = Counter(call.workload.kind for call in calls)
    assert set(kinds) == {"chat", "summary", "cached_qa", "embedding", "reasoning"}
    assert 1_500 < len(calls) < 4_000  # a month of work in well under a minute
    assert any(call.stream for call in calls) and not all(call.stream for call in calls if
                                                          call.workload.kind == "chat")
    reasoning = [call for call in calls if call.workload.kind == "reasoning"]
    assert all(0 < call.reasoning_tokens < call.output_tokens for call in reasoning)
    chats = [call for call in calls if call.workload.kind == "chat"]
    assert sum(call.fail_status == 429 for call in chats) == len(chats) // RATE_LIMITED_EVERY
    assert any(call.cached_tokens for call in chats)
    assert all(day == sorted(day, key=lambda call: call.at) for day in plan_month(OCTOBER))


def test_the_prompt_cache_is_written_once_a_day_then_read() -> None:
    for day in plan_month(OCTOBER):
        seen: set[str] = set()
        for call in day:
            if call.workload.kind != "cached_qa":
                continue
            if call.customer in seen:
                assert (call.cached_tokens, call.cache_write_tokens) == (CACHED_PREFIX, 0)
            else:
                assert call.cache_write_tokens == call.cache_write_1h_tokens == CACHED_PREFIX
                seen.add(call.customer)


def test_same_seed_same_month() -> None:
    assert plan_month(OCTOBER, seed=3) == plan_month(OCTOBER, seed=3)
    assert plan_month(OCTOBER, seed=3) != plan_month(OCTOBER, seed=4)


def test_headers_script_the_fake_provider() -> None:
    call = next(call for day in plan_month(OCTOBER) for call in day if call.cache_write_tokens)
    headers = call.headers()
    assert headers["x-fake-input-tokens"] == str(call.input_tokens)
    assert headers["x-fake-cache-write-1h-tokens"] == str(CACHED_PREFIX)
    assert "x-fake-status" not in headers


@pytest.mark.parametrize(("today", "first"), [
    (date(2026, 11, 28), date(2026, 10, 1)), (date(2026, 1, 1), date(2025, 12, 1)),
    (date(2026, 3, 31), date(2026, 1, 1)),  # February: too short for the classic case
])
def test_the_default_month_is_the_last_complete_long_one(today: date, first: date) -> None:
    assert previous_month(today) == first
    assert len(month_days(date(2026, 2, 1))) == 28


class _Collect:
    def __init__(self) -> None:
        self.records: list[CallRecord] = []

    def on_record(self, record: CallRecord) -> None:
        self.records.append(record)


def test_the_simulated_clock_moves_records_not_time() -> None:
    real = CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=True,
                      start_time_ns=5_000_000_000_000, end_time_ns=5_002_000_000_000,
                      first_chunk_time_ns=5_000_300_000_000)
    sink = _Collect()
    clocked = SimulatedClockSink(sink)
    when = datetime(2026, 10, 3, 14, 0, 1, 250, tzinfo=timezone.utc)
    with simulated_time(when):
        clocked.on_record(real)
    clocked.on_record(real)  # outside a simulated call: untouched
    moved, untouched = sink.records
    assert moved.start_time_ns == 1_791_036_001_000_250_000  # 2026-10-03 14:00:01.000250 UTC
    assert moved.end_time_ns - moved.start_time_ns == 2_000_000_000  # the real duration
    assert moved.first_chunk_time_ns == moved.start_time_ns + 300_000_000
    assert untouched is real and real.start_time_ns == 5_000_000_000_000  # the original is not mutated
    assert shifted(real, when) == moved
