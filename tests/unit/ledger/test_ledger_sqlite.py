"""SQLite specifics: exact integer picodollar sums, their exact fallbacks, and open errors."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.errors import ConfigError
from llmledger.ledger import Filters, Grouping, GroupTotals, open_ledger_sink, open_store
from llmledger.ledger.queries import GROUPINGS
from llmledger.ledger.schema import row_from_record
from llmledger.ledger.sqlite_store import from_text, picodollars, to_text
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

OCT_1 = 1_790_812_800_000_000_000  # 2026-10-01 00:00 UTC in ns


def _record(cost: str | None, customer: str = "acme", hour: int = 12) -> CallRecord:
    start = OCT_1 + hour * 3_600_000_000_000
    return CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                      start_time_ns=start, end_time_ns=start + 10**9, usage=Usage(100, 10),
                      cost=Cost("priced", Decimal(cost)) if cost else Cost("unpriced"),
                      customer=CustomerContext(customer, "pro"))


@pytest.mark.parametrize(("cost", "pico"), [
    ("0.165", 165_000_000_000),
    ("0.00000038", 380_000),             # 19 tokens at $0.02/M
    ("0.0000000375", 37_500),            # 1 token at $0.0375/M
    ("0.000000000001", 1),
    ("0.0000000000001", None),           # below a picodollar: not representable, kept as text
    ("1.50000000000000000", 1_500_000_000_000),
])
def test_picodollars(cost: str, pico: int | None) -> None:
    assert picodollars(Decimal(cost)) == pico


def test_integer_sum_with_inexact_rows_added_exactly(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "l.db")) as store:
        store.insert([row_from_record(_record(cost)) for cost in
                      ("0.1", "0.2", "0.0000000000001", "0.0000000000002", "0.3")])
        (group,) = store.aggregate("customer", Filters())
    # A float sum would give 0.6000000000000001; this is exact: 0.1+0.2+0.3 + 3e-13
    assert group.cost == Decimal("0.6000000000003")


def test_an_overflowing_integer_sum_is_redone_exactly(tmp_path: Path) -> None:
    # Two $5,000,000 calls: 1e19 picodollars, past SQLite's 64-bit integers.
    with open_store(str(tmp_path / "l.db")) as store:
        store.insert([row_from_record(_record("5000000.000000000001")),
                      row_from_record(_record("5000000")), row_from_record(_record("0.5", "other"))])
        groups = {g.key[0]: g.cost for g in store.aggregate("customer", Filters())}
        by_day = store.aggregate("day", Filters())
    assert groups == {"acme": Decimal("10000000.000000000001"), "other": Decimal("0.5")}
    assert by_day[0].cost == Decimal("10000000.500000000001")


def test_time_text_sorts_as_time() -> None:
    early = datetime(2026, 10, 1, 9, 5, 7, 42, tzinfo=timezone.utc)
    late = datetime(2026, 10, 1, 10, 0, tzinfo=timezone.utc)
    assert to_text(early) == "2026-10-01 09:05:07.000042"
    assert to_text(early) < to_text(late)
    assert from_text(to_text(early)) == early


def test_a_ledger_that_cannot_be_created_is_a_config_error_at_init(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigError, match="cannot open the SQLite ledger"):
        open_ledger_sink(str(blocker / "ledger.db"))


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path: Path) -> None:
    garbage = tmp_path / "notes.db"
    garbage.write_bytes(b"hello, this is not SQLite" * 100)
    with pytest.raises(ConfigError, match=r"notes\.db"):
        open_store(str(garbage))


def test_unsupported_url_schemes_are_refused() -> None:
    with pytest.raises(ConfigError, match="unsupported ledger URL"):
        open_store("mysql://user:secret@db/ledger")


def test_the_ledger_is_readable_with_plain_sqlite(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    sink = open_ledger_sink(str(path), service_name="billing-api")
    sink.on_record(_record("0.0425"))
    sink.close()
    db = sqlite3.connect(path)
    row = db.execute("SELECT started_at, service_name, customer_id, cost_usd, cost_pusd FROM llm_calls"
                     ).fetchone()
    assert row == ("2026-10-01 12:00:00.000000", "billing-api", "acme", "0.0425", 42_500_000_000)


def _random_records(count: int) -> list[CallRecord]:
    import random

    rng = random.Random(5)
    records = []
    for index in range(count):
        cost = rng.choice(["0.165", "0.00000038", "0.0000000000001", None, "12.5", "0.0425"])
        customer = rng.choice(["a", "b", "c"])
        record = _record(cost, customer=customer, hour=rng.randrange(24))
        record.start_time_ns += rng.randrange(5) * 86_400 * 10**9
        if index % 7 == 0:
            record.customer = None
        elif index % 5 == 0:
            record.customer = CustomerContext(customer, None, "summarize")
        if index % 11 == 0:
            record.usage, record.cost, record.error_type = None, Cost("no_usage"), "RateLimitError"
        record.request_model = rng.choice(["gpt-4o", "o3"])
        records.append(record)
    return records


def _as_tuples(groups: list[GroupTotals]) -> list[tuple[object, ...]]:
    return sorted(((g.key, g.calls, g.input_tokens, g.output_tokens, g.unpriced_calls, g.no_usage_calls,
                    g.error_calls, g.cost, g.first_at, g.last_at) for g in groups), key=repr)


@pytest.mark.parametrize("grouping", GROUPINGS)
def test_daily_rollups_agree_with_the_calls(tmp_path: Path, grouping: Grouping,
                                           caplog: pytest.LogCaptureFixture) -> None:
    from llmledger.ledger.sqlite_store import SQLiteStore

    store = SQLiteStore(tmp_path / "l.db")
    records = _random_records(400)
    for start in range(0, 400, 37):  # several batches: rollup rows get updated, not just inserted
        store.insert([row_from_record(record) for record in records[start:start + 37]])
    oct_2, oct_4 = (datetime(2026, 10, day, tzinfo=timezone.utc) for day in (2, 4))
    for filters in (Filters(), Filters(since=oct_2), Filters(since=oct_2, until=oct_4),
                    Filters(customer="b", until=oct_4)):
        from_rollups = store.aggregate(grouping, filters)
        from_calls = store._aggregate_calls(grouping, filters)
        assert _as_tuples(from_rollups) == _as_tuples(from_calls)
    assert "disagree" not in caplog.text  # the rollups were used, not bypassed
    store.close()


def test_calls_deleted_by_hand_are_noticed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "l.db"
    with open_store(str(path)) as store:
        store.insert([row_from_record(_record("1.5", customer=name)) for name in ("a", "a", "b")])
    db = sqlite3.connect(path)
    db.execute("DELETE FROM llm_calls WHERE customer_id = 'b'")  # the rollups still count it
    db.commit()
    db.close()
    with open_store(str(path)) as store:
        groups = store.aggregate("customer", Filters())
    assert [(g.key, g.calls, g.cost) for g in groups] == [(("a", "pro"), 2, Decimal("3.0"))]
    assert "disagree with its calls" in caplog.text


def test_rollup_sums_of_huge_costs_stay_exact(tmp_path: Path) -> None:
    with open_store(str(tmp_path / "l.db")) as store:
        for _ in range(3):  # three batches: sums carried across upserts
            store.insert([row_from_record(_record("5000000.000000000001"))])
        (group,) = store.aggregate("customer", Filters())
    assert group.cost == Decimal("15000000.000000000003")
