"""Which customers hit a limit in a report's period (``llmledger report`` marks them).

Derived from the ledger and the configured rules, with no column of its own:

* calls a blocking limit refused are ledger rows with ``error_type = 'LimitExceeded'``;
* a ``usd_per_month``/``tokens_per_month``/``cost_share_of_revenue`` cap was hit when the
  customer's month-to-date sum, at the end of the period (or of the month), reached it;
* a ``usd_per_day``/``tokens_per_day`` cap was hit on a UTC day of the period whose sum reached it.

``calls_per_minute`` caps with ``action: warn`` and ``feature:`` rules are not derived (their
refused calls, if blocking, still show as blocked).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from llmledger.ledger.queries import Filters, GroupTotals, where_clause
from llmledger.ledger.schema import TABLE
from llmledger.ledger.store import LedgerStore
from llmledger.limits.guard import BLOCKED
from llmledger.limits.rules import Cap, LimitRules, Rule
from llmledger.limits.store import plain
from llmledger.limits.windows import month_start
from llmledger.plans import PlanBook


def _used(cap: Cap, totals: GroupTotals) -> Decimal | int:
    return totals.cost if cap.metric == "usd" else totals.tokens


def _limit(cap: Cap, plans: PlanBook, customer: str, plan: str | None) -> Decimal | None:
    if not cap.share_of_revenue:
        return cap.amount
    revenue = plans.revenue(customer, plan)
    return None if revenue is None else cap.amount * revenue


def blocked_calls(store: LedgerStore, since: datetime, until: datetime) -> dict[str, int]:
    """Calls refused by a blocking limit, per customer, in ``[since, until)``."""
    where, params = where_clause(Filters(since, until), store._dialect, store._to_db,
                                 (f"error_type = '{BLOCKED}'",))
    rows = store._db.execute(f"SELECT customer_id, COUNT(*) FROM {TABLE}{where} GROUP BY customer_id",
                             params).fetchall()
    return {str(customer): int(count) for customer, count in rows if customer is not None}


def _months(since: datetime, until: datetime) -> list[tuple[datetime, datetime]]:
    spans, start = [], month_start(since)
    while start < until:
        end = (start + timedelta(days=32)).replace(day=1)
        spans.append((start, min(end, until)))
        start = end
    return spans


def limit_hits(store: LedgerStore, rules: LimitRules, plans: PlanBook, since: datetime,
               until: datetime) -> dict[str, list[str]]:
    """Per customer that hit a limit in ``[since, until)``: what it hit, in words."""
    hits: dict[str, list[str]] = {}
    for customer, count in blocked_calls(store, since, until).items():
        hits.setdefault(customer, []).append(f"{count} call{'s' if count != 1 else ''} blocked")
    if not rules:
        return hits

    def rule_of(customer: str, plan_on_calls: str | None) -> tuple[Rule | None, str | None]:
        plan = plans.plan_for(customer, plan_on_calls)
        return rules.rule_for(customer, plan, None), plan

    daily_customers: dict[str, Rule] = {}
    for start, end in _months(since, until):
        merged: dict[str, tuple[GroupTotals, str | None]] = {}
        for found in store.aggregate("customer", Filters(start, end)):  # (customer, plan) groups
            customer_id, plan_on_calls = found.key
            if customer_id is None:
                continue
            totals, seen_plan = merged.setdefault(customer_id, (GroupTotals(key=(customer_id,)), None))
            totals.add(found)
            merged[customer_id] = (totals, seen_plan or plan_on_calls)
        for customer, (group, plan_on_calls) in merged.items():
            rule, plan = rule_of(customer, plan_on_calls)
            if rule is None:
                continue
            for cap in rule.caps:
                if cap.window == "day":
                    daily_customers[customer] = rule
                limit = _limit(cap, plans, customer, plan) if cap.window == "month" else None
                if limit is not None and _used(cap, group) >= limit:
                    hits.setdefault(customer, []).append(
                        f"{cap.key} {start:%Y-%m} ({plain(Decimal(_used(cap, group)))} of {plain(limit)})")
    for customer, rule in sorted(daily_customers.items()):
        for day in store.aggregate("day", Filters(since, until, customer)):
            for cap in rule.caps:
                if cap.window == "day" and _used(cap, day) >= cap.amount:
                    hits.setdefault(customer, []).append(
                        f"{cap.key} {day.key[0]} ({plain(Decimal(_used(cap, day)))} of {plain(cap.amount)})")
    return hits
