"""The report table's optional parts: overage and cache columns, what-if tables, plan advice.

Each part shows only when it has something to say (a plan bills overage, calls read the cache, a
``--what-if`` was asked), so a plain report looks as before.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from llmledger.cli import render
from llmledger.cli.render import Column, Style
from llmledger.ledger.report import NO_FEATURE, UNATTRIBUTED, Report, ReportRow
from llmledger.ledger.whatif import WhatIfLine

Cell = Callable[[ReportRow], str]


def money_columns(report: Report) -> list[tuple[Column, Cell]]:
    """Columns after ``cost``: base and overage revenue when any overage is billed, cache savings
    when any call read the cache."""
    extras: list[tuple[Column, Cell]] = []
    if report.has_revenue and report.total.overage_revenue:
        extras.append((Column("base"), lambda row: render.money(row.base_revenue)))
        extras.append((Column("overage"), lambda row: render.money(row.overage_revenue)))
    total_cache = report.total.cache
    if total_cache is not None and total_cache.usd:
        extras.append((Column("cache saved"), lambda row: render.money(row.cache.usd) if row.cache else "—"))
        extras.append((Column("cached in"), lambda row: render.percent(row.cache_read_share)))
    return extras


def _what_if_table(lines: list[WhatIfLine], title: str, style: Style, *, margins: bool) -> str:
    columns = [Column(title, "left"), Column("calls"), Column("cost now"), Column("cost if"),
               Column("saving")] + [Column("margin if")] * margins
    empty = UNATTRIBUTED if title == "customer" else NO_FEATURE

    def cells(line: WhatIfLine, name: str | None) -> list[str]:
        values = [name or empty, render.integer(line.calls), render.money(line.cost_now),
                  render.money(line.cost_if), render.money(line.saving)]
        return values + [render.money(line.margin_if)] * margins

    ordered = sorted(lines, key=lambda line: (-line.saving, line.key or ""))
    total = WhatIfLine("total")
    for line in ordered:
        total.add(line.calls, line.cost_now, line.cost_if)
    return render.table(columns, [cells(line, line.key) for line in ordered],
                        footer=cells(total, "total")[:5] + [""] * margins, style=style)


def what_if_section(report: Report, style: Style) -> list[str]:
    result = report.what_if
    if result is None:
        return []
    lines = [style.bold(f"What if: {', '.join(result.labels)}"),
             style.dim("the recorded tokens of the matching priced calls at the target's current rates")]
    if not result.total.calls:
        return [*lines, "no priced call matches (check the model ids with --by model)"]
    lines += ["", _what_if_table(list(result.by_customer.values()), "customer", style, margins=True),
              "", _what_if_table(list(result.by_feature.values()), "feature", style, margins=False)]
    if result.too_large_calls:
        lines.append(f"{render.integer(result.too_large_calls)} call(s) with prompts larger than the "
                     "target has rates for kept their current cost")
    return lines


def advice_notes(report: Report) -> list[str]:
    advised = [row for row in report.rows if row.advice is not None]
    if not advised:
        return []
    parts = []
    for row in advised[:8]:
        advice = row.advice
        assert advice is not None
        if advice.plan is None:
            parts.append(f"{row.key}: none of the plans")
        elif advice.plan == row.plan:
            parts.append(f"{row.key}: stays on {advice.plan} (margin {render.money(advice.margin)})")
        else:
            parts.append(f"{row.key}: {advice.plan} ({render.money(advice.revenue)}, margin "
                         f"{render.money(advice.margin)})")
    more = " ..." if len(advised) > 8 else ""
    return ["plan advice (cheapest plan with a margin >= 0 for this usage): " + "; ".join(parts) + more]


def cache_notes(report: Report) -> list[str]:
    cache = report.cache
    if cache is None or report.by != "customer":
        return []
    features = sorted(((key, saving) for key, saving in cache.by_feature.items() if saving.usd),
                      key=lambda item: -item[1].usd)
    if not features:
        return []
    total = sum((saving.usd for _, saving in features), Decimal(0))
    details = ", ".join(f"{key or NO_FEATURE} {render.money(saving.usd)}" for key, saving in features[:5])
    return [f"prompt caching saved {render.money(total)} at today's prices: {details}"]


def sections(report: Report, style: Style) -> tuple[list[str], list[str]]:
    """Extra blocks after the table, and extra notes."""
    return what_if_section(report, style), advice_notes(report) + cache_notes(report)
