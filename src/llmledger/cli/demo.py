"""``llmledger demo``: simulate a month of a small SaaS offline and print who is profitable.

No API key, no network, no collector: a local fake provider answers the real OpenAI and Anthropic
SDKs, llmledger instruments them and writes the ledger, and the report is printed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any, TextIO

from llmledger.cli.doctor import endpoint_address
from llmledger.cli.render import Style, integer
from llmledger.cli.report import format_report, parse_month
from llmledger.cli.report_html import html_reports, render_html
from llmledger.demo import DEFAULT_LEDGER, DemoOptions, DemoResult, run_demo
from llmledger.demo.scenario import CUSTOMERS, PLANS, POWER_USER
from llmledger.errors import LLMLedgerError
from llmledger.ledger import LedgerStore, is_postgres, open_store, redact, sqlite_path
from llmledger.ledger.report import Report, build_report


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="simulate a month of a small SaaS offline and report cost and margin per customer",
        description=(__doc__ or "").replace("``", ""), formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ledger", default=DEFAULT_LEDGER, metavar="PATH",
                        help=f"ledger to write (default {DEFAULT_LEDGER}; a previous demo ledger is "
                        "replaced)")
    parser.add_argument("--month", type=parse_month, metavar="YYYY-MM",
                        help="month to simulate (default: the last complete month of 30 or 31 days)")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the simulation (default 7)")
    parser.add_argument("--workers", type=int, default=4, help="concurrent calls (default 4)")
    parser.add_argument("--otlp-endpoint", metavar="URL",
                        help="also export spans and metrics to this collector (default: "
                        "OTEL_EXPORTER_OTLP_ENDPOINT, if set)")
    parser.add_argument("--otlp-protocol", choices=("grpc", "http/protobuf"),
                        default=os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"))
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.set_defaults(func=run)


def _reachable_endpoint(args: argparse.Namespace, err: TextIO) -> str | None:
    endpoint = args.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    try:
        host, port = endpoint_address(endpoint, args.otlp_protocol)
        with socket.create_connection((host, port), timeout=1):
            return str(endpoint)
    except (OSError, ValueError) as exc:
        # Exporters retrying an absent collector would stall the demo's exit for many seconds.
        err.write(f"llmledger demo: OTLP endpoint {endpoint} is not reachable ({exc}); running without "
                  "it (start the collector, or check with `llmledger doctor`)\n")
        return None


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    endpoint = _reachable_endpoint(args, err)
    options = DemoOptions(ledger=args.ledger, month=args.month[0].date() if args.month else None,
                          seed=args.seed, workers=args.workers, otlp_endpoint=endpoint,
                          otlp_protocol=args.otlp_protocol)
    style = Style.for_stream(out)
    if args.format == "table":
        out.write(_intro(endpoint) + "\n")
        out.flush()
    try:
        result = run_demo(options, progress=err)
        with open_store(result.ledger, create=False) as store:
            by_customer = build_report(store, result.plans, "customer", since=result.since,
                                       until=result.until)
            by_feature = build_report(store, result.plans, "feature", since=result.since,
                                      until=result.until)
            html_path = _write_html(store, result, by_customer)
    except LLMLedgerError as exc:
        err.write(f"llmledger demo: error: {exc}\n")
        return 2
    if args.format == "json":
        summary = {**_summary(result), "html_report": str(html_path)}
        json.dump({"demo": summary, "report": by_customer.to_dict()}, out, indent=2)
        out.write("\n")
        return 0
    out.write(_outcome(result, style) + "\n\n")
    out.write(format_report(by_customer, style) + "\n\n")
    out.write(format_report(by_feature, style, title="Where the money goes, by feature") + "\n\n")
    out.write(_next_steps(result, by_customer) + "\n")
    out.write(f"\nThe same report as one web page (open it in a browser, or e-mail it): {html_path}\n")
    return 0


def _write_html(store: LedgerStore, result: DemoResult, by_customer: Report) -> Path:
    """The HTML report next to the ledger: ``llmledger-demo.db`` -> ``llmledger-demo.html``."""
    ledger = result.ledger
    path = (Path(result.config_file) if is_postgres(ledger) else sqlite_path(ledger)).with_suffix(".html").resolve()
    path.write_text(render_html(html_reports(store, result.plans, by_customer)), encoding="utf-8")
    return path


def _intro(endpoint: str | None) -> str:
    plans = ", ".join(f"{name} ${spec['monthly_usd']}" for name, spec in PLANS.items())
    lines = [f"llmledger demo: one simulated month of a small SaaS with {len(CUSTOMERS)} customers "
             f"({plans} a month),",
             "calling OpenAI and Anthropic through their real SDKs, instrumented by llmledger, "
             "answered by a local fake provider (no API key, no network)."]
    if endpoint:
        lines.append(f"Spans and metrics also go to the collector at {endpoint}.")
    return "\n".join(lines)


def _outcome(result: DemoResult, style: Style) -> str:
    arrow = style.arrow
    failed = f" ({integer(result.failed_calls)} answered with a rate-limit error)" if result.failed_calls else ""
    lines = [f"Recorded {integer(result.calls)} calls{failed} in {result.seconds:.1f} s {arrow} "
             f"{redact(result.ledger)} (plans in {result.config_file})"]
    if not result.used_anthropic:
        lines.append("Note: the anthropic SDK (or its llmledger adapter) is missing, so the Claude "
                     "workloads ran on GPT-4o: pip install 'llmledger[anthropic]' for the full demo.")
    if result.dropped:
        lines.append(f"Warning: the ledger dropped records: {result.dropped}")
    return "\n".join(lines)


def _next_steps(result: DemoResult, report: Report) -> str:
    base = f"llmledger report --db {redact(result.ledger)} --config {result.config_file}"
    month = f"{result.since:%Y-%m}"
    power = next((row for row in report.rows if row.key == POWER_USER), None)
    lines = []
    if power is not None and power.unprofitable:
        lines.append(f"{POWER_USER} pays ${power.revenue} a month and summarises a 50,000-token contract "
                     "four times a day with Claude Sonnet 4.6: $0.165 a summary, "
                     f"${power.cost:.2f} this month.")
    lines += ["Look closer:",
              f"  {base} --month {month} --by model",
              f"  {base} --month {month} --customer {POWER_USER} --by day",
              f"  {base} --month {month} --format csv > margins.csv"]
    return "\n".join(lines)


def _summary(result: DemoResult) -> dict[str, Any]:
    return {"ledger": redact(result.ledger), "config_file": str(result.config_file), "calls": result.calls,
            "failed_calls": result.failed_calls, "seconds": round(result.seconds, 2),
            "used_anthropic": result.used_anthropic, "dropped": result.dropped,
            "month": f"{result.since:%Y-%m}"}
