"""A SQLite ledger written by schema v3 (``tests/data/ledger_v3``, made by llmledger at commit
a396331) migrates to v4 on open: its reports stay exactly what v3 printed, the new usage rollups
are filled from its calls and answer for them, and the v3 tables are left as they were."""

from __future__ import annotations

import json
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from llmledger.ledger import Filters, open_store, rollup_reads
from llmledger.ledger.migrations import SCHEMA_VERSION
from llmledger.ledger.report import ReportBy, build_report
from llmledger.ledger.repricing import parse_what_if
from llmledger.plans import load_plans

DATA = Path(__file__).parents[2] / "data" / "ledger_v3"
GOLDEN: dict[str, Any] = json.loads((DATA / "reports_v3.json").read_text())
NOW = datetime(2026, 12, 1, tzinfo=timezone.utc)  # what the v3 reports were made with


@pytest.fixture()
def v3_copy(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    shutil.copy(DATA / "ledger_v3.db", path)
    return path


def _tables(path: Path) -> dict[str, str]:
    db = sqlite3.connect(path)
    found = dict(db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall())
    db.close()
    return found


def test_the_fixture_is_a_v3_ledger(v3_copy: Path) -> None:
    db = sqlite3.connect(v3_copy)  # a copy: the WAL-mode file must not get -shm/-wal files beside it
    assert db.execute("SELECT MAX(version) FROM schema_version").fetchone() == (3,)
    assert db.execute("SELECT COUNT(*) FROM llm_calls").fetchone() == (120,)
    db.close()


@pytest.mark.parametrize("name", sorted(GOLDEN["reports"]))
def test_reports_after_the_migration_are_what_v3_printed(v3_copy: Path, name: str) -> None:
    plans = load_plans(GOLDEN["plans"]["plans"], GOLDEN["plans"]["customers"], "v3 test")
    parts = name.split()
    by: ReportBy = parts[0]  # type: ignore[assignment]
    what_ifs = [parse_what_if(spec) for spec in GOLDEN["what_ifs"]] if "what-if" in name else []
    bounds: dict[str, Any] = {"now": NOW}
    if len(parts) == 4:  # "customer what-if SINCE UNTIL"
        bounds = {key: datetime.fromisoformat(day).replace(tzinfo=timezone.utc)
                  for key, day in (("since", parts[2]), ("until", parts[3]))}
    with open_store(str(v3_copy), create=False) as store:
        assert store.schema_version() == SCHEMA_VERSION == 4
        data = build_report(store, plans, by, what_ifs=what_ifs, **bounds).to_dict()
    data["ledger"] = "ledger_v3.db"
    assert data == GOLDEN["reports"][name]


def test_the_usage_rollups_are_filled_from_the_v3_calls(v3_copy: Path, tmp_path: Path) -> None:
    before = _tables(v3_copy)
    with open_store(str(v3_copy), create=False) as store:
        for dimension in ("customer", "feature"):
            found = rollup_reads.usage(store, Filters(), ["claude-sonnet-4-6"], True, dimension)
            assert found is not None and sum(group.calls for group in found) > 0
            assert sorted(found, key=repr) == sorted(store._usage_groups_calls(  # type: ignore[attr-defined]
                Filters(), models=["claude-sonnet-4-6"], cached_only=True, dimension=dimension), key=repr)
    after = _tables(v3_copy)
    assert {name: after[name] for name in before} == before  # v3's tables untouched
    assert set(after) - set(before) == {"llm_usage_by_customer", "llm_usage_by_feature"}
    with open_store(str(tmp_path / "new.db")):
        pass
    assert _tables(tmp_path / "new.db") == after  # the same schema as a ledger created at v4


def test_blocked_calls_read_the_partial_index_not_every_call(v3_copy: Path) -> None:
    from llmledger.ledger.migrations import BLOCKED_INDEX
    from llmledger.limits.guard import BLOCKED

    assert f"error_type = '{BLOCKED}'" in BLOCKED_INDEX  # the index's condition is the query's
    with open_store(str(v3_copy), create=False) as store:
        plan = store._db.execute(
            f"EXPLAIN QUERY PLAN SELECT customer_id, COUNT(*) FROM llm_calls WHERE error_type = '{BLOCKED}' "
            "AND started_at >= ? AND started_at < ? GROUP BY customer_id", ("2026-10-01", "2026-11-01")).fetchall()
    assert "USING INDEX llm_calls_limit_blocked" in " ".join(str(step) for step in plan)
