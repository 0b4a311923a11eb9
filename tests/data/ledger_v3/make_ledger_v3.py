"""Writes ``ledger_v3.db`` (a SQLite ledger at schema version 3) and ``reports_v3.json`` (its
reports as llmledger with schema v3 printed them), for the migration test. Run once, at commit
a396331 (schema v3): ``.venv/bin/python tests/data/ledger_v3/make_ledger_v3.py``. Not rerun since:
the file must stay what the previous schema wrote."""

from __future__ import annotations

import json
import random
import sqlite3
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from llmledger.ledger import open_store
from llmledger.ledger.migrations import SCHEMA_VERSION
from llmledger.ledger.report import build_report
from llmledger.ledger.repricing import parse_what_if
from llmledger.ledger.schema import EPOCH, row_from_record
from llmledger.plans import load_plans
from llmledger.usage import CallRecord, Cost, CustomerContext, Usage

HERE = Path(__file__).parent
MODELS = [("anthropic", "claude-sonnet-4-6"), ("anthropic", "claude-haiku-4-5"), ("openai", "gpt-4o"),
          ("openai", "gpt-4o-mini"), ("gcp.gemini", "gemini-2.5-pro"), ("openai", "no-such-model")]
PLANS = {"plans": {"starter": {"monthly_usd": 19, "included_usd": 5, "overage_markup": "1.3"},
                   "pro": {"monthly_usd": 99, "included_tokens": 20_000_000, "overage_usd_per_mtok": 4}},
         "customers": {"cust-0": {"plan": "starter"}, "cust-1": {"plan": "pro"}, "cust-2": {"plan": "starter"}}}
WHAT_IFS = ("claude-sonnet-4-6=claude-haiku-4-5", "chat:gpt-4o=gpt-4o-mini")


def records() -> list[CallRecord]:
    rng = random.Random(3)
    found = []
    for index in range(120):
        provider, model = MODELS[rng.randrange(len(MODELS))]
        when = datetime(2026, 9, 20, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(30 * 86_400))
        delta = when - EPOCH
        start = (delta.days * 86_400 + delta.seconds) * 10**9
        tokens_in = rng.choice((800, 5_000, 60_000, 250_000))  # 250k passes Gemini's 200k tier
        cached = rng.randint(0, tokens_in // 2) if rng.random() < 0.4 else 0
        usage = Usage(tokens_in, rng.randint(10, 3_000), cache_read_tokens=cached,
                      cache_write_tokens=rng.choice((0, 0, 500)), reasoning_tokens=rng.choice((0, 0, 7)))
        roll = rng.random()
        cost = (Cost("priced", Decimal(rng.randint(1, 10**7)) / 10**9, source="v3 test")
                if roll > 0.1 and model != "no-such-model" else Cost("unpriced"))
        customer = None if index % 13 == 0 else CustomerContext(
            f"cust-{rng.randrange(4)}", rng.choice(("starter", "pro")), rng.choice(("chat", "draft", None)))
        record = CallRecord(provider=provider, operation="chat", request_model=model, stream=False,
                            start_time_ns=start, end_time_ns=start + 10**9, response_model=model,
                            usage=usage, cost=cost, customer=customer)
        if index % 17 == 0:
            record.usage, record.cost, record.error_type = None, Cost("no_usage"), "RateLimitError"
        found.append(record)
    return found


def main() -> None:
    assert SCHEMA_VERSION == 3, "run this at schema v3 (commit a396331)"
    path = HERE / "ledger_v3.db"
    path.unlink(missing_ok=True)
    with open_store(str(path)) as store:
        rows = [row_from_record(record) for record in records()]
        for start in range(0, len(rows), 25):
            store.insert(rows[start:start + 25])
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
    db.close()
    plans = load_plans(PLANS["plans"], PLANS["customers"], "v3 test")
    what_ifs = [parse_what_if(spec) for spec in WHAT_IFS]
    reports = {}
    with open_store(str(path), create=False) as store:
        now = datetime(2026, 12, 1, tzinfo=timezone.utc)
        for by in ("customer", "plan", "model", "feature"):
            for label, specs in (("plain", []), ("what-if", what_ifs)):
                data = build_report(store, plans, by, what_ifs=specs, now=now).to_dict()
                data["ledger"] = "ledger_v3.db"
                reports[f"{by} {label}"] = data
        for since, until in (("2026-10-01", "2026-11-01"), ("2026-10-03", "2026-10-09")):
            data = build_report(store, plans, "customer", what_ifs=what_ifs,
                                since=datetime.fromisoformat(since).replace(tzinfo=timezone.utc),
                                until=datetime.fromisoformat(until).replace(tzinfo=timezone.utc)).to_dict()
            data["ledger"] = "ledger_v3.db"
            reports[f"customer what-if {since} {until}"] = data
    (HERE / "reports_v3.json").write_text(json.dumps({"plans": PLANS, "what_ifs": WHAT_IFS,
                                                       "reports": reports}, indent=1) + "\n")
    print(path, path.stat().st_size, "bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
