"""``llmledger report``: cost, revenue and margin per customer (or plan, model, feature, day).

Reads the ledger (``--db``, else the configured ``ledger``, else ``llmledger.db``) and the plans
in the config file; unprofitable customers come first, flagged. Table for people, CSV and JSON
(exact decimal strings) for machines.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TextIO

from llmledger.cli import render
from llmledger.cli.render import Column, Style
from llmledger.cli.report_html import html_reports, render_html
from llmledger.cli.report_sections import money_columns, sections
from llmledger.cli.safe_text import csv_cell, table_cell
from llmledger.config import Config, load_config
from llmledger.errors import LLMLedgerError
from llmledger.ledger import LedgerNotFound, open_store
from llmledger.ledger.report import REPORT_BY, REVENUE_BASIS, Report, ReportRow, build_report
from llmledger.ledger.report_data import row_dict
from llmledger.ledger.repricing import WhatIf, WhatIfError, parse_what_if

DEFAULT_LEDGER = "llmledger.db"
BAR_WIDTH = 20


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report", help="cost, revenue and margin per customer from the ledger",
        description="Cost, revenue and margin per customer (or plan, model, feature, day) from the "
                    "local ledger. " + REVENUE_BASIS + ".")
    parser.add_argument("--db", metavar="URL", help="ledger path or postgresql:// URL (default: the "
                        f"configured ledger, LLMLEDGER_LEDGER, else {DEFAULT_LEDGER})")
    parser.add_argument("--config", metavar="FILE", help="config file with plans: and customers: "
                        "(default: LLMLEDGER_CONFIG, else ./llmledger.yaml if present)")
    parser.add_argument("--by", choices=REPORT_BY, default="customer", help="group by (default customer)")
    parser.add_argument("--since", type=parse_time, metavar="DATE",
                        help="from this UTC date or time, inclusive (YYYY-MM-DD or ISO 8601)")
    parser.add_argument("--until", type=parse_time, metavar="DATE",
                        help="up to this UTC date or time, exclusive")
    parser.add_argument("--month", type=parse_month, metavar="YYYY-MM",
                        help="one calendar month (instead of --since/--until)")
    parser.add_argument("--customer", metavar="ID", help="only this customer")
    parser.add_argument("--what-if", dest="what_if", action="append", type=_what_if, default=[],
                        metavar="[FEATURE:]FROM=TO",
                        help="re-price FROM's recorded tokens at model TO's current rates (only the "
                        "calls of FEATURE if given); may be repeated")
    parser.add_argument("--format", choices=("table", "csv", "json", "html"), default="table",
                        help="html: one self-contained page (inline CSS and SVG, no network)")
    parser.add_argument("--limit", type=int, metavar="N", help="table: show only the first N rows")
    parser.set_defaults(func=run)


def _what_if(text: str) -> WhatIf:
    try:
        return parse_what_if(text)
    except WhatIfError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def parse_time(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD or an ISO 8601 time, got {text!r}") from None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def parse_month(text: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(text.strip(), "%Y-%m").replace(tzinfo=timezone.utc)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM, got {text!r}") from None
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def run(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    since, until = args.since, args.until
    if args.month is not None:
        if since is not None or until is not None:
            print("llmledger report: error: --month cannot be combined with --since/--until",
                  file=sys.stderr)
            return 2
        since, until = args.month
    try:
        config = load_config(args.config)
        with open_store(args.db or config.ledger or DEFAULT_LEDGER, create=False) as store:
            report = build_report(store, config.plans, args.by, since=since, until=until,
                                  customer=args.customer, what_ifs=args.what_if,
                                  overrides=config.price_overrides)
            if args.format == "html":
                pages = html_reports(store, config.plans, report, config.price_overrides)
    except LedgerNotFound as exc:
        print(f"llmledger report: {exc}. Point --db at your ledger (the `ledger:` setting of your "
              "app), or run `llmledger demo` to create one.", file=sys.stderr)
        return 2
    except LLMLedgerError as exc:
        print(f"llmledger report: error: {exc}", file=sys.stderr)
        return 2
    if args.format == "json":
        json.dump(report.to_dict(), out, indent=2)
        out.write("\n")
    elif args.format == "csv":
        out.write(to_csv(report))
    elif args.format == "html":
        out.write(render_html(pages))
    else:
        out.write(format_report(report, Style.for_stream(out), limit=args.limit, config=config) + "\n")
    return 0


def to_csv(report: Report) -> str:
    """One line per row (no total line: a spreadsheet sums the columns itself)."""
    flags = {"cache": report.cache is not None, "what_if": report.what_if is not None}
    rows = [{key: csv_cell(value) for key, value in row_dict(row, report.by, **flags).items()}
            for row in report.rows]
    fields = list(row_dict(report.total, report.by, **flags))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


# ---- the table -------------------------------------------------------------------------------------
def _period_text(report: Report, style: Style) -> str:
    period = report.period
    if period.since.time() == period.until.time() == datetime.min.time():
        last = period.until - timedelta(days=1)
        span = f"{period.since:%Y-%m-%d} {style.arrow} {last:%Y-%m-%d}"
    else:
        span = f"{period.since:%Y-%m-%d %H:%M} {style.arrow} {period.until:%Y-%m-%d %H:%M} UTC"
    days = render.plain_number(period.days)
    return f"{span} ({days} {'day' if days == '1' else 'days'})"


def _cost(row: ReportRow) -> str:
    """The cost; ``*`` marks a cost that leaves out calls with no known price."""
    return render.money(row.cost) + ("*" if row.totals.unpriced_calls else "")


def _cost_bar(row: ReportRow, style: Style) -> str:
    if row.revenue is None:
        return ""
    if row.revenue == 0:
        return (render.bar(1, BAR_WIDTH, style, overflow=True) + " free plan") if row.cost else ""
    ratio = row.cost / row.revenue
    return f"{render.bar(float(ratio), BAR_WIDTH, style, overflow=ratio > 1)} {ratio * 100:.0f}%"


def _money_rows(report: Report, rows: list[ReportRow], style: Style) -> tuple[list[Column], list[list[str]],
                                                                            list[str]]:
    first = "customer" if report.by == "customer" else "plan"
    second = Column("plan", "left") if report.by == "customer" else Column("customers")
    extras = money_columns(report)
    columns = [Column("", "left"), Column(first, "left"), second, Column("calls"), Column("tokens"),
               Column("cost"), *(column for column, _ in extras), Column("revenue"), Column("margin"),
               Column("margin %"), Column("cost / revenue", "left")]

    def cells(row: ReportRow, flag: str, middle: str, bar: str) -> list[str]:
        return [flag, row.key, middle, render.integer(row.totals.calls), render.tokens(row.totals.tokens),
                _cost(row), *(cell(row) for _, cell in extras), render.money(row.revenue),
                render.money(row.margin), render.percent(row.margin_pct), bar]

    body = [cells(row, "!" if row.unprofitable else "",
                  (row.plan or "—") if report.by == "customer" else str(row.customers or 0),
                  _cost_bar(row, style)) for row in rows]
    return columns, body, cells(report.total, "", "", "")


def _usage_rows(report: Report, rows: list[ReportRow], style: Style) -> tuple[list[Column], list[list[str]],
                                                                            list[str]]:
    largest = max((row.cost for row in report.rows), default=Decimal(0))
    total_cost = report.total.cost
    show_unpriced = report.total.totals.unpriced_calls > 0
    show_errors = report.total.totals.error_calls > 0
    extras = money_columns(report)
    columns = [Column(report.by, "left"), Column("calls"), Column("input"), Column("output"),
               Column("cost"), *(column for column, _ in extras), Column("share")]
    columns += [Column("unpriced")] * show_unpriced + [Column("errors")] * show_errors
    columns.append(Column("cost", "left"))

    def cells(row: ReportRow, with_bar: bool) -> list[str]:
        totals = row.totals
        share = row.cost * 100 / total_cost if total_cost else None
        values = [row.key, render.integer(totals.calls), render.tokens(totals.input_tokens),
                  render.tokens(totals.output_tokens), _cost(row), *(cell(row) for _, cell in extras),
                  render.percent(share)]
        values += [render.integer(totals.unpriced_calls)] * show_unpriced
        values += [render.integer(totals.error_calls)] * show_errors
        fraction = float(row.cost / largest) if largest else 0.0
        values.append(render.bar(fraction, BAR_WIDTH, style) if with_bar else "")
        return values

    return columns, [cells(row, True) for row in rows], cells(report.total, False)


def format_report(report: Report, style: Style, *, limit: int | None = None,
                  config: Config | None = None, title: str | None = None) -> str:
    rows = report.rows[:limit] if limit is not None else report.rows
    dot = "·" if style.unicode else "-"
    if title is None:
        title = f"llmledger report {dot} {table_cell(report.ledger, 120)} {dot} {_period_text(report, style)}"
        if report.customer:
            title += f" {dot} customer {table_cell(report.customer)}"
    lines = [style.bold(title)]
    if report.has_revenue:
        lines.append(style.dim(REVENUE_BASIS))
        columns, body, footer = _money_rows(report, rows, style)
    else:
        columns, body, footer = _usage_rows(report, rows, style)
    lines += ["", render.table(columns, body, footer=footer, style=style,
                               highlight=[row.unprofitable for row in rows])]
    if limit is not None and len(report.rows) > limit:
        lines.append(style.dim(f"... {len(report.rows) - limit} more row(s); use --limit to see more"))
    blocks, notes = sections(report, style)
    if blocks:
        lines += ["", *blocks]
    lines += ["", *_notes(report, config), *notes]
    return "\n".join(lines).rstrip()


def _allowance_used(row: ReportRow) -> int:
    if row.allowance is not None:
        return row.totals.tokens * 100 // (row.allowance or 1)
    return int(row.cost * 100 // (row.included_usd or 1))


def _notes(report: Report, config: Config | None) -> list[str]:
    notes = []
    losing = report.unprofitable
    if losing:
        noun = report.by if len(losing) == 1 else f"{report.by}s"
        details = ", ".join(f"{table_cell(row.key)} ({render.money(row.margin)})" for row in losing[:5])
        notes.append(f"{len(losing)} unprofitable {noun} at list prices: {details}"
                     + (" ..." if len(losing) > 5 else ""))
    for unit in ("tokens", "USD"):
        over = [row for row in report.rows
                if row.over_allowance and (row.allowance is not None) == (unit == "tokens")]
        if over:
            details = ", ".join(f"{table_cell(row.key)} ({_allowance_used(row)}%)" for row in over[:5])
            notes.append(f"over their plan's included {unit}: {details}")
    unpriced = report.total.totals.unpriced_calls
    if unpriced:
        notes.append(f"* {render.integer(unpriced)} call(s) to models with no known price are NOT in "
                     "the cost (see --by model; add their price under `pricing:` in the config)")
    if report.has_revenue and report.total.revenue is None:
        where = f" in {config.config_file}" if config is not None and config.config_file else ""
        notes.append(f"no revenue known{where}: configure plans: and customers: (see --config) to see "
                     "margins")
    return notes
