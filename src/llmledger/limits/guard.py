"""The limit guard: the check before each LLM call, the spend after it, and the read API.

``Lifecycle`` calls :meth:`LimitGuard.before_call` once per call, before the SDK sends anything
(only when rules are configured: otherwise the guard is None and the call path does one None
check). Telemetry hands every finished call to :meth:`LimitGuard.on_record` (the guard is a
record sink), which adds its cost and tokens to the store. Nothing here raises into the user's
call except ``LimitExceeded`` for a rule with ``action: block``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal
from typing import Any

from llmledger.limits.rules import Cap, LimitRules, Rule
from llmledger.limits.signals import LimitSignals
from llmledger.limits.store import LimitStore, Thresholds, Totals, from_pico, plain, to_pico
from llmledger.limits.verdict import LimitUsage, Verdict
from llmledger.limits.windows import Clock, Moment, Moments
from llmledger.plans import PlanBook
from llmledger.usage import CallRecord

logger = logging.getLogger("llmledger.limits")
BLOCKED = "LimitExceeded"
"""``error.type`` of a refused call (its record adds no spend)."""
_RETRY_STORE_AFTER_S = 1.0
_CACHE_LIMIT = 50_000
_UNKNOWN: Any = object()


def scope_of(rule: Rule, customer: str) -> str:
    """The counters a rule reads: the customer's, or the customer's for one feature."""
    return f"{customer}|feature={rule.match}" if rule.scope == "feature" else customer


class _Entry:
    """One customer under one rule, worked out once: the scope its counters live in, the
    customer's metric label, the thresholds (for a check and for a read), the caps to compare, and
    the totals of its last check (the ``llmledger.limit.usage`` gauge reads them when collected)."""

    __slots__ = ("checks", "label", "limits", "plan", "read_limits", "rule", "scope", "totals")

    def __init__(self, rule: Rule, plan: str | None, scope: str, label: str, limits: Thresholds,
                 checks: tuple[tuple[Cap, str, int], ...]) -> None:
        self.rule, self.plan, self.scope, self.label = rule, plan, scope, label
        self.limits, self.checks = limits, checks
        self.read_limits = replace(limits, reserve=False) if limits.calls is not None else limits
        self.totals: Totals | None = None


class LimitGuard:
    def __init__(self, rules: LimitRules, store: LimitStore, plans: PlanBook, signals: LimitSignals, *,
                 clock: Clock = time.time) -> None:
        self.rules, self.store, self.plans, self.signals = rules, store, plans, signals
        self.clock = clock
        self.store_kind = "redis" if rules.store_url else "memory"
        self._entries: dict[tuple[str, str, str | None], _Entry] = {}
        self._for_call: dict[tuple[str, str | None, str | None], _Entry | None] = {}
        self._spend_scopes: dict[tuple[str, str | None, str | None], tuple[str, ...]] = {}
        self._moments = Moments()
        self._down_until = 0.0
        self._lock = threading.Lock()
        signals.ratios = self._ratios

    # ---- the rule and its thresholds ---------------------------------------------------------
    def _plan(self, customer: str, plan: str | None) -> str | None:
        return self.plans.plan_for(customer, plan)

    def _limit(self, cap: Cap, customer: str, plan: str | None) -> Decimal | None:
        if not cap.share_of_revenue:
            return cap.amount
        revenue = self.plans.revenue(customer, plan)
        return None if revenue is None else cap.amount * revenue

    def _entry(self, rule: Rule, customer: str, plan: str | None) -> _Entry:
        key = (rule.name, customer, plan)
        found = self._entries.get(key)
        if found is not None:
            return found
        limits: dict[str, int] = {}
        checks = []
        for cap in rule.caps:
            amount = self._limit(cap, customer, plan)
            if amount is None:
                continue  # cost_share_of_revenue for a customer whose revenue is unknown
            field = {("usd", "month"): "month_pusd", ("usd", "day"): "day_pusd",
                     ("tokens", "month"): "month_tokens", ("tokens", "day"): "day_tokens",
                     ("calls", "minute"): "calls"}[(cap.metric, cap.window)]
            value = to_pico(amount) if cap.metric == "usd" else int(amount)
            limits[field] = min(value, limits.get(field, value))
            checks.append((cap, field, value))
        thresholds = Thresholds(**limits, block=rule.action == "block")  # type: ignore[arg-type]
        found = _Entry(rule, plan, scope_of(rule, customer), self.signals.label(customer, plan), thresholds,
                       tuple(checks))
        if len(self._entries) >= _CACHE_LIMIT:
            self._entries.clear()
            self._for_call.clear()
        self._entries[key] = found
        return found

    def _entry_for_call(self, customer: str, plan: str | None, feature: str | None) -> _Entry | None:
        """The entry of the rule that applies to a call's customer, plan and feature (None: no rule)."""
        billed = self.plans.plan_for(customer, plan)
        rule = self.rules.rule_for(customer, billed, feature)
        found = None if rule is None else self._entry(rule, customer, billed)
        if len(self._for_call) >= _CACHE_LIMIT:
            self._for_call.clear()
        self._for_call[customer, plan, feature] = found
        return found

    def thresholds(self, rule: Rule, customer: str, plan: str | None) -> Thresholds:
        return self._entry(rule, customer, plan).limits

    def _ratios(self) -> Iterator[tuple[str, str, str, float]]:
        """Per customer, rule and cap: used / limit as of the customer's last check."""
        for entry in list(self._entries.values()):
            totals = entry.totals
            if totals is None:
                continue
            for cap, field, limit in entry.checks:
                used = getattr(totals, field)
                yield entry.label, entry.rule.name, cap.key, used / limit if limit else float(used >= 0)

    # ---- the store, guarded --------------------------------------------------------------------
    def _ask(self, scope: str, moment: Moment, limits: Thresholds) -> Totals | None:
        """The store's totals, or None when it is unreachable (counted, logged once)."""
        if moment.now < self._down_until:
            self.signals.store_error(self.store_kind, self.rules.fail_closed, "answer (recent failure)")
            return None
        try:
            totals = self.store.check(scope, moment, limits)
        except Exception:
            self._down_until = moment.now + _RETRY_STORE_AFTER_S
            self.signals.store_error(self.store_kind, self.rules.fail_closed, "check a limit")
            return None
        if self.signals.store_down:
            self.signals.store_ok()
        return totals

    def _rows(self, rule: Rule, customer: str, plan: str | None, moment: Moment,
              totals: Totals) -> list[tuple[Cap, LimitUsage]]:
        rows = []
        for cap in rule.caps:
            amount = self._limit(cap, customer, plan)
            if amount is None:
                continue
            used: Decimal | int
            if cap.metric == "usd":
                used = from_pico(totals.month_pusd if cap.window == "month" else totals.day_pusd)
                limit: Decimal | int = plain(amount)
            elif cap.metric == "tokens":
                used = totals.month_tokens if cap.window == "month" else totals.day_tokens
                limit = int(amount)
            else:
                used, limit = totals.calls, int(amount)
            remaining = max(limit - used, 0)
            if isinstance(remaining, Decimal):
                remaining = plain(remaining)
            rows.append((cap, LimitUsage(rule.name, cap.key, cap.window, used, limit, remaining,
                                         moment.resets_at(cap.window, totals.oldest_call), rule.action)))
        return rows

    def _verdict(self, customer: str, plan: str | None, feature: str | None, *,
                 reserve: bool) -> Verdict | None:
        entry = self._for_call.get((customer, plan, feature), _UNKNOWN)
        if entry is _UNKNOWN:
            entry = self._entry_for_call(customer, plan, feature)
        if entry is None:
            return None
        moment = self._moments.at(self.clock())
        totals = self._ask(entry.scope, moment, entry.limits if reserve else entry.read_limits)
        if totals is None:
            if self.rules.fail_closed:
                return Verdict(customer, entry.plan, entry.rule, None, None, None, None, "store")
            return None
        entry.totals = totals
        for cap, field, limit in entry.checks:
            if getattr(totals, field) >= limit:
                return self._over(entry, cap, customer, entry.plan, moment, totals)
        return None

    def _over(self, entry: _Entry, over: Cap, customer: str, plan: str | None, moment: Moment,
              totals: Totals) -> Verdict:
        row = next(row for cap, row in self._rows(entry.rule, customer, plan, moment, totals) if cap is over)
        window_key = moment.key(over.window) if over.window != "minute" else str(int(moment.now // 60))
        return Verdict(customer, plan, entry.rule, over, row.used, row.limit, row.resets_at, window_key)

    # ---- the call path -------------------------------------------------------------------------
    def before_call(self, call: Any) -> None:
        """Check the call's customer; ``action: block`` over a limit ends the call and raises
        ``LimitExceeded`` (nothing is sent). Anything else that goes wrong lets the call through."""
        customer = call.record.customer
        if customer is None:
            return
        try:
            verdict = self._verdict(customer.id, customer.plan, customer.feature, reserve=True)
            if verdict is None:
                return
            self.signals.exceeded(verdict, call.span)
            if verdict.rule.action != "block":
                return
            error = verdict.error()
        except Exception:
            logger.debug("llmledger: the limit check failed; the call goes on", exc_info=True)
            return
        call.finish(None, error)
        raise error

    def on_record(self, record: CallRecord) -> None:
        """A finished call: add its cost and tokens to its customer's windows (a record sink)."""
        customer = record.customer
        if customer is None or record.error_type == BLOCKED:
            return
        cost, usage = record.cost.total, record.usage
        pusd = to_pico(cost) if cost is not None else 0
        tokens = usage.input_tokens + usage.output_tokens if usage is not None else 0
        if not pusd and not tokens:
            return
        key = (customer.id, customer.plan, customer.feature)
        scopes = self._spend_scopes.get(key)
        if scopes is None:
            scopes = self._scopes(*key)
        if not scopes:
            return
        try:
            self.store.add(scopes, self._moments.at(self.clock()), pusd, tokens)
        except Exception:
            self.signals.store_error(self.store_kind, self.rules.fail_closed, "add a call's spend")

    def _scopes(self, customer: str, plan: str | None, feature: str | None) -> tuple[str, ...]:
        """The counters a customer's spend goes to: its own (if a customer or plan rule can apply)
        and its feature's (if a feature rule exists)."""
        rules = self.rules
        billed = self.plans.plan_for(customer, plan)
        scopes = []
        if customer in rules.by_customer or (billed is not None and billed in rules.by_plan):
            scopes.append(customer)
        feature_rule = rules.by_feature.get(feature) if feature is not None else None
        if feature_rule is not None:
            scopes.append(scope_of(feature_rule, customer))
        if len(self._spend_scopes) >= _CACHE_LIMIT:
            self._spend_scopes.clear()
        found = self._spend_scopes[customer, plan, feature] = tuple(scopes)
        return found

    # ---- the read API --------------------------------------------------------------------------
    def usage(self, customer: str, plan: str | None = None, feature: str | None = None) -> list[LimitUsage]:
        """Per cap of the customer's rule: used, limit, remaining, reset time (no call reserved)."""
        plan = self._plan(customer, plan)
        rule = self.rules.rule_for(customer, plan, feature)
        if rule is None:
            return []
        moment = Moment.at(self.clock())
        limits = self._entry(rule, customer, plan).read_limits
        try:
            totals = self.store.check(scope_of(rule, customer), moment, limits)
        except Exception:
            self.signals.store_error(self.store_kind, self.rules.fail_closed, "read usage")
            raise
        return [row for _, row in self._rows(rule, customer, plan, moment, totals)]

    def check(self, customer: str, plan: str | None = None, feature: str | None = None) -> list[LimitUsage]:
        """``usage``, or ``LimitExceeded`` when a cap of a blocking rule is reached."""
        verdict = self._verdict(customer, plan, feature, reserve=False)
        if verdict is not None and verdict.rule.action == "block":
            raise verdict.error()
        return self.usage(customer, plan, feature)

    def close(self) -> None:
        try:
            self.store.close()
        except Exception:
            logger.debug("llmledger: closing the limit store failed", exc_info=True)
