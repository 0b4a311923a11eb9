"""Cost, revenue and margin over a period, from a ledger and the configured plans.

One aggregate query per report (see ``queries``); everything after it is over a few groups, in
Python, with exact ``Decimal`` arithmetic. Revenue is prorated by calendar month (``plans``);
customers listed in the config count for the whole period even without calls (they still pay).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Literal

from llmledger.billing import Bill, PlanAdvice, advise, customer_bill
from llmledger.ledger.queries import Filters, Grouping, GroupTotals
from llmledger.ledger.repricing import (
    CacheSavings,
    RateCards,
    Saving,
    WhatIf,
    both_dimensions,
    cache_cards,
    cache_savings,
    cache_savings_from,
)
from llmledger.ledger.store import LedgerStore
from llmledger.ledger.whatif import WhatIfLine, WhatIfResult, sources, what_if, what_if_cards, what_if_from
from llmledger.plans import PlanBook, months_covered
from llmledger.pricing.overrides import PriceOverrides

ReportBy = Literal["customer", "plan", "model", "feature", "day"]
REPORT_BY: tuple[ReportBy, ...] = ("customer", "plan", "model", "feature", "day")
UNATTRIBUTED = "(unattributed)"
NO_PLAN = "(no plan)"
NO_FEATURE = "(none)"
REVENUE_BASIS = ("revenue = monthly plan price prorated by calendar month "
                 "(a whole month = the monthly price; 15 days of a 30-day month = half) "
                 "+ overage past the plan's allowance")


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
    """Revenue over the period (base + overage); None when unknown (no plan configured for it)."""
    allowance: int | None = None
    """Included tokens over the period, when the plan has an allowance."""
    customers: int | None = None
    """Plan rows: how many customers."""
    base_revenue: Decimal | None = None
    """The prorated plan price part of ``revenue``."""
    overage_revenue: Decimal | None = None
    """The overage part of ``revenue``."""
    included_usd: Decimal | None = None
    """Included LLM cost over the period, when the plan's allowance is in USD."""
    over_share: Decimal = Decimal(0)
    cache: Saving | None = None
    """Prompt-cache savings of the row's calls (customer, plan, model and feature rows)."""
    advice: PlanAdvice | None = None
    """Customer rows that lose money or pass their allowance: the cheapest plan that pays."""
    what_if: WhatIfLine | None = None

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
        return self.over_share > 0 and (self.allowance is not None or self.included_usd is not None)

    @property
    def cache_read_share(self) -> Decimal | None:
        """Share of the input tokens served from the prompt cache, in percent."""
        tokens = self.totals.input_tokens
        return None if not tokens else Decimal(self.totals.cache_read_tokens) * 100 / tokens

    def set_bill(self, found: Bill | None) -> None:
        if found is None:
            return
        self.revenue, self.base_revenue, self.overage_revenue = found.total, found.base, found.overage
        self.allowance, self.included_usd, self.over_share = (found.included_tokens, found.included_usd,
                                                              found.over_share)


