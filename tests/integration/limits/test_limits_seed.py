"""In-process limits start from the ledger's month-to-date and day-to-date sums after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import llmledger
from llmledger.ledger import open_store
from llmledger.ledger.schema import row_from_record
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

MSG = [{"role": "user", "content": "hi"}]
CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}  # gpt-4o: $0.01 per call


def start(ledger: str, rules: list[dict], **settings: object) -> None:
    llmledger.init(ledger=ledger, limits=rules, tracer_provider=TracerProvider(), meter_provider=MeterProvider(),
                   endpoints={"127.0.0.1": "openai"}, **settings)  # the fake answers as OpenAI


def old_row(customer: str, at: datetime, usd: str, feature: str | None = None):
    record = CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                        start_time_ns=int(at.timestamp() * 1e9), end_time_ns=int(at.timestamp() * 1e9),
                        usage=Usage(input_tokens=100), cost=Cost(status="priced", total=Decimal(usd)),
                        customer=CustomerContext(customer, feature=feature))
    return row_from_record(record)


def test_a_restart_keeps_the_month(fake_provider, openai_client, tmp_path):
    ledger = str(tmp_path / "ledger.db")
    rules = [{"customer": "acme", "usd_per_month": 0.05, "usd_per_day": 0.03},
             {"feature": "summarize", "usd_per_month": 0.02}]
    now = datetime.now(timezone.utc)
    earlier_this_month = now.replace(day=1, hour=0, minute=0, second=1) if now.day > 1 else None
    with open_store(ledger) as store:  # calls from before: last month, and this month before today
        rows = [old_row("acme", now.replace(day=1) - timedelta(days=2), "5")]
        if earlier_this_month is not None:
            rows.append(old_row("acme", earlier_this_month, "0.01"))
        rows.append(old_row("bob", now - timedelta(seconds=5), "0.015", feature="summarize"))
        store.insert(rows)
    try:
        start(ledger, rules)
        with llmledger.customer("acme"):
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        llmledger.shutdown()  # the process ends: the ledger has every call

        start(ledger, rules)  # a new process: the month and the day are read back from the ledger
        month_before = Decimal("0.01") if earlier_this_month is not None else Decimal(0)
        rows_now = {row.cap: row for row in llmledger.usage("acme")}
        assert rows_now["usd_per_month"].used == month_before + Decimal("0.01")
        assert rows_now["usd_per_day"].used == Decimal("0.01")
        assert llmledger.usage("bob", feature="summarize")[0].used == Decimal("0.015")
        with llmledger.customer("bob", feature="summarize"):
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            with pytest.raises(llmledger.LimitExceeded, match="feature=summarize"):
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
    finally:
        llmledger.shutdown()


@pytest.mark.redis
def test_a_fresh_redis_is_seeded_from_the_ledger_once(fake_provider, openai_client, redis_url, tmp_path):
    import redis

    ledger = str(tmp_path / "ledger.db")
    rules = [{"customer": "acme", "usd_per_month": 0.10, "usd_per_day": 0.05},
             {"feature": "summarize", "usd_per_month": 0.02}]
    now = datetime.now(timezone.utc)
    earlier_this_month = now.replace(day=1, hour=0, minute=0, second=1) if now.day > 1 else None
    with open_store(ledger) as store:
        rows = [old_row("acme", now.replace(day=1) - timedelta(days=2), "5"),  # last month: not seeded
                old_row("acme", now - timedelta(seconds=5), "0.02"),
                old_row("bob", now - timedelta(seconds=5), "0.015", feature="summarize")]
        if earlier_this_month is not None:
            rows.append(old_row("acme", earlier_this_month, "0.01"))
        store.insert(rows)
    month_before = Decimal("0.03") if earlier_this_month is not None else Decimal("0.02")
    client = redis.Redis.from_url(redis_url)

    def redis_usd(scope: str, window: str) -> Decimal:
        (key,) = client.keys(f"llmledger:limit:{scope}:{window}:*")
        return Decimal(int(client.hget(key, "usd"))) / 10**12

    try:
        start(ledger, rules, limits_store=redis_url)  # Redis holds nothing: the ledger seeds it
        rows_now = {row.cap: row for row in llmledger.usage("acme")}
        assert rows_now["usd_per_month"].used == month_before
        assert rows_now["usd_per_day"].used == Decimal("0.02")
        assert redis_usd("acme", "m") == month_before and redis_usd("acme", "d") == Decimal("0.02")
        month_tokens = 200 if earlier_this_month is not None else 100  # 100 tokens a row
        assert int(client.hget(client.keys("llmledger:limit:acme:m:*")[0], "tok")) == month_tokens
        with llmledger.customer("bob", feature="summarize"):  # seeded with its spend in the same script
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            with pytest.raises(llmledger.LimitExceeded, match="feature=summarize"):
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        assert redis_usd("bob|feature=summarize", "m") == Decimal("0.025")
        llmledger.shutdown()

        # another machine spent in Redis what this ledger never saw: a restart must not seed over it
        client.hincrby(client.keys("llmledger:limit:acme:m:*")[0], "usd", 4 * 10**10)
        start(ledger, rules, limits_store=redis_url)
        assert {row.cap: row for row in llmledger.usage("acme")}["usd_per_month"].used == month_before + Decimal(
            "0.04")
        llmledger.shutdown()

        client.flushall()  # Redis lost everything: the month does not start over
        start(ledger, rules, limits_store=redis_url)
        with llmledger.customer("acme"):
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        rows_now = {row.cap: row for row in llmledger.usage("acme")}
        assert rows_now["usd_per_month"].used == month_before + Decimal("0.01")
        assert rows_now["usd_per_day"].used == Decimal("0.03")
    finally:
        llmledger.shutdown()
        client.close()
