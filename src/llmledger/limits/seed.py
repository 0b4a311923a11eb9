"""Start the limit windows from the ledger, so that a restart does not reset a customer's month.

At ``init()``, when a ledger is configured, the ledger's month-to-date and day-to-date cost and
tokens per customer (and per customer and feature, for ``feature:`` rules) are read once
(:func:`ledger_sums`). In-process they become the store's starting totals; with Redis they seed
each window Redis does not hold yet (see :mod:`llmledger.limits.redis_store`). The rolling minute
starts empty. A ledger that does not exist yet or cannot be read seeds nothing (with a warning).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from llmledger.limits.rules import LimitRules
from llmledger.limits.store import MemoryStore, to_pico
from llmledger.limits.windows import Moment, day_start, month_start

logger = logging.getLogger("llmledger.limits")


def seed_from_ledger(store: MemoryStore, ledger: str, rules: LimitRules, moment: Moment) -> int:
    """Add the ledger's month-to-date and day-to-date sums to ``store``; returns the scopes seeded."""
    sums = ledger_sums(ledger, rules, moment)
    for scope, (month_pusd, month_tokens, day_pusd, day_tokens) in sums.items():
        store.seed(scope, moment, month_pusd=month_pusd, month_tokens=month_tokens, day_pusd=day_pusd,
                   day_tokens=day_tokens)
    return len(sums)


def ledger_sums(ledger: str, rules: LimitRules, moment: Moment) -> dict[str, tuple[int, int, int, int]]:
    """Per scope: month picodollars, month tokens, day picodollars, day tokens, as of ``moment``."""
    from llmledger.ledger import Filters, LedgerNotFound, open_store

    now = datetime.fromtimestamp(moment.now, timezone.utc)
    month, day = month_start(now), day_start(now)
    sums: dict[str, list[int]] = {}
    try:
        with open_store(ledger, create=False) as ledger_store:
            for index, since in ((0, month), (1, day)):
                for group in ledger_store.aggregate("customer", Filters(since=since)):
                    customer = group.key[0]
                    if customer is None:
                        continue
                    entry = sums.setdefault(customer, [0, 0, 0, 0])
                    entry[2 * index] += to_pico(group.cost)
                    entry[2 * index + 1] += group.tokens
            if rules.has_feature_rules:
                for customer in list(sums):
                    for index, since in ((0, month), (1, day)):
                        for group in ledger_store.aggregate("feature", Filters(since=since, customer=customer)):
                            feature = group.key[0]
                            if feature is None or feature not in rules.by_feature:
                                continue
                            entry = sums.setdefault(f"{customer}|feature={feature}", [0, 0, 0, 0])
                            entry[2 * index] += to_pico(group.cost)
                            entry[2 * index + 1] += group.tokens
    except LedgerNotFound:
        return {}
    except Exception:
        logger.warning("llmledger: could not read month-to-date usage from the ledger %s; limits start "
                       "from zero in this process", ledger, exc_info=True)
        return {}
    return {scope: (entry[0], entry[1], entry[2], entry[3]) for scope, entry in sums.items()}
