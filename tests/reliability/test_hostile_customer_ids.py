"""Customer ids that are huge or full of control characters (issue 18, item 5): bounded at
attribution, and safe in every report format even when the ledger already holds such an id."""

from __future__ import annotations

import csv
import io
import json
import time
from decimal import Decimal
from pathlib import Path

import openai
import pytest

import llmledger
from harness import Harness
from llmledger.attribution import MAX_LABEL_LENGTH
from llmledger.cli import main
from llmledger.fake_provider import FakeProviderServer
from llmledger.ledger.schema import row_from_record
from llmledger.ledger.sqlite_store import SQLiteStore
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

MEGABYTE_ID = "m" * 1_000_000
CONTROL_ID = "evil\x1b[2J\x1b[31mred\nsecond-line\r\x07\x9b"
FORMULA_ID = '=HYPERLINK("http://x.invalid","click")'


def test_a_megabyte_customer_id_is_bounded_and_stays_distinct(harness: Harness,
                                                             fake_provider: FakeProviderServer) -> None:
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)
    for suffix in ("a", "b"):
        with llmledger.customer(MEGABYTE_ID + suffix, plan="p" * 5000, feature="f"):
            client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    ids = [str(span.attributes["customer.id"]) for span in harness.spans()]
    assert all(len(i) <= MAX_LABEL_LENGTH for i in ids)
    assert ids[0] != ids[1]
    assert ids[0].startswith("mmmm") and "…#" in ids[0]
    assert all(len(str(s.attributes["customer.plan"])) <= MAX_LABEL_LENGTH for s in harness.spans())
    labels = {dict(p.attributes)["customer.id"] for p in harness.points("llmledger.customer.calls")}
    assert labels == set(ids)


def _ledger(path: Path) -> None:
    store = SQLiteStore(path)
    start = time.time_ns()
    for index, customer_id in enumerate((MEGABYTE_ID, CONTROL_ID, FORMULA_ID, "-5", "ok")):
        record = CallRecord(provider="openai", operation="chat", request_model="gpt-4o\x1b[2J", stream=False,
                            start_time_ns=start + index, end_time_ns=start + index + 10**6,
                            usage=Usage(input_tokens=10, output_tokens=5),
                            cost=Cost(status="priced", total=Decimal("0.5")),
                            customer=CustomerContext(customer_id, plan="+plan\n", feature="@feature"))
        store.insert([row_from_record(record)])
    store.close()


@pytest.mark.parametrize("by", ["customer", "model", "plan", "feature"])
def test_table_output_is_bounded_and_escaped(tmp_path: Path, capsys: pytest.CaptureFixture[str], by: str) -> None:
    db = tmp_path / "ledger.db"
    _ledger(db)
    assert main(["report", "--db", str(db), "--by", by]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\x07" not in out and "\r" not in out and "\x9b" not in out
    assert max(len(line) for line in out.splitlines()) < 400
    assert len(out) < 20_000
    if by == "customer":
        assert "evil\\x1b[2J" in out
        assert not any(line.startswith("second-line") for line in out.splitlines())


def test_csv_cells_are_never_formulas(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    _ledger(db)
    assert main(["report", "--db", str(db), "--format", "csv"]) == 0
    out = capsys.readouterr().out
    assert len(out) < 3_000_000
    previous = csv.field_size_limit(2_000_000)
    try:
        rows = list(csv.DictReader(io.StringIO(out)))
    finally:
        csv.field_size_limit(previous)
    customers = {row["customer"] for row in rows}
    assert "'" + FORMULA_ID in customers
    assert "-5" in customers  # a number is left as it is
    assert MEGABYTE_ID in customers  # the data formats keep the whole value
    for row in rows:
        for value in row.values():
            assert not (value or "").startswith(("=", "+", "@")), value
        assert row["plan"] == "'+plan\n"


def test_json_keeps_values_and_escapes_controls(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    _ledger(db)
    assert main(["report", "--db", str(db), "--format", "json"]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\n second-line" not in out
    assert len(out) < 3_000_000
    keys = {row["customer"] for row in json.loads(out)["rows"]}
    assert CONTROL_ID in keys and MEGABYTE_ID in keys


def test_limit_keeps_the_table_small(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "ledger.db"
    _ledger(db)
    assert main(["report", "--db", str(db), "--limit", "2"]) == 0
    assert len(capsys.readouterr().out) < 5_000