@dataclass(slots=True)
class Report:
    by: ReportBy
    period: Period
    ledger: str
    rows: list[ReportRow]
    total: ReportRow
    customer: str | None = None
    notes: list[str] = field(default_factory=list)
    what_if: WhatIfResult | None = None
    cache: CacheSavings | None = None

    @property
    def has_revenue(self) -> bool:
        return self.by in ("customer", "plan")

    @property
    def unprofitable(self) -> list[ReportRow]:
        return [row for row in self.rows if row.unprofitable]

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON/CSV: money as exact decimal strings, never floats."""
        from llmledger.ledger.report_data import report_dict

        return report_dict(self)


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
                 customer: str | None = None, now: datetime | None = None,
                 what_ifs: Sequence[WhatIf] = (), overrides: PriceOverrides | None = None,
                 with_cache: bool = True, known_cache: CacheSavings | None = None) -> Report:
    """The report; ``what_ifs`` re-price those models' calls, ``with_cache`` adds cache savings
    (both at today's rates, with the config's price ``overrides``); ``known_cache`` reuses the
    savings another report of the same period and customer already read."""
    with store.snapshot():  # one consistent state of the ledger for every query of the report
        return _build(store, plans, by, since, until, customer, now, what_ifs, overrides, with_cache, known_cache)


def _build(store: LedgerStore, plans: PlanBook, by: ReportBy, since: datetime | None, until: datetime | None,
           customer: str | None, now: datetime | None, what_ifs: Sequence[WhatIf], overrides: PriceOverrides | None,
           with_cache: bool, known_cache: CacheSavings | None) -> Report:
    period = resolve_period(store, since, until, customer, now)
    filters = Filters(period.since, period.until, customer)
    groups = store.aggregate(_grouping(by), filters)
    cards = RateCards(overrides)
    wants_cache = with_cache and by != "day"
    cache, found_what_if = known_cache if wants_cache else None, None
    if wants_cache and cache is None and what_ifs:  # one scan of the calls for both
        for_cache, for_what_if = cache_cards(cards), what_if_cards(what_ifs, cards)
        usage = both_dimensions(store, filters, lambda group: [*for_cache(group), *for_what_if(group)],
                                models=sources(what_ifs), cached_only=True, specs=what_ifs)
        cache, found_what_if = cache_savings_from(usage, cards), what_if_from(usage, what_ifs, cards)
    elif wants_cache and cache is None:
        cache = cache_savings(store, filters, cards)
    if what_ifs and found_what_if is None:
        found_what_if = what_if(store, filters, what_ifs, cards)
    if by in ("customer", "plan"):
        rows = _customer_rows(groups, plans, period, customer, cache, found_what_if)
        if by == "plan":
            rows = _plan_rows(rows)
        rows.sort(key=lambda r: (not r.unprofitable, r.margin if r.unprofitable else 0, -r.cost, r.key))
    elif by == "day":
        rows = [ReportRow(g.key[0] or "?", g) for g in groups]
        rows.sort(key=lambda r: r.key)
    else:
        rows = [ReportRow(_label(by, g.key), g) for g in groups]
        for row, group in zip(rows, groups, strict=True):
            if cache is not None:
                row.cache = (cache.by_model.get(row.key) if by == "model" else cache.by_feature.get(group.key[0]))
                row.cache = row.cache or Saving()
            if found_what_if is not None and by == "feature":
                row.what_if = found_what_if.by_feature.get(group.key[0])
        rows.sort(key=lambda r: (-r.cost, -r.totals.calls, r.key))
    return Report(by, period, store.description, rows, _total_row(rows), customer,
                  what_if=found_what_if, cache=cache)


def _sum(values: Sequence[Decimal | None]) -> Decimal | None:
    known = [value for value in values if value is not None]
    return sum(known, Decimal(0)) if known else None


def _total_row(rows: list[ReportRow]) -> ReportRow:
    total = GroupTotals(key=("total",))
    for row in rows:
        total.add(row.totals)
    total_row = ReportRow("total", total, revenue=_sum([row.revenue for row in rows]),
                          base_revenue=_sum([row.base_revenue for row in rows]),
                          overage_revenue=_sum([row.overage_revenue for row in rows]))
    caches = [row.cache for row in rows if row.cache is not None]
    if caches:
        total_row.cache = Saving(sum(c.cache_read_tokens for c in caches), sum((c.usd for c in caches), Decimal(0)))
    lines = [row.what_if for row in rows if row.what_if is not None]
    if lines:
        total_row.what_if = WhatIfLine("total")
        for line in lines:
            total_row.what_if.add(line.calls, line.cost_now, line.cost_if)
        total_row.what_if.margin_if = _sum([line.margin_if for line in lines])
    return total_row


def _label(by: ReportBy, key: tuple[str | None, ...]) -> str:
    if by == "model":
        return f"{key[0]}/{key[1] or '?'}"
    return key[0] or NO_FEATURE


def _customer_rows(groups: list[GroupTotals], plans: PlanBook, period: Period, only: str | None,
                   cache: CacheSavings | None, found_what_if: WhatIfResult | None) -> list[ReportRow]:
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
    months = period.months
    rows = []
    for customer_id, totals in merged.items():
        row = ReportRow(UNATTRIBUTED, totals)
        if customer_id is not None:
            seen = latest_plan.get(customer_id)
            row = ReportRow(customer_id, totals, plan=plans.plan_for(customer_id, seen[1] if seen else None))
            row.set_bill(customer_bill(plans, customer_id, row.plan, months, totals.tokens, totals.cost))
            if row.unprofitable or row.over_allowance:
                row.advice = advise(plans, months, totals.tokens, totals.cost)
        if cache is not None:
            row.cache = cache.by_customer.get(customer_id) or Saving()
        if found_what_if is not None and customer_id in found_what_if.by_customer:
            row.what_if = line = found_what_if.by_customer[customer_id]
            cost_if = totals.cost - line.cost_now + line.cost_if
            bill_if = (customer_bill(plans, customer_id, row.plan, months, totals.tokens, cost_if)
                       if customer_id is not None else None)
            line.margin_if = None if bill_if is None else bill_if.total - cost_if
        rows.append(row)
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
        for attribute in ("revenue", "base_revenue", "overage_revenue"):
            value = getattr(row, attribute)
            if value is not None:
                setattr(plan_row, attribute, (getattr(plan_row, attribute) or Decimal(0)) + value)
        if row.cache is not None:
            plan_row.cache = plan_row.cache or Saving()
            plan_row.cache.cache_read_tokens += row.cache.cache_read_tokens
            plan_row.cache.usd += row.cache.usd
    return list(by_plan.values())
