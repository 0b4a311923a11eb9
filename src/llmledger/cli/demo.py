"""``llmledger demo``: simulate a month of a small SaaS offline and print who is profitable.

No API key, no network, no collector: a local fake provider answers the real OpenAI and Anthropic
SDKs, llmledger instruments them and writes the ledger, and the report is printed at the end.
Needs the openai SDK; without the anthropic SDK the Claude workloads run on OpenAI models.
Exit status 1 when calls failed other than the scenario's scripted rate limits, 2 when the demo
cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import sys
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from llmledger.cli.doctor import endpoint_address
from llmledger.cli.render import Style, integer
from llmledger.cli.report import format_report, parse_month
from llmledger.cli.report_html import html_reports, render_html
from llmledger.demo import DEFAULT_LEDGER, INSTALL_HINT, DemoOptions, DemoResult, run_demo
from llmledger.demo.driver import anthropic_available, openai_available
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
    parser.add_argument("--openai-only", action="store_true",
                        help="call only the OpenAI SDK, even when the anthropic SDK is installed "
                        "(the Claude workloads run on OpenAI models)")
    # Tests: send the calls elsewhere (e.g. a closed port, to see failures reported as they are).
    parser.add_argument("--provider-url", help=argparse.SUPPRESS)
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
    if not openai_available():
        err.write(f"llmledger demo: error: the demo calls the OpenAI SDK, which is not installed: "
                  f"{INSTALL_HINT}\n")
        return 2
    use_anthropic = anthropic_available() and not getattr(args, "openai_only", False)
    endpoint = _reachable_endpoint(args, err)
    options = DemoOptions(ledger=args.ledger, month=args.month[0].date() if args.month else None,
                          seed=args.seed, workers=args.workers, otlp_endpoint=endpoint,
                          otlp_protocol=args.otlp_protocol, anthropic=use_anthropic,
                          provider_url=getattr(args, "provider_url", None))
    style = Style.for_stream(out)
    if args.format == "table":
        out.write(_intro(endpoint, use_anthropic) + "\n")
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
    status = 1 if result.unexpected_failures else 0
    if result.calls and result.failed_calls == result.calls:
        err.write(f"llmledger demo: error: all {integer(result.calls)} calls failed "
                  f"({_failures(result)}); no report, since nothing was answered\n")
        return 1
    if args.format == "json":
        summary = {**_summary(result), "html_report": str(html_path)}
        json.dump({"demo": summary, "report": by_customer.to_dict()}, out, indent=2)
        out.write("\n")
        return status
    out.write(_outcome(result, style) + "\n\n")
    out.write(format_report(by_customer, style) + "\n\n")
    out.write(format_report(by_feature, style, title="Where the money goes, by feature") + "\n\n")
    out.write(f"The same report as one web page (open it in a browser, or e-mail it): {html_path}\n\n")
    out.write(_next_steps(result, by_customer) + "\n")
    if endpoint:
        out.write(_otlp_note(endpoint, result) + "\n")
    if status:
        err.write(f"llmledger demo: {integer(result.unexpected_failures)} call(s) failed unexpectedly "
                  f"({_failures(result)}): the report above misses their cost\n")
    return status


def _write_html(store: LedgerStore, result: DemoResult, by_customer: Report) -> Path:
    """The HTML report next to the ledger: ``llmledger-demo.db`` -> ``llmledger-demo.html``."""
    ledger = result.ledger
    folder_of = Path(result.config_file) if is_postgres(ledger) else sqlite_path(ledger)
    path = folder_of.with_suffix(".html").resolve()
    path.write_text(render_html(html_reports(store, result.plans, by_customer)), encoding="utf-8")
    return path


def _intro(endpoint: str | None, use_anthropic: bool) -> str:
    plans = ", ".join(f"{name} ${spec['monthly_usd']}" for name, spec in PLANS.items())
    sdks = "OpenAI and Anthropic through their real SDKs" if use_anthropic else (
        "OpenAI through its real SDK (only: the Claude workloads run on OpenAI models)")
    lines = [f"llmledger demo: one simulated month of a small SaaS with {len(CUSTOMERS)} customers "
             f"({plans} a month),",
             f"calling {sdks}, instrumented by llmledger, "
             "answered by a local fake provider (no API key, no network)."]
    if endpoint:
        lines.append(f"Spans and metrics also go to the collector at {endpoint}.")
    return "\n".join(lines)


def _failures(result: DemoResult) -> str:
    return ", ".join(f"{what}: {integer(count)}" for what, count in sorted(
        result.failures.items(), key=lambda item: -item[1]))


def _outcome(result: DemoResult, style: Style) -> str:
    arrow = style.arrow
    failed = ""
    if result.failed_calls:
        scripted = " as the scenario scripts" if not result.unexpected_failures else ""
        failed = f" ({integer(result.failed_calls)} failed{scripted}: {_failures(result)})"
    lines = [f"Recorded {integer(result.calls)} calls{failed} in {result.seconds:.1f} s {arrow} "
             f"{redact(result.ledger)} (plans in {result.config_file})"]
    if not result.used_anthropic:
        why = "not called (--openai-only)" if anthropic_available() else "not installed"
        lines.append(f"Note: the anthropic SDK is {why}, so the Claude workloads ran on OpenAI "
                     f"models (summaries on {result.power_user_model[1]}); for the full demo: "
                     f"{INSTALL_HINT}.")
    if result.dropped:
        lines.append(f"Warning: the ledger dropped records: {result.dropped}")
    return "\n".join(lines)


_MODEL_NAMES = {"claude-sonnet-4-6": "Claude Sonnet 4.6", "gpt-5.5": "GPT-5.5"}


def cli_command() -> str:
    """How to run ``llmledger`` from here: the bare name when it is on PATH (and is this very
    installation), else the path of this environment's script, else ``python -m llmledger``."""
    script = Path(sys.prefix) / "bin" / "llmledger"
    on_path = shutil.which("llmledger")
    if on_path and script.exists() and Path(on_path).resolve() == script.resolve():
        return "llmledger"
    if script.exists():
        here = Path.cwd()
        inside = here != Path(here.anchor) and script.is_relative_to(here)
        return str(script.relative_to(here)) if inside else str(script)
    python = shutil.which("python")
    same = python is not None and Path(python).resolve() == Path(sys.executable).resolve()
    return f"{'python' if same else sys.executable} -m llmledger"


