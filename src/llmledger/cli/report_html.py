"""``llmledger report --format html``: one self-contained page a founder can open or e-mail.

Inline CSS and inline SVG charts, no script, no font, no image and no link to anything outside the
file; a Content-Security-Policy meta tag forbids any request, so even a mail client that would
follow one cannot. Every figure cell carries its exact value in ``data-value`` (the JSON report's
decimal string) next to the rounded text, so the page can be checked against the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from html import escape

from llmledger.cli import render
from llmledger.ledger.plans import PlanBook
from llmledger.ledger.report import NO_FEATURE, UNATTRIBUTED, Report, ReportBy, ReportRow, build_report
from llmledger.ledger.report_data import plain
from llmledger.ledger.store import LedgerStore
from llmledger.pricing.overrides import PriceOverrides

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; base-uri 'none'"
CHART_ROWS = 20
_CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1100px;
color:#1d2433;padding:0 1em}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #dde}
.sub{color:#667}.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #dde;border-radius:8px;padding:.7em 1em;min-width:150px}
.card b{display:block;font-size:1.4em}.loss{color:#c0392b}.gain{color:#1e8449}
table{border-collapse:collapse;width:100%;margin:.5em 0}th,td{padding:.25em .6em;text-align:right;
border-bottom:1px solid #eef}th{background:#f5f6fa}td.k,th.k{text-align:left}
tr.unprofitable td{background:#fdecea}svg{max-width:100%;height:auto}.note{color:#556;font-size:.92em}
"""


@dataclass(frozen=True, slots=True)
class Pages:
    """The reports one HTML page shows."""

    customers: Report
    features: Report
    models: Report
    days: Report


def html_reports(store: LedgerStore, plans: PlanBook, customers: Report,
                 overrides: PriceOverrides | None = None) -> Pages:
    """The feature, model and day reports over the customer report's period."""
    period = customers.period

    def other(by: ReportBy) -> Report:
        return build_report(store, plans, by, since=period.since, until=period.until,
                            customer=customers.customer, overrides=overrides,
                            with_cache=by != "day", known_cache=customers.cache)

    return Pages(customers, other("feature"), other("model"), other("day"))


def _num(value: Decimal | int | None, field: str, text: str | None = None, css: str = "") -> str:
    exact = "" if value is None else (str(value) if isinstance(value, int) else plain(value) or "")
    shown = text if text is not None else (render.money(value) if isinstance(value, Decimal) or value is None
                                           else render.integer(value))
    klass = f' class="{css}"' if css else ""
    return f'<td data-field="{field}" data-value="{escape(exact)}"{klass}>{escape(shown)}</td>'


def _key(text: str, field: str) -> str:
    return f'<td class="k" data-field="{field}">{escape(text)}</td>'


def _table(headers: list[str], rows: list[str], total: str | None = None, table_id: str = "") -> str:
    head = "".join(f'<th class="k">{escape(h)}</th>' if i == 0 else f"<th>{escape(h)}</th>"
                   for i, h in enumerate(headers))
    foot = f"<tfoot>{total}</tfoot>" if total else ""
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody>'
            f"{foot}</table>")


