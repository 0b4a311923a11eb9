"""Cost, revenue and margin over a period, from a ledger and the configured plans.

One aggregate query per report (see ``queries``); everything after it is over a few groups, in
Python, with exact ``Decimal`` arithmetic. Revenue is prorated by calendar month (``plans``);
customers listed in the config count for the whole period even without calls (they still pay).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from llmledger.ledger.plans import PlanBook, months_covered
from llmledger.ledger.queries import Filters, Grouping, GroupTotals
from llmledger.ledger.store import LedgerStore

ReportBy = Literal["customer", "plan", "model", "feature", "day"]
REPORT_BY: tuple[ReportBy, ...] = ("customer", "plan", "model", "feature", "day")
UNATTRIBUTED = "(unattributed)"
NO_PLAN = "(no plan)"
NO_FEATURE = "(none)"
REVENUE_BASIS = ("revenue = monthly plan price prorated by calendar month "
                 "(a whole month = the monthly price; 15 days of a 30-day month = half)")


@dataclass(frozen=True, slots=True)
class Period:
    since: datetime
    """Inclusive, UTC."""
    until: datetime
    """Exclusive, UTC."""

    @property
    def days(self) -> Decimal:
        delta = self.until - self.since
        return Decimal(delta.days) + Decimal(delta.seconds) / 86_400

    @property
    def months(self) -> Decimal:
        return months_covered(self.since, self.until)


@dataclass(slots=True)
class ReportRow:
    key: str
    totals: GroupTotals
    plan: str | None = None
    revenue: Decimal | None = None
    """Revenue over the period; None when unknown (no plan configured for it)."""
    allowance: int | None = None
    """Included tokens over the period, when the plan has an allowance."""
    customers: int | None = None
    """Plan rows: how many customers."""

    @property
    def cost(self) -> Decimal:
        return self.totals.cost

    @property
    def margin(self) -> Decimal | None:
        return None if self.revenue is None else self.revenue - self.cost

    @property
    def margin_pct(self) -> Decimal | None:
        margin = self.margin
        if margin is None or not self.revenue:
            return None
        return margin * 100 / self.revenue

    @property
    def unprofitable(self) -> bool:
        margin = self.margin
        return margin is not None and margin < 0

    @property
    def over_allowance(self) -> bool:
        return self.allowance is not None and self.totals.tokens > self.allowance


@dataclass(slots=True)
class Report:
    by: ReportBy
    period: Period
    ledger: str
    rows: list[ReportRow]
    total: ReportRow
    customer: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def has_revenue(self) -> bool:
        return self.by in ("customer", "plan")

    @property
    def unprofitable(self) -> list[ReportRow]:
        return [row for row in self.rows if row.unprofitable]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON/CSV: money as exact decimal strings, never floats."""
        return {
            "ledger": self.ledger, "by": self.by, "customer": self.customer,
            "period": {"since": self.period.since.isoformat(), "until": self.period.until.isoformat(),
                       "days": plain(self.period.days), "months": plain(self.period.months)},
            "revenue_basis": REVENUE_BASIS if self.has_revenue else None,
            "rows": [row_dict(row, self.by) for row in self.rows],
            "total": row_dict(self.total, self.by),
        }


def plain(value: Decimal | None) -> str | None:
    """Exact decimal text without exponent or trailing zeros (``20.46``, ``0.00000015``)."""
    if value is None:
        return None
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def row_dict(row: ReportRow, by: ReportBy) -> dict[str, Any]:
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
        unpriced_calls=totals.unpriced_calls, no_usage_calls=totals.no_usage_calls,
        error_calls=totals.error_calls)
    if by in ("customer", "plan"):
        margin_pct = row.margin_pct
        data.update(revenue_usd=plain(row.revenue), margin_usd=plain(row.margin),
                    margin_pct=None if margin_pct is None else plain(round(margin_pct, 2)),
                    unprofitable=row.unprofitable)
    if by == "customer":
        data.update(included_tokens=row.allowance, over_allowance=row.over_allowance)
    return data


def _day_start(moment: datetime) -> datetime:
    moment = moment.astimezone(timezone.utc)
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)


