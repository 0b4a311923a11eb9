"""The ledger stores, SQLite and PostgreSQL alike: rows in, exact sums out, schema migrations."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from ledger_testdata import at, execute, fetch_one, make_record

from llmledger.errors import ConfigError
from llmledger.ledger import Filters, is_postgres, open_store
from llmledger.ledger.migrations import MIGRATIONS, SCHEMA_VERSION
from llmledger.ledger.schema import row_from_record
from llmledger.usage import CallRecord


def _insert(url: str, *records: CallRecord) -> None:
    with open_store(url) as store:
        store.insert([row_from_record(record, "billing-api") for record in records])


def test_costs_sum_exactly_per_customer(ledger_url: str) -> None:
    # claude-sonnet-4-5 summary: 50,000*$3/M + 1,000*$15/M = 0.15 + 0.015 = 0.165, four times;
    # an embedding of 19 tokens at $0.02/M = 0.00000038; a price with more decimals than
    # picodollars hold (1e-13) must still be summed exactly.
    _insert(ledger_url,
            *(make_record(at("2026-10-01", 9 + i), customer="brightline", cost="0.165") for i in range(4)),
            make_record(at("2026-10-01"), customer="acme", cost="0.00000038"),
            make_record(at("2026-10-02"), customer="acme", cost="0.0000000000001"),
            make_record(at("2026-10-02"), customer="acme", cost=None))  # unpriced: not a fake $0
    with open_store(ledger_url) as store:
        groups = {g.key: g for g in store.aggregate("customer", Filters())}
    assert groups[("brightline", "starter")].cost == Decimal("0.660")
    assert groups[("brightline", "starter")].calls == 4
    acme = groups[("acme", "starter")]
    assert acme.cost == Decimal("0.0000003800001")
    assert (acme.calls, acme.unpriced_calls) == (3, 1)
    assert acme.input_tokens == 3_000 and acme.output_tokens == 300


def test_every_grouping(ledger_url: str) -> None:
    _insert(ledger_url,
            make_record(at("2026-10-01"), feature="summarize", provider="anthropic",
                        model="claude-sonnet-4-5", cost="0.165"),
            make_record(at("2026-10-01", 23), feature="chat", model="gpt-4o-mini", cost="0.0006",
                        cache_read=512, reasoning=0),
            make_record(at("2026-10-03"), feature=None, customer=None, model="o3", cost="0.118",
                        reasoning=900, output_tokens=1_000),
            make_record(at("2026-10-03"), error="RateLimitError", usage=False, cost=None,
                        status="no_usage"))
    with open_store(ledger_url) as store:
        by_model = {g.key: g for g in store.aggregate("model", Filters())}
        by_feature = {g.key: g for g in store.aggregate("feature", Filters())}
        by_day = {g.key: g for g in store.aggregate("day", Filters())}
    assert by_model[("anthropic", "claude-sonnet-4-5")].cost == Decimal("0.165")
    assert by_model[("openai", "o3")].reasoning_tokens == 900
    assert by_model[("openai", "gpt-4o-mini")].cache_read_tokens == 512
    gpt4o = by_model[("openai", "gpt-4o")]
    # a failed call is an error, not a no-usage call (no_usage counts successful calls without usage)
    assert (gpt4o.calls, gpt4o.error_calls, gpt4o.no_usage_calls, gpt4o.cost) == (1, 1, 0, Decimal(0))
    assert set(by_feature) == {("summarize",), ("chat",), (None,)}
    assert by_feature[("chat",)].calls == 2  # the failed call was a chat call too
    assert {key: g.calls for key, g in by_day.items()} == {("2026-10-01",): 2, ("2026-10-03",): 2}
    assert by_day[("2026-10-01",)].cost == Decimal("0.1656")


def test_filters_by_time_and_customer(ledger_url: str) -> None:
    _insert(ledger_url, *(make_record(at(f"2026-10-{day:02d}"), customer=name, cost="1.25")
                          for day in range(1, 11) for name in ("a", "b")))
    with open_store(ledger_url) as store:
        window = Filters(since=at("2026-10-03", 0), until=at("2026-10-05", 0))
        assert sum(g.calls for g in store.aggregate("customer", window)) == 4
        only_b = store.aggregate("day", Filters(customer="b", since=at("2026-10-09", 0)))
        assert [(g.key, g.cost) for g in sorted(only_b, key=lambda g: g.key)] == [
            (("2026-10-09",), Decimal("1.25")), (("2026-10-10",), Decimal("1.25"))]
        first, last = store.time_range(Filters(customer="a")) or (None, None)
        assert (first, last) == (at("2026-10-01"), at("2026-10-10"))
        assert store.time_range(Filters(customer="nobody")) is None
        assert store.count() == 20


def test_row_keeps_every_field(ledger_url: str) -> None:
    record = make_record(at("2026-10-07").replace(microsecond=123456), user="u-7",
                         cache_write=4_000, cache_write_1h=4_000, trace_id=0xABC, span_id=0x12)
    _insert(ledger_url, record)
    with open_store(ledger_url) as store:
        (group,) = store.aggregate("customer", Filters(since=at("2026-10-07", 0)))
        assert group.first_at == at("2026-10-07").replace(microsecond=123456)
        assert group.cache_write_tokens == 4_000
    row = fetch_one(ledger_url, "SELECT trace_id, span_id, service_name, user_id, "
                     "cache_write_1h_tokens, cost_status, cost_source FROM llm_calls")
    assert tuple(row) == (f"{0xABC:032x}", f"{0x12:016x}", "billing-api", "u-7", 4_000, "priced",
                          "test prices")


def test_opening_twice_migrates_once(ledger_url: str) -> None:
    with open_store(ledger_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    with open_store(ledger_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
    assert fetch_one(ledger_url, "SELECT COUNT(*) FROM schema_version") == (len(MIGRATIONS),)


def test_a_version_1_ledger_is_migrated_and_keeps_its_rows(ledger_url: str) -> None:
    # Lay out the ledger as the first schema version did, with one call in it.
    postgres = is_postgres(ledger_url)
    version_1 = MIGRATIONS[0].postgres if postgres else MIGRATIONS[0].sqlite
    when = "'2026-09-30 10:00:00+00'" if postgres else "'2026-09-30 10:00:00.000000'"
    applied_type = "TIMESTAMPTZ" if postgres else "TEXT"
    execute(ledger_url,
             "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
             f"applied_at {applied_type} NOT NULL)",
             *version_1,
             "INSERT INTO schema_version VALUES (1, 'calls table', '2026-09-01')",
             "INSERT INTO llm_calls (started_at, duration_s, provider, operation, stream, customer_id, "
             f"plan, cost_usd, cost_status) VALUES ({when}, 1.0, 'openai', 'chat', "
             f"{'false' if postgres else 0}, 'old-customer', 'pro', '0.0425', 'priced')")
    _insert(ledger_url, make_record(at("2026-10-01"), customer="old-customer", plan="pro", cost="0.5"))
    with open_store(ledger_url) as store:
        assert store.schema_version() == SCHEMA_VERSION
        (group,) = store.aggregate("customer", Filters())
    # The old row's cost (backfilled into SQLite's picodollar column) sums with the new one.
    assert (group.calls, group.cost) == (2, Decimal("0.5425"))


def test_a_ledger_from_a_newer_llmledger_is_refused(ledger_url: str) -> None:
    open_store(ledger_url).close()
    execute(ledger_url, f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 1}, 'future', "
             f"{'now()' if is_postgres(ledger_url) else repr('2030-01-01')})")
    with pytest.raises(ConfigError, match="newer than this llmledger"):
        open_store(ledger_url)


def test_times_are_utc_days(ledger_url: str) -> None:
    # 23:30 UTC on the 1st is the 1st, whatever the server's or the machine's time zone.
    late = at("2026-10-01", 23) + timedelta(minutes=30)
    _insert(ledger_url, make_record(late), make_record(late + timedelta(hours=1)))
    with open_store(ledger_url) as store:
        days = sorted(g.key for g in store.aggregate("day", Filters()))
    assert days == [("2026-10-01",), ("2026-10-02",)]
