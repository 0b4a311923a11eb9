"""The report over a ledger whose token sums overflow SQLite's 64-bit integers (issue 18, item 7).

Rows written before the per-call bound (or by another writer) may hold huge counts: the report's
fallback sums them in Python, exactly, instead of crashing with ``integer overflow``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.cli import main
from llmledger.ledger.schema import row_from_record
from llmledger.ledger.sqlite_store import SQLiteStore
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

HUGE = 5 * 10**18  # two of these pass 2**63 - 1


def _ledger(path: Path) -> None:
    rows = []
    for day in (1, 2, 3):
        start = int(datetime(2026, 10, day, 12, tzinfo=timezone.utc).timestamp() * 1e9)
        record = CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                            start_time_ns=start, end_time_ns=start + 10**9,
                            usage=Usage(input_tokens=HUGE, output_tokens=HUGE),
                            cost=Cost(status="priced", total=Decimal("1.25")),
                            customer=CustomerContext("cust-big", plan="pro"))
        rows.append(row_from_record(record))
    store = SQLiteStore(path)
    for row in rows:  # one per day: each day's rollup holds, their sum does not
        store.insert([row])
    store.close()


@pytest.mark.parametrize("extra", [[], ["--since", "2026-10-01T06:00:00"], ["--by", "model"], ["--by", "day"]])
def test_report_sums_huge_token_counts_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                               extra: list[str]) -> None:
    db = tmp_path / "ledger.db"
    _ledger(db)
    code = main(["report", "--db", str(db), "--format", "json", *extra])
    out = capsys.readouterr()
    assert code == 0, out.err
    rows = json.loads(out.out)["rows"]
    total_input = sum(int(row["input_tokens"]) for row in rows)
    assert total_input == 3 * HUGE
    assert sum(Decimal(str(row["cost_usd"])) for row in rows) == Decimal("3.75")
