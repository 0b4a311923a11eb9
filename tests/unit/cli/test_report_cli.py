"""``llmledger report``: every grouping, filter and format, over a SQLite ledger with known rows."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from llmledger.cli import main
from llmledger.ledger import open_store
from llmledger.ledger.schema import row_from_record
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

OCT_1 = 1_790_812_800_000_000_000  # 2026-10-01 00:00 UTC in ns
DAY = 86_400 * 10**9
CONFIG = """\
plans:
  starter: {monthly_usd: 19, included_tokens: 2000000}
  pro: {monthly_usd: 99}
customers:
  brightline: {plan: starter}
  globex: {plan: pro, monthly_usd: 350}
"""


def _record(day: int, customer: str | None, cost: str | None, *, plan: str = "starter",
            feature: str = "chat", model: str = "gpt-4o", tokens: tuple[int, int] = (1_000, 100)) -> CallRecord:
    start = OCT_1 + (day - 1) * DAY + 9 * 3_600 * 10**9
    return CallRecord(provider="openai", operation="chat", request_model=model, stream=False,
                      start_time_ns=start, end_time_ns=start + 10**9, usage=Usage(*tokens),
                      cost=Cost("priced", Decimal(cost)) if cost else Cost("unpriced"),
                      customer=CustomerContext(customer, plan, feature) if customer else None)


@pytest.fixture()
def ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no stray ./llmledger.yaml or llmledger.db
    monkeypatch.delenv("LLMLEDGER_LEDGER", raising=False)
    monkeypatch.delenv("LLMLEDGER_CONFIG", raising=False)
    (tmp_path / "plans.yaml").write_text(CONFIG)
    records = [
        # 31 days x 4 summaries x (50,000*$3/M + 1,000*$15/M = 0.165) = 20.46 > $19
        *(_record(day, "brightline", "0.165", feature="summarize", model="claude-sonnet-4-5",
                  tokens=(50_000, 1_000)) for day in range(1, 32) for _ in range(4)),
        _record(3, "globex", "12.5", plan="pro"),
        _record(20, "globex", "0.0425", plan="pro", model="gpt-4o-mini"),
        _record(21, "acme", None, plan="pro", model="my-finetune"),
        _record(22, None, "1.25"),
    ]
    with open_store(str(tmp_path / "ledger.db")) as store:
        store.insert([row_from_record(record) for record in records])
    return tmp_path / "ledger.db"


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["report", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    code, out, _ = _run(capsys, *args, "--format", "json")
    assert code == 0
    data: dict[str, Any] = json.loads(out)
    return data


def test_json_totals_are_the_exact_sum_of_the_rows(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "--db", str(ledger), "--config", "plans.yaml")
    rows = data["rows"]
    assert [row["customer"] for row in rows] == ["brightline", "globex", "(unattributed)", "acme"]
    assert rows[0]["unprofitable"] is True and rows[1]["unprofitable"] is False
    assert (rows[0]["cost_usd"], rows[0]["revenue_usd"], rows[0]["margin_usd"]) == ("20.46", "19", "-1.46")
    assert rows[0]["over_allowance"] is True and rows[0]["included_tokens"] == 2_000_000
    assert (rows[1]["revenue_usd"], rows[1]["cost_usd"]) == ("350", "12.5425")
    assert rows[3]["unpriced_calls"] == 1 and rows[3]["cost_usd"] == "0"
    # 20.46 + 12.5425 + 1.25 = 34.2525, exactly, as decimal strings (never floats)
    assert data["total"]["cost_usd"] == "34.2525"
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal(data["total"]["cost_usd"])
    assert data["total"]["calls"] == sum(row["calls"] for row in rows) == 128
    assert data["total"]["revenue_usd"] == "468"  # 19 + 350 + 99 (acme: plan on its calls)
    assert data["period"] == {"since": "2026-10-01T00:00:00+00:00", "until": "2026-11-01T00:00:00+00:00",
                              "days": "31", "months": "1"}
    assert "prorated by calendar month" in data["revenue_basis"]


def test_table_flags_and_sorts_the_unprofitable_first(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--db", str(ledger), "--config", "plans.yaml")
    assert code == 0
    lines = out.splitlines()
    assert "2026-10-01" in lines[0] and "2026-10-31 (31 days)" in lines[0]
    assert "prorated by calendar month" in lines[1]
    header = next(i for i, line in enumerate(lines) if "customer" in line and "margin" in line)
    first = lines[header + 2]
    assert first.startswith("!") and "brightline" in first and "-$1.46" in first and "108%" in first
    assert "$20.46" in first and "$19.00" in first
    total = next(line for line in lines if line.strip().startswith("total"))
    assert "$34.25*" in total and "$468.00" in total
    assert any("1 unprofitable customer at list prices: brightline (-$1.46)" in line for line in lines)
    assert any("over their plan's included tokens: brightline (316%)" in line for line in lines)
    assert any("1 call(s) to models with no known price are NOT in the cost" in line for line in lines)


@pytest.mark.parametrize(("by", "keys"), [
    ("model", ["openai/claude-sonnet-4-5", "openai/gpt-4o", "openai/gpt-4o-mini", "openai/my-finetune"]),
    ("feature", ["summarize", "chat", "(none)"]),  # the unattributed call has no feature
    ("plan", ["starter", "pro", "(no plan)"]),
])
def test_every_grouping(ledger: Path, capsys: pytest.CaptureFixture[str], by: str, keys: list[str]) -> None:
    data = _json(capsys, "--db", str(ledger), "--config", "plans.yaml", "--by", by)
    assert [row[by] for row in data["rows"]] == keys
    assert data["total"]["cost_usd"] == "34.2525"
    code, out, _ = _run(capsys, "--db", str(ledger), "--config", "plans.yaml", "--by", by)
    assert code == 0 and keys[0] in out


def test_plans_carry_revenue(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = {row["plan"]: row for row in _json(capsys, "--db", str(ledger), "--config", "plans.yaml",
                                              "--by", "plan")["rows"]}
    assert (rows["starter"]["revenue_usd"], rows["starter"]["unprofitable"]) == ("19", True)
    assert (rows["pro"]["customers"], rows["pro"]["revenue_usd"]) == (2, "449")  # 350 + 99


def test_days_in_order(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = _json(capsys, "--db", str(ledger), "--by", "day")["rows"]
    assert [row["day"] for row in rows] == [f"2026-10-{day:02d}" for day in range(1, 32)]
    assert rows[2]["cost_usd"] == "13.16"  # 4 * 0.165 + 12.5


def test_filters(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = _json(capsys, "--db", str(ledger), "--config", "plans.yaml", "--since", "2026-10-20",
                 "--until", "2026-10-22")
    # Oct 20 and 21: brightline 8 summaries = 1.32; globex 0.0425; acme unpriced
    assert {row["customer"]: row["cost_usd"] for row in data["rows"]} == {
        "brightline": "1.32", "globex": "0.0425", "acme": "0"}
    assert data["rows"][0]["revenue_usd"] == "1.23"  # 19 * 2/31 = 1.2258 -> 1.23
    only = _json(capsys, "--db", str(ledger), "--config", "plans.yaml", "--customer", "globex",
                 "--month", "2026-10")
    assert [row["customer"] for row in only["rows"]] == ["globex"]
    assert only["total"]["cost_usd"] == "12.5425"
    empty = _json(capsys, "--db", str(ledger), "--month", "2026-09")
    assert empty["rows"] == [] and empty["total"]["cost_usd"] == "0"


def test_csv(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--db", str(ledger), "--config", "plans.yaml", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [row["customer"] for row in rows] == ["brightline", "globex", "(unattributed)", "acme"]
    assert sum(Decimal(row["cost_usd"]) for row in rows) == Decimal("34.2525")
    assert rows[0]["margin_usd"] == "-1.46" and rows[0]["unprofitable"] == "True"


def test_ledger_and_plans_from_the_environment(ledger: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLEDGER_LEDGER", str(ledger))
    monkeypatch.setenv("LLMLEDGER_CONFIG", "plans.yaml")
    data = _json(capsys)
    assert data["ledger"] == str(ledger) and data["rows"][0]["revenue_usd"] == "19"


def test_limit_shortens_the_table_only(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--db", str(ledger), "--limit", "1")
    assert code == 0 and "brightline" in out and "globex" not in out and "3 more row(s)" in out


def test_errors(ledger: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = _run(capsys)  # no llmledger.db in the working directory
    assert code == 2 and "no ledger at llmledger.db" in err and "llmledger demo" in err
    (tmp_path / "bad.yaml").write_text("plans:\n  pro: {monthly_usd: -5}\n")
    code, _, err = _run(capsys, "--db", str(ledger), "--config", "bad.yaml")
    assert code == 2 and "plans.pro.monthly_usd" in err
    code, _, err = _run(capsys, "--db", str(ledger), "--month", "2026-10", "--since", "2026-10-02")
    assert code == 2 and "--month cannot be combined" in err
    with pytest.raises(SystemExit):
        main(["report", "--since", "yesterday"])


def test_what_if_in_table_json_and_csv(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("--db", str(ledger), "--config", "plans.yaml", "--what-if", "claude-sonnet-4-5=claude-haiku-4-5")
    data = _json(capsys, *args)
    # brightline's 124 summaries on Haiku 4.5: 50,000*$1/M + 1,000*$5/M = 0.055 each = 6.82 (was 20.46)
    (line,) = data["what_if"]["by_customer"]
    assert (line["customer"], line["cost_now_usd"], line["cost_if_usd"], line["saving_usd"],
            line["margin_if_usd"]) == ("brightline", "20.46", "6.82", "13.64", "12.18")  # 19 - 6.82
    assert data["rows"][0]["what_if_saving_usd"] == "13.64" and data["rows"][1]["what_if_saving_usd"] == "0"
    code, out, _ = _run(capsys, *args)
    assert code == 0 and "What if: claude-sonnet-4-5=claude-haiku-4-5" in out
    assert any(line.split()[:1] == ["brightline"] and "$13.64" in line and "$12.18" in line
               for line in out.splitlines())
    code, out, _ = _run(capsys, *args, "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["what_if_cost_if_usd"] == "6.82" and rows[0]["plan_advice"] == "pro"


def test_bad_what_if_specs_are_errors_naming_them(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "--db", str(ledger), "--what-if", "gpt-4o=gpt-17-ultra")
    assert code == 2 and "'gpt-17-ultra'" in err
    with pytest.raises(SystemExit):
        main(["report", "--what-if", "gpt-4o"])
    assert "FROM=TO" in capsys.readouterr().err


def test_html_is_one_self_contained_page(ledger: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "--db", str(ledger), "--config", "plans.yaml", "--format", "html")
    assert code == 0 and out.startswith("<!DOCTYPE html>")
    assert "http://" not in out and "https://" not in out and "<script" not in out and "<link" not in out
    assert "default-src 'none'" in out and "<svg" in out
    assert 'data-field="margin_usd" data-value="-1.46"' in out  # brightline's loss
