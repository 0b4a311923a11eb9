"""Which customers hit a limit in a report's period (``llmledger report`` marks them).

Derived from the ledger and the configured rules, with no column of its own:

* calls a blocking limit refused are ledger rows with ``error_type = 'LimitExceeded'``;
* a ``usd_per_month``/``tokens_per_month``/``cost_share_of_revenue`` cap was hit when the
  customer's month-to-date sum, at the end of the period (or of the month), reached it;
* a ``usd_per_day``/``tokens_per_day`` cap was hit on a UTC day of the period whose sum reached it;
* a ``feature:`` rule's caps the same way, on the customer's calls for that feature (for customers
  no ``customer:`` rule covers: the most specific rule applies);
* a ``calls_per_minute`` cap of a warning rule was hit by each call that had at least that many
  calls of the same customer (and feature, for a feature rule) in the 60 seconds before it, as the
  in-process check counts them (blocking rules show as blocked calls).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterator
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
    _feature_hits(store, rules, plans, since, until, hits)
    _minute_hits(store, rules, plans, since, until, hits)
    return hits


Call = tuple[str, str | None, str | None, datetime, Decimal, int]
"""customer, plan, feature, started at, cost (0 unless priced), tokens."""


def _calls(store: LedgerStore, since: datetime, until: datetime, *extra: str) -> Iterator[Call]:
    """The period's calls with a customer (but refused ones), oldest first."""
    where, params = where_clause(Filters(since, until), store._dialect, store._to_db, (
        "customer_id IS NOT NULL", f"(error_type IS NULL OR error_type <> '{BLOCKED}')", *extra))
    rows = store._db.execute(
        "SELECT customer_id, plan, feature, started_at, cost_usd, input_tokens, output_tokens "
        f"FROM {TABLE}{where} ORDER BY started_at", params)
    for customer, plan, feature, started, cost, input_tokens, output_tokens in rows:
        at = store._from_db(started)
        if at is not None:
            yield (str(customer), plan, feature, at, Decimal(str(cost)) if cost is not None else Decimal(0),
                   int(input_tokens or 0) + int(output_tokens or 0))


def _feature_hits(store: LedgerStore, rules: LimitRules, plans: PlanBook, since: datetime, until: datetime,
                  hits: dict[str, list[str]]) -> None:
    """Month and day caps of ``feature:`` rules, over each customer's calls for the feature."""
    capped = [name for name, rule in rules.by_feature.items() if any(cap.metric != "calls" for cap in rule.caps)]
    if not capped:
        return
    names = ", ".join("'" + name.replace("'", "''") + "'" for name in capped)
    sums: dict[tuple[str, str, str], tuple[Decimal, int]] = {}
    plan_of: dict[str, str | None] = {}
    for customer, plan, feature, at, cost, tokens in _calls(store, month_start(since), until, f"feature IN ({names})"):
        if customer in rules.by_customer or feature is None:
            continue
        plan_of[customer] = plan_of.get(customer) or plan
        windows = [f"{at:%Y-%m}"] + ([f"{at:%Y-%m-%d}"] if at >= since else [])
        for window in windows:
            cost_so_far, tokens_so_far = sums.get((customer, feature, window), (Decimal(0), 0))
            sums[customer, feature, window] = (cost_so_far + cost, tokens_so_far + tokens)
    for (customer, feature, window), (cost, tokens) in sums.items():
        rule = rules.by_feature[feature]
        for cap in rule.caps:
            if cap.metric == "calls" or (cap.window == "month") != (len(window) == 7):
                continue
            limit = _limit(cap, plans, customer, plans.plan_for(customer, plan_of.get(customer)))
            used = cost if cap.metric == "usd" else tokens
            if limit is not None and used >= limit:
                hits.setdefault(customer, []).append(
                    f"{cap.key} {window} feature={feature} ({plain(Decimal(used))} of {plain(limit)})")


def _minute_hits(store: LedgerStore, rules: LimitRules, plans: PlanBook, since: datetime, until: datetime,
                 hits: dict[str, list[str]]) -> None:
    """Calls over a warning rule's ``calls_per_minute``, per customer: how many, and the first."""
    if not any(cap.metric == "calls" and rule.action == "warn" for rule in rules.all_rules() for cap in rule.caps):
        return
    recent: dict[str, deque[datetime]] = defaultdict(deque)  # per scope: calls of the last minute
    over: dict[tuple[str, str], tuple[int, datetime, Decimal]] = {}  # calls over, the first, the limit
    for customer, plan, feature, at, _, _ in _calls(store, since - timedelta(minutes=1), until):
        rule = rules.rule_for(customer, plans.plan_for(customer, plan), feature)
        cap = next((cap for cap in rule.caps if cap.metric == "calls"), None) if rule is not None else None
        if rule is None or cap is None or rule.action != "warn":
            continue
        scope = f"{customer}|feature={feature}" if rule.scope == "feature" else customer
        window = recent[scope]
        while window and window[0] <= at - timedelta(minutes=1):
            window.popleft()
        if at >= since and len(window) >= cap.amount:
            count, first, _ = over.get((customer, rule.name), (0, at, cap.amount))
            over[customer, rule.name] = (count + 1, first, cap.amount)
        window.append(at)
    for (customer, rule_name), (count, first, limit) in over.items():
        hits.setdefault(customer, []).append(
            f"calls_per_minute {rule_name} ({count} call{'s' if count != 1 else ''} over {plain(limit)}/min, "
            f"first {first:%Y-%m-%d %H:%M:%S})")
