"""A :class:`~llmledger.ledger.report.Report` as plain data for JSON and CSV.

Money and shares are exact decimal strings (``"20.46"``, ``"0.00000015"``), never floats; every
row of one report has the same keys, so a CSV has one header.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from llmledger.ledger.report import Report, ReportBy, ReportRow
    from llmledger.ledger.whatif import WhatIfLine


def plain(value: Decimal | None) -> str | None:
    """Exact decimal text without exponent or trailing zeros (``20.46``, ``0.00000015``)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else plain(round(value, 2))


def row_dict(row: ReportRow, by: ReportBy, *, cache: bool = False, what_if: bool = False) -> dict[str, Any]:
    totals = row.totals
    data: dict[str, Any] = {by: row.key}
    if by == "customer":
        data["plan"] = row.plan
    if by == "plan":
        data["customers"] = row.customers
    data.update(
        calls=totals.calls, input_tokens=totals.input_tokens, output_tokens=totals.output_tokens,
        cache_read_tokens=totals.cache_read_tokens, cache_write_tokens=totals.cache_write_tokens,
        reasoning_tokens=totals.reasoning_tokens, cost_usd=plain(totals.cost),
        unpriced_calls=totals.unpriced_calls, error_calls=totals.error_calls)
    if by in ("customer", "plan"):
        data.update(revenue_usd=plain(row.revenue), base_revenue_usd=plain(row.base_revenue),
                    overage_revenue_usd=plain(row.overage_revenue), margin_usd=plain(row.margin),
                    margin_pct=_pct(row.margin_pct), unprofitable=row.unprofitable)
    if by == "customer":
        advice = row.advice
        data.update(included_tokens=row.allowance, included_usd=plain(row.included_usd),
                    over_allowance=row.over_allowance,
                    plan_advice=None if advice is None else (advice.plan or "none of the plans"),
                    plan_advice_revenue_usd=None if advice is None else plain(advice.revenue),
                    plan_advice_margin_usd=None if advice is None else plain(advice.margin))
    if cache:
        data.update(cache_savings_usd=plain(row.cache.usd) if row.cache else None,
                    cache_read_share_pct=_pct(row.cache_read_share))
    if what_if:
        line = row.what_if
        data.update(what_if_calls=line.calls if line else 0,
                    what_if_cost_now_usd=plain(line.cost_now if line else Decimal(0)),
                    what_if_cost_if_usd=plain(line.cost_if if line else Decimal(0)),
                    what_if_saving_usd=plain(line.saving if line else Decimal(0)))
        if by == "customer":
            data["what_if_margin_if_usd"] = plain(line.margin_if if line else row.margin)
    return data


def what_if_line_dict(line: WhatIfLine, name: str) -> dict[str, Any]:
    data: dict[str, Any] = {name: line.key, "calls": line.calls, "cost_now_usd": plain(line.cost_now),
                            "cost_if_usd": plain(line.cost_if), "saving_usd": plain(line.saving)}
    if line.margin_if is not None or name == "customer":
        data["margin_if_usd"] = plain(line.margin_if)
    return data


def report_dict(report: Report) -> dict[str, Any]:
    from llmledger.ledger.report import NO_FEATURE, REVENUE_BASIS, UNATTRIBUTED

    cache, what_if = report.cache is not None, report.what_if is not None
    data: dict[str, Any] = {
        "ledger": report.ledger, "by": report.by, "customer": report.customer,
        "period": {"since": report.period.since.isoformat(), "until": report.period.until.isoformat(),
                   "days": plain(report.period.days), "months": plain(report.period.months)},
        "revenue_basis": REVENUE_BASIS if report.has_revenue else None,
        "rows": [row_dict(row, report.by, cache=cache, what_if=what_if) for row in report.rows],
        "total": row_dict(report.total, report.by, cache=cache, what_if=what_if),
    }
    if report.cache is not None:
        found = report.cache
        data["cache_savings"] = {
            "basis": "cached input tokens at the model's plain input rate minus their cache-read rate, "
                     "at today's prices",
            "by_customer": [{"customer": key or UNATTRIBUTED, "cache_read_tokens": saving.cache_read_tokens,
                             "savings_usd": plain(saving.usd)} for key, saving in sorted(
                                 found.by_customer.items(), key=lambda item: (-item[1].usd, item[0] or ""))],
            "by_feature": [{"feature": key or NO_FEATURE, "cache_read_tokens": saving.cache_read_tokens,
                            "savings_usd": plain(saving.usd)} for key, saving in sorted(
                                found.by_feature.items(), key=lambda item: (-item[1].usd, item[0] or ""))],
            "total_usd": plain(sum((s.usd for s in found.by_customer.values()), Decimal(0))),
            "unpriced_calls": found.unpriced_calls,
        }
    if report.what_if is not None:
        result = report.what_if
        data["what_if"] = {
            "specs": result.labels,
            "basis": "the recorded tokens of the matching priced calls at the target model's current rates",
            "by_customer": [what_if_line_dict(line, "customer") for line in sorted(
                result.by_customer.values(), key=lambda line: (-line.saving, line.key or ""))],
            "by_feature": [what_if_line_dict(line, "feature") for line in sorted(
                result.by_feature.values(), key=lambda line: (-line.saving, line.key or ""))],
            "total": what_if_line_dict(result.total, "total"),
            "too_large_calls": result.too_large_calls,
        }
    return data
