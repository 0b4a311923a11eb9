"""``llmledger report`` over a million-call ledger: target under 2 seconds (DESIGN.md scale path).

Builds a SQLite ledger of one million calls (2,000 customers on three plans, twelve models,
eight features, thirty days; 0.5% unpriced, 1% failed) through the store's own insert path, then
times each report: per customer (with revenue and margin, overage, cache savings and plan advice),
plan, model, feature and day, one customer's days, the customer report with one ``--what-if``
(claude-sonnet-4-6=claude-haiku-4-5), and the command line end to end (a fresh process, imports
included), with and without the what-if. A fifth of the calls read the prompt cache. Each figure
is the best of three runs (the least disturbed by other processes); the first run is shown too.
The totals are checked against the exact sum of the generated costs.

Wall time depends on what else the machine runs; so each figure also gives the CPU seconds of the
process doing the work (``time.process_time``; for the command line, the child's rusage) and, for
a PostgreSQL server this benchmark started, the CPU seconds of the server's processes.

Run: ``.venv/bin/python benchmarks/bench_report.py [--rows N] [--postgres [URL]]``
(writes benchmarks/results/report.txt; ``--postgres`` also times a PostgreSQL ledger: at URL, an
empty database, or without URL on a throw-away server on 127.0.0.1 started here, which needs
``bash scripts/postgres.sh``).
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from llmledger.ledger import LedgerStore, open_store
from llmledger.ledger.report import Report, build_report
from llmledger.ledger.repricing import parse_what_if
from llmledger.ledger.schema import LedgerRow
from llmledger.plans import PlanBook, load_plans
from local_postgres import Server, local_postgres

RESULTS = Path(__file__).parent / "results" / "report.txt"
START = datetime(2026, 10, 1, tzinfo=timezone.utc)
MODELS = [("openai", "gpt-4o"), ("openai", "gpt-4o-mini"), ("openai", "o3"), ("openai", "o4-mini"),
          ("openai", "text-embedding-3-small"), ("openai", "gpt-4.1"), ("anthropic", "claude-sonnet-4-6"),
          ("anthropic", "claude-haiku-4-5"), ("anthropic", "claude-opus-4-6"), ("gcp.gemini", "gemini-2.5-pro"),
          ("gcp.gemini", "gemini-2.5-flash"), ("mistral_ai", "mistral-large-latest")]
FEATURES = ["chat", "summarize", "search", "doc-qa", "analysis", "translate", "classify", "agent"]
PLANS = ("starter", "pro", "business")
WHAT_IF_SPEC = "claude-sonnet-4-6=claude-haiku-4-5"
WHAT_IF = parse_what_if(WHAT_IF_SPEC)


def _plans(customers: int) -> PlanBook:
    return load_plans({"starter": {"monthly_usd": 19, "included_usd": 5, "overage_markup": "1.3"},
                       "pro": {"monthly_usd": 99, "included_tokens": 20_000_000, "overage_usd_per_mtok": 4},
                       "business": {"monthly_usd": 499}},
                      {f"cust-{i:05d}": {"plan": PLANS[i % 3]} for i in range(customers)}, "bench")


def _template() -> LedgerRow:
    return LedgerRow(
        started_at=START, duration_s=1.2, time_to_first_chunk_s=None, trace_id="0" * 32, span_id="0" * 16,
        service_name="bench", provider="openai", operation="chat", request_model="gpt-4o",
        response_model="gpt-4o", response_id="resp", stream=False, service_tier=None, customer_id="c",
        plan="pro", feature="chat", user_id=None, input_tokens=1000, output_tokens=100,
        cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0, reasoning_tokens=0,
        cost_usd=Decimal(0), cost_input_usd=None, cost_output_usd=None, cost_status="priced",
        cost_source="genai-prices 0.2.3", priced_model="gpt-4o", error_type=None)


def fill(store: LedgerStore, rows: int, customers: int, seed: int = 1) -> tuple[Decimal, float, float]:
    """Insert ``rows`` calls; returns the exact sum of their costs, the insert rate (rows/s) and the
    CPU seconds of this process in ``store.insert``."""
    rng = random.Random(seed)
    base = _template()
    total = Decimal(0)
    seconds = 30 * 86_400
    written, elapsed, cpu = 0, 0.0, 0.0
    while written < rows:
        batch = []
        for _ in range(min(50_000, rows - written)):
            customer = rng.randrange(customers)
            provider, model = MODELS[rng.randrange(len(MODELS))]
            tokens_in, tokens_out = rng.randint(100, 60_000), rng.randint(10, 4_000)
            cached = rng.randint(0, tokens_in // 2) if rng.random() < 0.2 else 0
            roll = rng.random()
            if roll < 0.005:
                cost, status, error = None, "unpriced", None
            elif roll < 0.015:
                cost, status, error = None, "no_usage", "RateLimitError"
            else:
                # Exact per-token prices of 1.25..15 $/M: costs with up to 8 decimals.
                cost = (tokens_in * Decimal(rng.choice((125, 250, 300))) + tokens_out *
                        Decimal(rng.choice((1000, 1500)))) / 100_000_000
                status, error = "priced", None
                total += cost
            batch.append(replace(
                base, started_at=START + timedelta(seconds=rng.randrange(seconds)), provider=provider,
                request_model=model, response_model=model, customer_id=f"cust-{customer:05d}",
                plan=PLANS[customer % 3], feature=FEATURES[rng.randrange(len(FEATURES))],
                input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=cached,
                cost_usd=cost, cost_status=status,
                error_type=error))
        started, started_cpu = time.perf_counter(), time.process_time()
        store.insert(batch)
        elapsed += time.perf_counter() - started
        cpu += time.process_time() - started_cpu
        written += len(batch)
    return total, written / elapsed, cpu


def _best(run: Callable[[], Report], server: Server | None, rounds: int = 3) -> tuple[str, Report]:
    """The best and first of ``rounds`` runs: wall seconds, this process's CPU, the server's CPU."""
    runs, report = [], None
    for _ in range(rounds):
        server_cpu = server.server_cpu() if server else 0.0
        started, started_cpu = time.perf_counter(), time.process_time()
        report = run()
        runs.append((time.perf_counter() - started, time.process_time() - started_cpu,
                     server.server_cpu() - server_cpu if server else None))
    assert report is not None
    return f"best {_figures(min(runs))}   first {_figures(runs[0])}", report


def _figures(run: tuple[float, float, float | None]) -> str:
    wall, cpu, server = run
    text = f"{wall:6.3f} s (cpu {cpu:5.3f}"
    return text + (f" + server {server:5.3f})" if server is not None else ")")


def bench(url: str, plans: PlanBook, expected: Decimal, label: str, server: Server | None = None) -> list[str]:
    lines = [f"{label}:"]
    with open_store(url, create=False) as store:
        cases: list[tuple[str, Callable[[], Report]]] = [
            ("by customer (revenue, margin)", lambda: build_report(store, plans, "customer")),
            ("by plan", lambda: build_report(store, plans, "plan")),
            ("by model", lambda: build_report(store, plans, "model")),
            ("by feature", lambda: build_report(store, plans, "feature")),
            ("by day", lambda: build_report(store, plans, "day")),
            ("one customer, by day", lambda: build_report(store, plans, "day", customer="cust-00042")),
            ("one week, by customer", lambda: build_report(
                store, plans, "customer", since=START + timedelta(days=7), until=START + timedelta(days=14))),
            ("by customer + one what-if", lambda: build_report(store, plans, "customer", what_ifs=[WHAT_IF])),
        ]
        for name, run in cases:
            figures, report = _best(run, server)
            if report.customer is None and report.period.days == 30:
                assert report.total.cost == expected, (report.total.cost, expected)
            lines.append(f"  {name:<30} {figures}   ({len(report.rows):,} rows)")
    return lines


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _load() -> str:
    return "/".join(f"{value:.1f}" for value in os.getloadavg())


def bench_postgres(url: str | None, args: argparse.Namespace, plans: PlanBook) -> list[str]:
    if url is None:
        with local_postgres() as server:
            return _postgres(server.url, args, plans, server, "a throw-away server on 127.0.0.1")
    return _postgres(url, args, plans, None, "the given server")


def _postgres(url: str, args: argparse.Namespace, plans: PlanBook, server: Server | None, where: str) -> list[str]:
    with open_store(url) as store:
        if store.count():
            sys.exit(f"{url} already holds calls: give an empty database")
        expected, rate, cpu = fill(store, args.rows, args.customers)
        store._db.execute("VACUUM ANALYZE")  # what autovacuum does after a bulk load
        store._db.execute("CHECKPOINT")
    lines = [f"PostgreSQL ({where}): inserted at {rate:,.0f} rows/s (COPY + rollup upserts, batches of "
             f"50,000; client cpu {cpu / args.rows * 1e6:.1f} us/row)"]
    return lines + bench(url, plans, expected, "PostgreSQL, in process (build_report), cpu = client "
                         "+ server" if server else "PostgreSQL, in process (build_report)", server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=2_000)
    parser.add_argument("--postgres", metavar="URL", nargs="?", const="", help="also time PostgreSQL: this "
                        "empty database, or without URL a throw-away server started here")
    args = parser.parse_args()
    plans = _plans(args.customers)
    out = [f"llmledger report benchmark: {args.rows:,} calls, {args.customers:,} customers, 30 days",
           f"machine: {os.cpu_count()} CPUs, load average (1/5/15 min) {_load()} at start, "
           f"Python {sys.version.split()[0]}", "figures: wall seconds (CPU seconds of the process doing the work)", ""]
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "ledger.db")
        with open_store(path) as store:
            expected, rate, cpu = fill(store, args.rows, args.customers)
        size = sum(p.stat().st_size for p in Path(folder).iterdir()) / 1e6
        out.append(f"SQLite ledger: {size:,.0f} MB on disk, inserted at {rate:,.0f} rows/s (store.insert with "
                   f"rollups, batches of 50,000; cpu {cpu / args.rows * 1e6:.1f} us/row); totals checked exact "
                   "against the generated costs")
        out += bench(path, plans, expected, "SQLite, in process (build_report)")
        config = Path(folder) / "plans.yaml"
        config.write_text("plans: {starter: {monthly_usd: 19, included_usd: 5, overage_markup: 1.3}, pro: "
                          "{monthly_usd: 99, included_tokens: 20000000, overage_usd_per_mtok: 4}, business: "
                          "{monthly_usd: 499}}\n")
        # As installed (pip writes .pyc files): let the child write and reuse bytecode even where
        # PYTHONDONTWRITEBYTECODE is set, so the best of three runs does not compile llmledger again.
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        for name, extra in (("llmledger report (new process)", []),
                            ("  ... --what-if (new process)", ["--what-if", WHAT_IF_SPEC])):
            runs: list[tuple[float, float, float | None]] = []
            for _ in range(3):
                started, started_cpu = time.perf_counter(), _children_cpu()
                subprocess.run([sys.executable, "-m", "llmledger.cli", "report", "--db", path, "--config",
                                str(config), *extra], check=True, stdout=subprocess.DEVNULL, env=env)
                runs.append((time.perf_counter() - started, _children_cpu() - started_cpu, None))
            out.append(f"  {name:<30} best {_figures(min(runs))}   first {_figures(runs[0])}   "
                       "(imports included)")
    if args.postgres is not None:
        out += bench_postgres(args.postgres or None, args, plans)
    out.append(f"load average (1/5/15 min) at the end: {_load()}")
    text = "\n".join(out) + "\n"
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(text, end="")


if __name__ == "__main__":
    main()
