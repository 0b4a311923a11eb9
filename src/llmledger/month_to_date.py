"""In-process month-to-date figures for the per-customer metrics: overage and cache savings.

The revenue gauge (``llmledger.customer.revenue``) is the plan's monthly price plus the overage of
the usage this process has recorded for the customer in the current UTC month (see ``billing``);
only customers on plans that bill overage are tracked, so plans without one cost nothing here.
Several processes each see their own share of a customer's usage: the ledger report (which reads
every process's calls) is the exact figure.

Cache savings of one call: its cost with the cached input billed as plain input, minus its cost.
"""

from __future__ import annotations

import threading
from datetime import datetime, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from llmledger.billing import bill
from llmledger.plans import PlanBook
from llmledger.usage import CallRecord, utc_from_ns

if TYPE_CHECKING:
    from llmledger.pricing.engine import Pricer


def _month(moment: datetime) -> int:
    return moment.year * 12 + moment.month - 1


class MonthToDate:
    """Tokens and cost per customer in the current UTC month, for customers whose plan bills overage."""

    def __init__(self, plans: PlanBook) -> None:
        self._plans = plans
        self._usage: dict[str, tuple[int, int, Decimal]] = {}
        """customer id -> (month number, tokens, cost)."""
        self._lock = threading.Lock()
        self._enabled = any(plan.bills_overage for plan in plans.plans.values())

    def add(self, customer_id: str, plan: str | None, record: CallRecord) -> None:
        if not self._enabled:
            return
        known = self._plans.plans.get(self._plans.plan_for(customer_id, plan) or "")
        if known is None or not known.bills_overage or record.usage is None:
            return
        month = _month(utc_from_ns(record.start_time_ns))
        tokens = record.usage.input_tokens + record.usage.output_tokens
        cost = record.cost.total or Decimal(0)
        with self._lock:
            found = self._usage.get(customer_id)
            if found is None or found[0] < month:
                self._usage[customer_id] = (month, tokens, cost)
            elif found[0] == month:
                self._usage[customer_id] = (month, found[1] + tokens, found[2] + cost)

    def overage(self, customer_id: str, plan: str | None, now: datetime | None = None) -> Decimal:
        """This month's overage revenue so far (0 when the plan bills none)."""
        found = self._usage.get(customer_id)
        if found is None or found[0] != _month(now or datetime.now(timezone.utc)):
            return Decimal(0)
        known = self._plans.plans.get(self._plans.plan_for(customer_id, plan) or "")
        monthly = self._plans.revenue(customer_id, plan)
        if known is None or monthly is None:
            return Decimal(0)
        return bill(known, monthly, Decimal(1), found[1], found[2]).overage


def cache_savings(record: CallRecord, pricer: Pricer | None) -> Decimal | None:
    """What the call's cached input would have cost uncached minus what it cost (at the model and
    day it was priced at); None if unknown."""
    usage, cost = record.usage, record.cost.total
    if pricer is None or usage is None or cost is None or not usage.cache_read_tokens:
        return None
    return pricer.cache_savings(record.provider, record.response_model or record.request_model, usage,
                                record.modifiers, record.start_time_ns)
