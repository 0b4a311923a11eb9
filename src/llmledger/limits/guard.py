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


def scope_of(rule: Rule, customer: str) -> str:
    """The counters a rule reads: the customer's, or the customer's for one feature."""
    return f"{customer}|feature={rule.match}" if rule.scope == "feature" else customer


class LimitGuard:
    def __init__(self, rules: LimitRules, store: LimitStore, plans: PlanBook, signals: LimitSignals, *,
                 clock: Clock = time.time) -> None:
        self.rules, self.store, self.plans, self.signals = rules, store, plans, signals
        self.clock = clock
        self.store_kind = "redis" if rules.store_url else "memory"
        self._thresholds: dict[tuple[str, str, str | None], Thresholds] = {}
        self._checks: dict[tuple[str, str, str | None], tuple[tuple[Cap, str, int], ...]] = {}
        self._moments = Moments()
        self._down_until = 0.0
        self._lock = threading.Lock()

    # ---- the rule and its thresholds ---------------------------------------------------------
    def _plan(self, customer: str, plan: str | None) -> str | None:
        return self.plans.plan_for(customer, plan)

    def _limit(self, cap: Cap, customer: str, plan: str | None) -> Decimal | None:
        if not cap.share_of_revenue:
            return cap.amount
        revenue = self.plans.revenue(customer, plan)
        return None if revenue is None else cap.amount * revenue

    def thresholds(self, rule: Rule, customer: str, plan: str | None) -> Thresholds:
        key = (rule.name, customer, plan)
        found = self._thresholds.get(key)
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
        found = Thresholds(**limits, block=rule.action == "block")  # type: ignore[arg-type]
        if len(self._thresholds) >= _CACHE_LIMIT:
            self._thresholds.clear()
            self._checks.clear()
        self._checks[key] = tuple(checks)
        self._thresholds[key] = found
        return found

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
        plan = self._plan(customer, plan)
        rule = self.rules.rule_for(customer, plan, feature)
        if rule is None:
            return None
        moment = self._moments.at(self.clock())
        limits = self.thresholds(rule, customer, plan)
        if not reserve and limits.calls is not None:
            limits = replace(limits, reserve=False)
        totals = self._ask(scope_of(rule, customer), moment, limits)
        if totals is None:
            if self.rules.fail_closed:
                return Verdict(customer, plan, rule, None, None, None, None, "store")
            return None
        over = None
        note, label = self.signals.note_usage, self.signals.label(customer, plan)
        for cap, field, limit in self._checks[(rule.name, customer, plan)]:
            used = getattr(totals, field)
            note(label, rule.name, cap.key, used / limit if limit else float(used >= 0))
            if over is None and used >= limit:
                over = cap
        if over is None:
            return None
        row = next(row for cap, row in self._rows(rule, customer, plan, moment, totals) if cap is over)
        window_key = moment.key(over.window) if over.window != "minute" else str(int(moment.now // 60))
        return Verdict(customer, plan, rule, over, row.used, row.limit, row.resets_at, window_key)

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
        plan = self._plan(customer.id, customer.plan)
        rules = self.rules
        scopes = []
        if customer.id in rules.by_customer or (plan is not None and plan in rules.by_plan):
            scopes.append(customer.id)
        feature_rule = rules.by_feature.get(customer.feature) if customer.feature is not None else None
        if feature_rule is not None:
            scopes.append(scope_of(feature_rule, customer.id))
        if not scopes:
            return
        moment = self._moments.at(self.clock())
        try:
            self.store.add(scopes, moment, pusd, tokens)
        except Exception:
            self.signals.store_error(self.store_kind, rules.fail_closed, "add a call's spend")

    # ---- the read API --------------------------------------------------------------------------
    def usage(self, customer: str, plan: str | None = None, feature: str | None = None) -> list[LimitUsage]:
        """Per cap of the customer's rule: used, limit, remaining, reset time (no call reserved)."""
        plan = self._plan(customer, plan)
        rule = self.rules.rule_for(customer, plan, feature)
        if rule is None:
            return []
        moment = Moment.at(self.clock())
        limits = replace(self.thresholds(rule, customer, plan), reserve=False)
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
