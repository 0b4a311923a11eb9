"""The rollups answer exactly as the calls would, on SQLite and PostgreSQL, on random ledgers:
the daily cost rollups, the monthly usage rollups behind cache savings and what-if, and whole
reports with a what-if and cache savings read from the rollups or from the calls."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from ledger_testdata import execute, make_record

from llmledger.ledger import Filters, LedgerStore, open_store, rollup_reads
from llmledger.ledger.migrations import MIGRATIONS
from llmledger.ledger.queries import GROUPINGS, Grouping, GroupTotals
from llmledger.ledger.report import build_report
from llmledger.ledger.repricing import parse_what_if
from llmledger.ledger.schema import row_from_record
from llmledger.ledger.usage_groups import Dimension, UsageGroup
from llmledger.plans import load_plans
from llmledger.usage import CallRecord, PriceModifiers

MODELS = [("anthropic", "claude-sonnet-4-6"), ("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4o"),
          ("openai", "gpt-4o-mini"), ("openai", "o3"), ("gcp.gemini", "gemini-2.5-flash"),
          ("openai", "no-such-model")]
START = datetime(2026, 9, 12, tzinfo=timezone.utc)  # to 2026-11-20: three months, two of them partial
UTC = timezone.utc


def _records(count: int, seed: int) -> list[CallRecord]:
    rng = random.Random(seed)
    records = []
    for _ in range(count):
        provider, model = MODELS[rng.randrange(len(MODELS))]
        tokens_in = rng.randint(100, 60_000)
        cached = rng.randint(1, tokens_in // 2) if rng.random() < 0.3 else 0
        roll = rng.random()
        # Costs are arbitrary exact decimals of up to 12 places (what was paid, not today's price).
        cost = None if roll < 0.05 or model == "no-such-model" else str(Decimal(rng.randint(1, 10**9)) / 10**12)
        record = make_record(
            START + timedelta(seconds=rng.randrange(70 * 86_400)), provider=provider, model=model,
            customer=rng.choice(["a", "b", "c", "d", None]), plan=rng.choice(["pro", "starter", None]),
            feature=rng.choice(["chat", "draft", None]), input_tokens=tokens_in,
            output_tokens=rng.randint(1, 4_000), cache_read=cached, cache_write=rng.choice((0, 0, 300)),
            cache_write_1h=rng.choice((0, 0, 0, 100)), reasoning=rng.choice((0, 0, 7)), cost=cost,
            status="no_usage" if roll > 0.97 else None, error="RateLimitError" if roll > 0.98 else None)
        if model in ("o3", "gpt-4o") and rng.random() < 0.3:  # gpt-4o on flex: no price for its cache savings
            record.modifiers = PriceModifiers(service_tier="flex")
        records.append(record)
    return records


def _fill(url: str, records: list[CallRecord]) -> None:
    with open_store(url) as store:
        for start in range(0, len(records), 53):  # several batches: rollup rows updated, not only added
            store.insert([row_from_record(record) for record in records[start:start + 53]])


def _groups(groups: list[UsageGroup]) -> list[UsageGroup]:
    return sorted(groups, key=repr)


def _totals(groups: list[GroupTotals]) -> list[GroupTotals]:
    return sorted(groups, key=lambda group: repr(group.key))


def _calls_usage(store: LedgerStore, filters: Filters, models: list[str] | None, cached_only: bool,
                 dimension: Dimension) -> list[UsageGroup]:
    return store._usage_groups_calls(filters, models=models, cached_only=cached_only,  # type: ignore[attr-defined,no-any-return]
                                     dimension=dimension)


def _day(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# Periods whose months hold only calls inside them: the default period (first to last call day),
# whole months, all time, and a month range starting at the first call's day.
COVERED = [Filters(), Filters(_day("2026-09-12"), _day("2026-11-21")),
           Filters(_day("2026-10-01"), _day("2026-11-01")), Filters(until=_day("2026-10-01")),
           Filters(since=_day("2026-11-01")), Filters(_day("2026-09-01"), _day("2027-01-01"))]
# Periods that split a month's calls: the usage rollups cannot answer them.
SPLIT = [Filters(_day("2026-10-03"), _day("2026-10-09")), Filters(since=_day("2026-10-15")),
         Filters(_day("2026-10-01"), datetime(2026, 11, 1, 6, tzinfo=UTC))]


@pytest.mark.parametrize("dimension", ["customer", "feature"])
def test_usage_rollups_equal_the_calls(ledger_url: str, dimension: Dimension) -> None:
    _fill(ledger_url, _records(700, seed=11))
    with open_store(ledger_url) as store:
        for filters in COVERED:
            for models, cached_only in ((None, True), (["claude-sonnet-4-6"], False),
                                        (["claude-sonnet-4-6", "o3"], True), (None, False)):
                found = rollup_reads.usage(store, filters, models, cached_only, dimension)
                assert found is not None, filters  # the rollups answered
                assert _groups(found) == _groups(_calls_usage(store, filters, models, cached_only, dimension))
                assert _groups(store.usage_groups(filters, models=models, cached_only=cached_only,
                                                  dimension=dimension)) == _groups(found)
        for filters in SPLIT:
            assert rollup_reads.usage(store, filters, None, True, dimension) is None
            assert _groups(store.usage_groups(filters, cached_only=True, dimension=dimension)) == _groups(
                _calls_usage(store, filters, None, True, dimension))


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_daily_rollups_equal_the_calls(ledger_url: str, grouping: Grouping,
                                       caplog: pytest.LogCaptureFixture) -> None:
    _fill(ledger_url, _records(400, seed=12))
    with open_store(ledger_url) as store:
        for filters in (*COVERED, *SPLIT[:2], Filters(customer="b", until=_day("2026-10-20"))):
            found = rollup_reads.aggregate(store, grouping, filters)
            # One customer's model or feature report reads its calls (the customer index finds them).
            assert (found is None) == (filters.customer is not None and grouping in ("model", "feature"))
            calls = store._aggregate_calls(grouping, filters)  # type: ignore[attr-defined]
            assert _totals(store.aggregate(grouping, filters)) == _totals(calls)
    assert "disagree" not in caplog.text  # the rollups were used, not bypassed


PLANS = load_plans({"starter": {"monthly_usd": 19, "included_usd": "0.001", "overage_markup": "1.3"},
                    "pro": {"monthly_usd": 99, "included_tokens": 200_000, "overage_usd_per_mtok": 4}},
                   {"a": {"plan": "starter"}, "b": {"plan": "pro"}}, "test")
WHAT_IFS = [[parse_what_if("claude-sonnet-4-6=claude-haiku-4-5")],
            [parse_what_if("claude-haiku-4-5=claude-sonnet-4-6"), parse_what_if("o3=o4-mini")], []]


@pytest.mark.parametrize("seed", [21, 22])
def test_reports_from_the_rollups_equal_reports_from_the_calls(ledger_url: str, seed: int,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _fill(ledger_url, _records(600, seed=seed))
    with open_store(ledger_url) as store:
        reports = {}
        for source in ("rollups", "calls"):
            if source == "calls":  # the reference: every usage sum read from the calls table
                monkeypatch.setattr(store, "usage_groups", store._usage_groups_calls)  # type: ignore[attr-defined]
            reports[source] = [build_report(store, PLANS, by, what_ifs=what_ifs, since=filters.since,
                                            until=filters.until).to_dict()
                               for by in ("customer", "plan", "feature", "model")
                               for what_ifs in WHAT_IFS for filters in COVERED[:3]]
    assert reports["rollups"] == reports["calls"]
    what_if_totals = [report["what_if"]["total"] for report in reports["rollups"] if "what_if" in report]
    assert any(Decimal(total["saving_usd"]) for total in what_if_totals)  # the what-ifs re-priced calls
    assert any(Decimal(report["cache_savings"]["total_usd"]) > 0 for report in reports["rollups"])


def test_calls_deleted_by_hand_send_the_usage_to_the_calls(ledger_url: str,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    _fill(ledger_url, _records(200, seed=31))
    execute(ledger_url, "DELETE FROM llm_calls WHERE customer_id = 'b'")  # the rollups still count them
    with open_store(ledger_url) as store:
        assert rollup_reads.usage(store, Filters(), None, True, "customer") is None
        found = store.usage_groups(Filters(), cached_only=True)
        assert _groups(found) == _groups(_calls_usage(store, Filters(), None, True, "customer"))
    assert "b" not in {group.customer_id for group in found}
    assert "disagree with its calls" in caplog.text


def test_a_postgres_ledger_at_v3_gets_its_rollups_on_open(postgres_url: str) -> None:
    # Lay out schema v3 as llmledger 3 left it in PostgreSQL (no rollups there), with calls in it.
    statements = [statement for migration in MIGRATIONS[:3] for statement in migration.postgres]
    execute(postgres_url, "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
            "applied_at TIMESTAMPTZ NOT NULL)", *statements,
            *(f"INSERT INTO schema_version VALUES ({m.version}, 'v{m.version}', now())" for m in MIGRATIONS[:3]))
    import psycopg

    from llmledger.ledger.schema import COLUMNS

    rows = [row_from_record(record) for record in _records(300, seed=41)]
    with (psycopg.connect(postgres_url) as db, db.cursor() as cursor,
          cursor.copy(f"COPY llm_calls ({', '.join(COLUMNS)}) FROM STDIN") as copy):
        for row in rows:
            copy.write_row(row.values())
    with open_store(postgres_url) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        for filters in COVERED[:3]:
            for dimension in ("customer", "feature"):
                found = rollup_reads.usage(store, filters, ["gpt-4o"], True, dimension)
                assert found is not None
                assert _groups(found) == _groups(_calls_usage(store, filters, ["gpt-4o"], True, dimension))
            for grouping in GROUPINGS:
                assert rollup_reads.aggregate(store, grouping, filters) is not None
                assert _totals(store.aggregate(grouping, filters)) == _totals(
                    store._aggregate_calls(grouping, filters))  # type: ignore[attr-defined]


def test_a_report_reads_one_snapshot_while_the_app_inserts(ledger_url: str,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    records = _records(200, seed=51)
    _fill(ledger_url, records[:150])
    with open_store(ledger_url) as reader, open_store(ledger_url) as app:
        with reader.snapshot():
            before = reader.aggregate("customer", Filters())
            # The app writes between two of the report's queries: the report must not see it.
            app.insert([row_from_record(record) for record in records[150:]])
            assert _totals(reader.aggregate("customer", Filters())) == _totals(before)
            found = rollup_reads.usage(reader, Filters(), None, True, "customer")
            assert found is not None
            assert sum(group.calls for group in reader.usage_groups(Filters(), dimension="customer")) == sum(
                1 for record in records[:150] if record.cost.status == "priced")
        after = reader.aggregate("customer", Filters())
    assert sum(group.calls for group in after) == 200
    assert "disagree" not in caplog.text
