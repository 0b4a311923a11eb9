"""``llmledger report`` marks customers that hit a limit in the period (derived from the ledger)."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.cli import main
from llmledger.config import load_config
from llmledger.ledger import open_store
from llmledger.ledger.schema import row_from_record
from llmledger.limits.report import limit_hits
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

OCT_1 = datetime(2026, 10, 1, tzinfo=timezone.utc)
CONFIG = """\
plans:
  starter: {monthly_usd: 19}
  pro: {monthly_usd: 99}
limits:
  - plan: starter
    usd_per_month: 15
  - plan: pro
    cost_share_of_revenue: 0.5
    action: warn
  - customer: daily
    tokens_per_day: 1000
  - feature: summarize
    usd_per_day: 2
  - customer: chatty
    calls_per_minute: 3
    action: warn
"""


def _record(day: int, customer: str, cost: str, plan: str, tokens: int = 100,
            error: str | None = None, second: int = 0, feature: str | None = None) -> CallRecord:
    start = int((OCT_1.timestamp() + (day - 1) * 86_400 + 9 * 3_600 + second) * 1e9)
    return CallRecord(provider="openai", operation="chat", request_model="gpt-4o", stream=False,
                      start_time_ns=start, end_time_ns=start + 10**9,
                      usage=None if error else Usage(tokens, 0),
                      cost=Cost("no_usage") if error else Cost("priced", Decimal(cost)),
                      customer=CustomerContext(customer, plan, feature=feature), error_type=error)


@pytest.fixture()
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LLMLEDGER_LEDGER", raising=False)
    monkeypatch.delenv("LLMLEDGER_CONFIG", raising=False)
    (tmp_path / "llmledger.yaml").write_text(CONFIG)
    records = [
        *(_record(day, "over", "1", "starter") for day in range(1, 17)),  # 16 > 15 on Oct 15
        _record(17, "over", "", "starter", error="LimitExceeded"),
        _record(17, "over", "", "starter", error="LimitExceeded"),
        *(_record(day, "under", "1", "starter") for day in range(1, 15)),  # 14 < 15
        _record(2, "big", "60", "pro"),  # 60 > 0.5 x 99 (warn)
        _record(3, "daily", "0.01", "pro", tokens=600),
        _record(4, "daily", "0.01", "pro", tokens=600),
        _record(4, "daily", "0.01", "pro", tokens=400),  # 1000 on Oct 4
        *(_record(5, "chatty", "0.01", "pro", second=10 * i) for i in range(5)),  # the 4th and 5th: 3 before
        *(_record(5, "chatty", "0.01", "pro", second=600 + 30 * i) for i in range(4)),  # 2 a minute: fine
        _record(6, "feat", "1.5", "pro", feature="summarize"),
        _record(6, "feat", "1", "pro", second=60, feature="summarize"),  # 2.5 >= 2 on Oct 6
        _record(7, "feat", "1.5", "pro", feature="summarize"),  # 1.5 < 2 on Oct 7
        _record(7, "feat", "1.5", "pro", second=60, feature="other"),  # not the feature
        _record(6, "daily", "5", "pro", feature="summarize"),  # its customer rule applies, not the feature's
    ]
    with open_store(str(tmp_path / "llmledger.db")) as store:
        store.insert([row_from_record(record) for record in records])
    return tmp_path / "llmledger.db"


def test_limit_hits_from_the_ledger(ledger: Path):
    config = load_config("llmledger.yaml", env={})
    with open_store(str(ledger)) as store:
        hits = limit_hits(store, config.limits, config.plans, OCT_1, datetime(2026, 11, 1, tzinfo=timezone.utc))
        assert hits == {
            "over": ["2 calls blocked", "usd_per_month 2026-10 (16 of 15)"],
            "big": ["cost_share_of_revenue 2026-10 (60 of 49.5)"],
            "daily": ["tokens_per_day 2026-10-04 (1000 of 1000)"],
            "feat": ["usd_per_day 2026-10-06 feature=summarize (2.5 of 2)"],
            "chatty": ["calls_per_minute customer=chatty (2 calls over 3/min, first 2026-10-05 09:00:30)"],
        }
        # a period before "over" crossed its limit: the month-to-date at the period's end is 10
        assert "over" not in limit_hits(store, config.limits, config.plans, OCT_1,
                                        datetime(2026, 10, 11, tzinfo=timezone.utc))


def test_report_marks_them(ledger: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["report", "--month", "2026-10", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert sorted(data["limit_hits"]) == ["big", "chatty", "daily", "feat", "over"]
    assert main(["report", "--month", "2026-10"]) == 0
    table = capsys.readouterr().out
    over_line = next(line for line in table.splitlines() if " over " in line)
    assert "L" in over_line.split("over")[0]
    assert "L = hit a limit in the period (5)" in table
    under_line = next(line for line in table.splitlines() if " under " in line)
    assert "L" not in under_line.split("under")[0]