def bar_chart(items: list[tuple[str, list[Decimal]]], series: list[tuple[str, str]], title: str) -> str:
    """Horizontal bars, one group per item, one bar per series (name, colour)."""
    items = items[:CHART_ROWS]
    if not items:
        return ""
    largest = max((value for _, values in items for value in values), default=Decimal(0)) or Decimal(1)
    label_w, bar_w, row_h, bar_h = 240, 600, 10 + 14 * len(series), 12
    height = 30 + row_h * len(items)
    parts = [f'<svg role="img" aria-label="{escape(title)}" '
             f'viewBox="0 0 {label_w + bar_w + 110} {height}" width="{label_w + bar_w + 110}">']
    for index, (name, colour) in enumerate(series):
        parts.append(f'<rect x="{label_w + index * 140}" y="4" width="12" height="12" fill="{colour}"/>'
                     f'<text x="{label_w + index * 140 + 16}" y="15" font-size="12">{escape(name)}</text>')
    for row, (label, values) in enumerate(items):
        y = 26 + row * row_h
        parts.append(f'<text x="{label_w - 6}" y="{y + 11}" font-size="12" text-anchor="end">'
                     f"{escape(label[:36])}</text>")
        for index, value in enumerate(values):
            width = float(value / largest) * bar_w if value > 0 else 0.0
            parts.append(f'<rect x="{label_w}" y="{y + index * 14}" width="{width:.1f}" height="{bar_h}" '
                         f'fill="{series[index][1]}"><title>{escape(label)}: {render.money(value)}</title></rect>'
                         f'<text x="{label_w + width + 4:.1f}" y="{y + index * 14 + 10}" font-size="11">'
                         f"{escape(render.money(value))}</text>")
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(days: Report) -> str:
    """Daily cost as columns."""
    rows = days.rows
    if not rows:
        return ""
    largest = max((row.cost for row in rows), default=Decimal(0)) or Decimal(1)
    width, height, left = 900, 200, 60
    step = (width - left) / len(rows)
    parts = [f'<svg role="img" aria-label="daily cost" '
             f'viewBox="0 0 {width} {height + 40}" width="{width}">',
             f'<text x="0" y="14" font-size="11">{escape(render.money(largest))}</text>',
             f'<line x1="{left}" y1="{height}" x2="{width}" y2="{height}" stroke="#99a"/>']
    for index, row in enumerate(rows):
        bar_height = float(row.cost / largest) * (height - 20)
        x = left + index * step
        parts.append(f'<rect x="{x + 1:.1f}" y="{height - bar_height:.1f}" width="{max(step - 2, 1):.1f}" '
                     f'height="{bar_height:.1f}" fill="#4a6fa5"><title>{escape(row.key)}: '
                     f"{escape(render.money(row.cost))}</title></rect>")
        if index % max(len(rows) // 8, 1) == 0:
            parts.append(f'<text x="{x:.1f}" y="{height + 16}" font-size="11">{escape(row.key[5:])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _customer_row(row: ReportRow, total: bool = False) -> str:
    klass = ' class="unprofitable"' if row.unprofitable and not total else ""
    advice = row.advice
    advice_text = "" if advice is None else (advice.plan or "none of the plans")
    margin_css = "loss" if row.unprofitable else ""
    cells = [_key(row.key, "customer"), _key(row.plan or "—", "plan"),
             _num(row.totals.calls, "calls"), _num(row.totals.tokens, "tokens", render.tokens(row.totals.tokens)),
             _num(row.cost, "cost_usd"), _num(row.base_revenue, "base_revenue_usd"),
             _num(row.overage_revenue, "overage_revenue_usd"), _num(row.revenue, "revenue_usd"),
             _num(row.margin, "margin_usd", css=margin_css),
             _num(None if row.margin_pct is None else round(row.margin_pct, 2), "margin_pct",
                  render.percent(row.margin_pct)),
             _num(row.cache.usd if row.cache else None, "cache_savings_usd"),
             f'<td class="k" data-field="plan_advice">{escape(advice_text)}</td>']
    return f"<tr{klass}>{''.join(cells)}</tr>"


_CUSTOMER_HEADERS = ["customer", "plan", "calls", "tokens", "cost", "base", "overage", "revenue", "margin",
                     "margin %", "cache saved", "plan advice"]


def _usage_row(row: ReportRow, field: str) -> str:
    cells = [_key(row.key, field), _num(row.totals.calls, "calls"),
             _num(row.totals.input_tokens, "input_tokens", render.tokens(row.totals.input_tokens)),
             _num(row.totals.output_tokens, "output_tokens", render.tokens(row.totals.output_tokens)),
             _num(row.cost, "cost_usd"), _num(row.cache.usd if row.cache else None, "cache_savings_usd")]
    return f"<tr>{''.join(cells)}</tr>"


def _card(label: str, value: Decimal | int | None, field: str, css: str = "") -> str:
    exact = "" if value is None else (str(value) if isinstance(value, int) else plain(value) or "")
    shown = render.integer(value) if isinstance(value, int) else render.money(value)
    return (f'<div class="card"><span>{escape(label)}</span><b class="{css}" data-field="{field}" '
            f'data-value="{escape(exact)}">{escape(shown)}</b></div>')


def _what_if_html(report: Report) -> str:
    result = report.what_if
    if result is None:
        return ""
    parts = [f"<h2>What if: {escape(', '.join(result.labels))}</h2>",
             '<p class="note">The recorded tokens of the matching priced calls, at the target model\'s '
             "current rates.</p>"]
    for name, lines in (("customer", result.by_customer), ("feature", result.by_feature)):
        empty = UNATTRIBUTED if name == "customer" else NO_FEATURE
        rows = []
        for line in sorted(lines.values(), key=lambda line: (-line.saving, line.key or "")):
            cells = [_key(line.key or empty, name), _num(line.calls, "calls"), _num(line.cost_now, "cost_now_usd"),
                     _num(line.cost_if, "cost_if_usd"), _num(line.saving, "saving_usd")]
            if name == "customer":
                cells.append(_num(line.margin_if, "margin_if_usd"))
            rows.append(f"<tr>{''.join(cells)}</tr>")
        headers = [name, "calls", "cost now", "cost if", "saving"] + ["margin if"] * (name == "customer")
        parts.append(_table(headers, rows, table_id=f"what-if-{name}"))
    total = result.total
    parts.append(f'<p>Total: <span data-field="what_if_saving_usd" data-value="{plain(total.saving)}">'
                 f"{escape(render.money(total.saving))}</span> saved on {render.integer(total.calls)} calls.</p>")
    return "".join(parts)


def _cache_html(report: Report) -> str:
    cache = report.cache
    if cache is None:
        return ""
    parts = ["<h2>Prompt-cache savings</h2>", '<p class="note">What the cached input tokens would have '
             "cost uncached minus what they cost, at today's prices.</p>"]
    for name, table in (("customer", cache.by_customer), ("feature", cache.by_feature)):
        empty = UNATTRIBUTED if name == "customer" else NO_FEATURE
        rows = [f"<tr>{_key(key or empty, name)}{_num(saving.cache_read_tokens, 'cache_read_tokens')}"
                f"{_num(saving.usd, 'savings_usd')}</tr>"
                for key, saving in sorted(table.items(), key=lambda item: (-item[1].usd, item[0] or ""))]
        parts.append(_table([name, "cached input tokens", "saved"], rows, table_id=f"cache-{name}"))
    return "".join(parts)


def render_html(pages: Pages) -> str:
    report = pages.customers
    total = report.total
    period = f"{report.period.since:%Y-%m-%d} to {report.period.until:%Y-%m-%d} (end exclusive)"
    losing = report.unprofitable
    cards = [_card("LLM cost", total.cost, "total_cost_usd"), _card("revenue", total.revenue, "total_revenue_usd"),
             _card("margin", total.margin, "total_margin_usd", "loss" if total.unprofitable else "gain"),
             _card("calls", total.totals.calls, "total_calls"),
             _card("unprofitable customers", len(losing), "unprofitable_customers"),
             _card("saved by prompt caching", total.cache.usd if total.cache else None, "total_cache_savings_usd")]
    customer_chart = bar_chart(
        [(row.key, [row.cost, row.revenue or Decimal(0)]) for row in sorted(report.rows, key=lambda r: -r.cost)],
        [("cost", "#c0392b"), ("revenue", "#4a6fa5")], "cost and revenue per customer")
    body = [f"<h1>LLM cost and margin per customer</h1><p class=\"sub\">{escape(report.ledger)} · {period}</p>",
            f'<p class="note">{escape(REVENUE_NOTE)}</p>', f'<div class="cards">{"".join(cards)}</div>']
    if losing:
        body += ["<h2>Unprofitable customers</h2>",
                 _table(_CUSTOMER_HEADERS, [_customer_row(row) for row in losing], table_id="unprofitable")]
    body += ["<h2>Cost and revenue per customer</h2>", customer_chart,
             _table(_CUSTOMER_HEADERS, [_customer_row(row) for row in report.rows], _customer_row(total, True),
                    table_id="customers")]
    for title, sub, field in (("Cost by feature", pages.features, "feature"),
                              ("Cost by model", pages.models, "model")):
        body += [f"<h2>{title}</h2>",
                 bar_chart([(row.key, [row.cost]) for row in sub.rows], [("cost", "#4a6fa5")], title),
                 _table([field, "calls", "input", "output", "cost", "cache saved"],
                        [_usage_row(row, field) for row in sub.rows], _usage_row(sub.total, field),
                        table_id=f"{field}s")]
    body += ["<h2>Daily cost</h2>", trend_chart(pages.days), _cache_html(report), _what_if_html(pages.customers)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>llmledger report · {escape(period)}</title><style>{_CSS}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


REVENUE_NOTE = ("Revenue is the monthly plan price prorated by calendar month plus overage past the plan's "
                "allowance; costs are at list prices.")
