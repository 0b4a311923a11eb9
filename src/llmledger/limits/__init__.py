"""Per-customer limits: rules, windows, the in-process and Redis stores, and the pre-call check.

Rules come from the config (``limits:``, see :mod:`llmledger.limits.rules`); with none configured
nothing here is built and the call path does no extra work. :func:`build_limit_guard` makes the
guard ``init()`` hands to the lifecycle (the check) and to telemetry (the spend, as a record sink).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from llmledger.config import Config
    from llmledger.limits.guard import LimitGuard
    from llmledger.limits.windows import Clock


def build_limit_guard(config: Config, *, meter_provider: MeterProvider | None = None,
                      customer_label: Any = None, clock: Clock = time.time) -> LimitGuard | None:
    """The guard for ``config``'s rules, or None when there are none (limits off)."""
    rules = config.limits
    if not rules:
        return None
    from llmledger.limits.guard import LimitGuard
    from llmledger.limits.signals import LimitSignals
    from llmledger.limits.store import LimitStore, MemoryStore
    from llmledger.limits.windows import Moment

    signals = LimitSignals(meter_provider, customer_label or (lambda customer, plan: customer))
    store: LimitStore
    if rules.store_url:
        from llmledger.limits.redis_store import RedisStore
        from llmledger.limits.seed import ledger_sums

        moment = Moment.at(clock())
        seeds = ledger_sums(config.ledger, rules, moment) if config.ledger else None
        store = RedisStore(rules.store_url, seeds=seeds, seeded_at=moment,
                           on_error=lambda what: signals.store_error("redis", rules.fail_closed, what),
                           on_ok=signals.store_ok)
    else:
        store = MemoryStore()
        if config.ledger:
            from llmledger.limits.seed import seed_from_ledger

            seed_from_ledger(store, config.ledger, rules, Moment.at(clock()))
    return LimitGuard(rules, store, config.plans, signals, clock=clock)