def _summary_price(result: DemoResult) -> Decimal | None:
    """The cost of one of the power user's summaries (50,000 tokens in, 1,000 out) in this run."""
    from llmledger.pricing import Pricer
    from llmledger.usage import Usage

    provider, model = result.power_user_model
    usage = Usage(input_tokens=50_000, output_tokens=1_000)
    return Pricer().price(provider, model, usage, at=result.since).total


def _next_steps(result: DemoResult, report: Report) -> str:
    base = f"{cli_command()} report --db {redact(result.ledger)} --config {result.config_file}"
    month = f"{result.since:%Y-%m}"
    power = next((row for row in report.rows if row.key == POWER_USER), None)
    lines = []
    if power is not None and power.unprofitable:
        model, each = result.power_user_model[1], _summary_price(result)
        per_summary = f"${each.normalize():f} a summary, " if each is not None else ""
        lines.append(f"{POWER_USER} pays ${power.revenue} a month and summarises a 50,000-token contract "
                     f"four times a day with {_MODEL_NAMES.get(model, model)}: "
                     f"{per_summary}${power.cost:.2f} this month.")
    lines += ["Look closer:",
              f"  {base} --month {month} --by model",
              f"  {base} --month {month} --customer {POWER_USER} --by day",
              f"  {base} --month {month} --format csv > margins.csv"]
    return "\n".join(lines)


def _otlp_note(endpoint: str, result: DemoResult) -> str:
    now = datetime.now(timezone.utc)
    return (f"Sent to {endpoint}: spans and metrics carry the time they were made (the last "
            f"{result.seconds:.0f} s, up to {now:%Y-%m-%d %H:%M} UTC), not the simulated days: in Grafana "
            "pick a recent time range (e.g. the last 15 minutes). The dashboards' month-to-date "
            "panels count this run's cost in the current real month, and every run adds its own: "
            "after two runs they show two simulated months. The ledger and the report above hold the "
            "simulated month alone.")


def _summary(result: DemoResult) -> dict[str, Any]:
    return {"ledger": redact(result.ledger), "config_file": str(result.config_file), "calls": result.calls,
            "failed_calls": result.failed_calls, "failures": result.failures,
            "unexpected_failures": result.unexpected_failures, "seconds": round(result.seconds, 2),
            "used_anthropic": result.used_anthropic, "dropped": result.dropped,
            "month": f"{result.since:%Y-%m}"}