def resolve_period(store: LedgerStore, since: datetime | None, until: datetime | None,
                   customer: str | None, now: datetime | None = None) -> Period:
    """Fill a missing bound from the ledger: whole UTC days from the first to the last call."""
    if since is None or until is None:
        found = store.time_range(Filters(since, until, customer))
        fallback = _day_start(now or datetime.now(timezone.utc))
        first, last = found if found else (since or fallback, fallback)
        since = since or _day_start(first)
        until = until or max(_day_start(last) + timedelta(days=1), since)
        since = min(since, until)
    return Period(since.astimezone(timezone.utc), until.astimezone(timezone.utc))


def _grouping(by: ReportBy) -> Grouping:
    return "customer" if by == "plan" else by


def build_report(store: LedgerStore, plans: PlanBook, by: ReportBy = "customer", *,
                 since: datetime | None = None, until: datetime | None = None,
                 customer: str | None = None, now: datetime | None = None) -> Report:
    period = resolve_period(store, since, until, customer, now)
    groups = store.aggregate(_grouping(by), Filters(period.since, period.until, customer))
    if by in ("customer", "plan"):
        rows = _customer_rows(groups, plans, period, customer)
        if by == "plan":
            rows = _plan_rows(rows)
        rows.sort(key=lambda r: (not r.unprofitable, r.margin if r.unprofitable else 0, -r.cost, r.key))
    elif by == "day":
        rows = [ReportRow(g.key[0] or "?", g) for g in groups]
        rows.sort(key=lambda r: r.key)
    else:
        rows = [ReportRow(_label(by, g.key), g) for g in groups]
        rows.sort(key=lambda r: (-r.cost, -r.totals.calls, r.key))
    total = GroupTotals(key=("total",))
    for row in rows:
        total.add(row.totals)
    revenues = [row.revenue for row in rows if row.revenue is not None]
    total_row = ReportRow("total", total, revenue=sum(revenues, Decimal(0)) if revenues else None)
    return Report(by, period, store.description, rows, total_row, customer)


def _label(by: ReportBy, key: tuple[str | None, ...]) -> str:
    if by == "model":
        return f"{key[0]}/{key[1] or '?'}"
    return key[0] or NO_FEATURE


def _customer_rows(groups: list[GroupTotals], plans: PlanBook, period: Period,
                   only: str | None) -> list[ReportRow]:
    merged: dict[str | None, GroupTotals] = {}
    latest_plan: dict[str | None, tuple[datetime, str]] = {}
    for group in groups:
        customer_id, plan = group.key
        into = merged.setdefault(customer_id, GroupTotals(key=(customer_id,)))
        into.add(group)
        # A customer who changed plan during the period is billed at the plan of its last call.
        if plan is not None and group.last_at is not None and (
                customer_id not in latest_plan or group.last_at > latest_plan[customer_id][0]):
            latest_plan[customer_id] = (group.last_at, plan)
    for account in plans:  # paying customers without calls still bring revenue
        if only is None or account.id == only:
            merged.setdefault(account.id, GroupTotals(key=(account.id,)))
    rows = []
    for customer_id, totals in merged.items():
        if customer_id is None:
            rows.append(ReportRow(UNATTRIBUTED, totals))
            continue
        seen = latest_plan.get(customer_id)
        plan = plans.plan_for(customer_id, seen[1] if seen else None)
        rows.append(ReportRow(
            customer_id, totals, plan=plan,
            revenue=plans.revenue_for_period(customer_id, plan, period.since, period.until),
            allowance=plans.allowance_for_period(customer_id, plan, period.since, period.until)))
    return rows


def _plan_rows(customer_rows: list[ReportRow]) -> list[ReportRow]:
    by_plan: dict[str, ReportRow] = {}
    for row in customer_rows:
        name = row.plan or NO_PLAN
        plan_row = by_plan.get(name)
        if plan_row is None:
            plan_row = by_plan[name] = ReportRow(name, GroupTotals(key=(name,)), plan=row.plan, customers=0)
        plan_row.totals.add(row.totals)
        plan_row.customers = (plan_row.customers or 0) + (row.key != UNATTRIBUTED)
        if row.revenue is not None:
            plan_row.revenue = (plan_row.revenue or Decimal(0)) + row.revenue
    return list(by_plan.values())
