"""What limits record: span attributes, metrics and log lines (their names live here).

* span attributes on a call over a limit: ``llmledger.limit.rule`` (``plan=starter``),
  ``llmledger.limit.cap`` (``usd_per_month``), ``llmledger.limit.window`` (month, day, minute),
  ``llmledger.limit.used``, ``llmledger.limit.limit``, ``llmledger.limit.action`` (block, warn),
  ``llmledger.limit.resets_at``; a blocked call also has ``error.type = LimitExceeded``.
* ``llmledger.limit.exceeded`` (counter, ``{call}``): calls over a limit, by ``customer.id``,
  ``llmledger.limit.rule`` and ``llmledger.limit.action``.
* ``llmledger.limit.usage`` (gauge, ratio used/limit as of the customer's last check), by
  ``customer.id``, ``llmledger.limit.rule``, ``llmledger.limit.cap``: the alert on customers past
  80% of a limit reads it.
* ``llmledger.limit.store_errors`` (counter): checks and updates the limit store failed.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation

from llmledger.version import __version__

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from llmledger.limits.verdict import Verdict

logger = logging.getLogger("llmledger.limits")
_SEEN_LIMIT = 10_000


class LimitSignals:
    def __init__(self, meter_provider: MeterProvider | None,
                 customer_label: Callable[[str, str | None], str]) -> None:
        meter = metrics.get_meter("llmledger", __version__, meter_provider=meter_provider)
        self._exceeded = meter.create_counter(
            "llmledger.limit.exceeded", unit="{call}", description="LLM calls over a customer limit.")
        self._store_errors = meter.create_counter(
            "llmledger.limit.store_errors", unit="{error}",
            description="Limit checks and updates that failed because the limit store was unreachable.")
        meter.create_observable_gauge(
            "llmledger.limit.usage", callbacks=[self._observe_usage], unit="1",
            description="Share of a customer's limit used (1 = at the limit), as of its last check.")
        self._customer_label = customer_label
        self.ratios: Callable[[], Iterable[tuple[str, str, str, float]]] = tuple
        """Per customer label, rule and cap, used / limit as of the last check (set by the guard)."""
        self._warned: set[tuple[str, str, str]] = set()
        self.store_down = False
        self._lock = threading.Lock()

    # ---- per check --------------------------------------------------------------------------
    def label(self, customer: str, plan: str | None) -> str:
        """``customer.id`` as metrics carry it (bounded: ``_other`` past the cap)."""
        return self._customer_label(customer, plan)

    def exceeded(self, verdict: Verdict, span: Span | None) -> None:
        """A call over a limit: span attributes, the counter, one log line per customer and window."""
        if span is not None:
            span.set_attributes(verdict.span_attributes())
        self._exceeded.add(1, {"customer.id": self._customer_label(verdict.customer, verdict.plan),
                               "llmledger.limit.rule": verdict.rule.name,
                               "llmledger.limit.action": verdict.rule.action})
        key = (verdict.customer, verdict.cap.key if verdict.cap else "", verdict.window_key)
        if key in self._warned:
            return
        with self._lock:
            if len(self._warned) > _SEEN_LIMIT:
                self._warned.clear()
            self._warned.add(key)
        logger.warning("llmledger: customer %r is over limit %s (%s); %s", verdict.customer,
                       verdict.rule.name, verdict.describe(),
                       "calls are refused until it resets" if verdict.rule.action == "block"
                       else "calls go on (action: warn)")

    # ---- the store -------------------------------------------------------------------------
    def store_error(self, store: str, fail_closed: bool, what: str) -> None:
        self._store_errors.add(1, {"llmledger.limit.store": store})
        if self.store_down:
            return
        self.store_down = True
        logger.warning("llmledger: the limit store (%s) failed to %s; %s until it answers again", store,
                       what, "calls under a limit are REFUSED (limits_fail_closed: true)" if fail_closed
                       else "calls go through unchecked (fail open)", exc_info=True)

    def store_ok(self) -> None:
        if self.store_down:
            self.store_down = False
            logger.warning("llmledger: the limit store answers again; limits are enforced")

    def _observe_usage(self, options: CallbackOptions) -> Iterable[Observation]:
        usage: dict[tuple[str, str, str], float] = {}
        for customer, rule, cap, ratio in self.ratios():
            key = (customer, rule, cap)  # customers folded into "_other": the highest ratio
            usage[key] = max(ratio, usage.get(key, ratio))
        for (customer, rule, cap), ratio in usage.items():
            yield Observation(ratio, {"customer.id": customer, "llmledger.limit.rule": rule,
                                      "llmledger.limit.cap": cap})
