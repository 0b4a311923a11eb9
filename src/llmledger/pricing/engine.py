"""The Pricer: the one object the instrumentation asks for the cost of a call.

Hot path: a dict lookup keyed by (provider, model, modifiers, UTC day) returns a compiled rate card,
which prices the usage with integer arithmetic (see ratecard.py); about 2-4 µs on a warm key. The
day in the key is what lets dated price changes apply through the memo: a call on another day
resolves afresh. Misses resolve (normalisation, overrides, genai-prices) in a few hundred µs and
store the result, unpriced results included, so an unknown model costs one lookup per day.

No lock: dict get/set are atomic under the GIL, two threads resolving the same key compute the same
entry, and the memo is bounded by clearing it when full (entries are cheap to rebuild).
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

from llmledger.pricing.breakdown import Quote, quote_lines
from llmledger.pricing.modifiers import PriceContext, describe, price_context
from llmledger.pricing.overrides import PriceOverrides
from llmledger.pricing.ratecard import RateCard, ReferenceCard
from llmledger.pricing.resolve import Entry, Resolver, TimedEntry, Unpriced
from llmledger.usage import NO_MODIFIERS, Cost, PriceModifiers, Usage, utc_from_ns

logger = logging.getLogger("llmledger.pricing")

_NO_USAGE = Cost(status="no_usage")
_ZERO = Decimal(0)
_UNPRICED = Cost(status="unpriced")
_MEMO_CAP = 8192
_WARNED_CAP = 10_000
_SECONDS_PER_DAY = 86_400
_EPOCH_ORDINAL = 719_163  # date(1970, 1, 1).toordinal()

_NS_PER_DAY = _SECONDS_PER_DAY * 10**9

MemoKey = tuple[str, str | None, int] | tuple[str, str | None, int, PriceModifiers]
At = datetime | int | None
"""When a call was made: a datetime, nanoseconds since the epoch (``CallRecord.start_time_ns``, so
the call path makes no datetime), or None for now."""


def utc_day(at: At) -> int:
    """Days since 1970-01-01 of the call's UTC date (naive datetimes are UTC, as in genai-prices)."""
    if isinstance(at, datetime):
        if at.tzinfo is None:
            return at.toordinal() - _EPOCH_ORDINAL
        return int(at.timestamp() // _SECONDS_PER_DAY)
    if at is None:
        return int(time.time() // _SECONDS_PER_DAY)
    return at // _NS_PER_DAY


class Pricer:
    """Prices calls: overrides first, then the pinned genai-prices data; never raises."""

    def __init__(self, overrides: PriceOverrides | None = None) -> None:
        self._resolver = Resolver(overrides or PriceOverrides.empty())
        self._memo: dict[MemoKey, Entry] = {}
        self._contexts: dict[PriceModifiers, PriceContext] = {}
        self._warned: set[tuple[str, ...]] = set()

    def price(
        self,
        provider: str,
        model: str | None,
        usage: Usage | None,
        modifiers: PriceModifiers = NO_MODIFIERS,
        at: At = None,
    ) -> Cost:
        """The cost of one call in exact USD; ``unpriced`` (never $0) when no price is known.

        ``at`` is the time of the call (default: now); it selects the prices in force that day.
        """
        if usage is None:
            return _NO_USAGE
        if usage.iterations:
            return self._price_iterations(provider, model, usage, modifiers, at)
        try:
            card = self._card(provider, model, modifiers, at)
            cost = card.price(usage)
            if cost is None:
                return self._bad_usage(provider, model, card, usage)
            return cost
        except Exception:
            logger.debug("llmledger: pricing %s/%s failed", provider, model, exc_info=True)
            return _UNPRICED

    def cache_savings(
        self, provider: str, model: str | None, usage: Usage, modifiers: PriceModifiers = NO_MODIFIERS, at: At = None
    ) -> Decimal | None:
        """What the usage's cache reads would have cost as plain input, minus what they cost: its
        price without cache reads minus its price. None when either is unknown."""
        if not usage.cache_read_tokens:
            return _ZERO
        try:
            card = self._card(provider, model, modifiers, at) if not usage.iterations else None
            if isinstance(card, RateCard):  # the input slices' difference, without pricing twice
                return card.cache_savings(usage) if card.price(usage) is not None else None
        except Exception:
            logger.debug("llmledger: cache savings of %s/%s failed", provider, model, exc_info=True)
            return None
        cached = self.price(provider, model, usage, modifiers, at).total
        uncached = self.price(provider, model, replace(usage, cache_read_tokens=0, cache_read_audio_tokens=0),
                              modifiers, at).total
        return None if cached is None or uncached is None else uncached - cached

    def _card(
        self, provider: str, model: str | None, modifiers: PriceModifiers, at: At
    ) -> RateCard | ReferenceCard | Unpriced:
        """The resolved prices of (provider, model, modifiers) on the call's day; memoised."""
        # NO_MODIFIERS (the common case) is left out of the key: hashing the dataclass costs more
        # than the rest of the lookup.
        key: MemoKey = (
            (provider, model, utc_day(at)) if modifiers is NO_MODIFIERS else (provider, model, utc_day(at), modifiers)
        )
        entry = self._memo.get(key)
        if entry is None:
            entry = self._resolve(key)
        return self._timed_card(entry, at) if isinstance(entry, TimedEntry) else entry

    def _price_iterations(
        self, provider: str, model: str | None, usage: Usage, modifiers: PriceModifiers, at: At
    ) -> Cost:
        """Each sampling step at its own model and tier; the call's cost is their sum.

        Per-call counts that no step reports (web searches) are priced at the call's model.
        """
        costs = [
            self.price(provider, step.model or model, replace(step.usage, iterations=()), modifiers, at)
            for step in usage.iterations
        ]
        searches = usage.web_searches - sum(step.usage.web_searches for step in usage.iterations)
        if searches > 0:
            costs.append(self.price(provider, model, Usage(web_searches=searches), modifiers, at))
        if any(cost.status != "priced" for cost in costs):
            first = next(cost for cost in costs if cost.status != "priced")
            return Cost(status="unpriced", matched_model=first.matched_model)
        return Cost(
            status="priced",
            total=sum((cost.total or _ZERO for cost in costs), _ZERO),
            input=sum((cost.input or _ZERO for cost in costs), _ZERO),
            output=sum((cost.output or _ZERO for cost in costs), _ZERO),
            source=costs[0].source,
            matched_model=costs[0].matched_model,
        )

    def quote(
        self,
        provider: str,
        model: str | None,
        usage: Usage,
        modifiers: PriceModifiers = NO_MODIFIERS,
        at: At = None,
    ) -> Quote:
        """The cost with a line-by-line breakdown and, when unpriced, the reason (for the CLI)."""
        cost = self.price(provider, model, usage, modifiers, at)
        day = utc_day(at)
        entry: Entry | None = self._memo.get(
            (provider, model, day) if modifiers is NO_MODIFIERS else (provider, model, day, modifiers)
        )
        if isinstance(entry, TimedEntry):
            entry = self._timed_card(entry, at)
        if cost.status != "priced":
            if isinstance(entry, Unpriced):
                reason = entry.reason
            elif isinstance(entry, RateCard | ReferenceCard):
                reason = entry.why_unpriced(usage)
            else:
                reason = "pricing failed (see the debug log)"
            return Quote(cost, (), reason)
        lines = quote_lines(entry, usage) if isinstance(entry, RateCard) and not usage.iterations else ()
        return Quote(cost, lines, None)

    def _resolve(self, key: MemoKey) -> Entry:
        provider, model, day = key[0], key[1], key[2]
        modifiers = key[3] if len(key) == 4 else NO_MODIFIERS
        context = self._contexts.get(modifiers)
        if context is None:
            context = self._contexts[modifiers] = price_context(modifiers)
        entry = self._resolver.resolve(provider, model, context, day)
        if isinstance(entry, Unpriced):
            if entry.unknown_model:
                self._warn_once(
                    (provider, str(model)),
                    "llmledger: no price known for model %r of provider %r (%s); its calls are recorded "
                    "as unpriced. Add it under `pricing:` in the llmledger config to price them.",
                    model,
                    provider,
                    entry.reason,
                )
            else:
                self._warn_once(
                    (provider, str(model), describe(context)),
                    "llmledger: calls to %r of provider %r are recorded as unpriced: %s",
                    model,
                    provider,
                    entry.reason,
                )
        if len(self._memo) >= _MEMO_CAP:
            self._memo.clear()
        self._memo[key] = entry
        return entry

    def _timed_card(self, entry: TimedEntry, at: At) -> RateCard | ReferenceCard | Unpriced:
        if isinstance(at, int):
            return entry.card_at(utc_from_ns(at))
        return entry.card_at(at or datetime.now(timezone.utc))

    def _bad_usage(
        self, provider: str, model: str | None, entry: RateCard | ReferenceCard | Unpriced, usage: Usage
    ) -> Cost:
        reason = entry.why_unpriced(usage) if isinstance(entry, RateCard | ReferenceCard) else entry.reason
        self._warn_once(
            (provider, str(model), "usage", reason),
            "llmledger: a call to %r of provider %r is recorded as unpriced: %s (usage %s)",
            model,
            provider,
            reason,
            usage,
        )
        return Cost(status="unpriced", matched_model=entry.matched_model)

    def _warn_once(self, key: tuple[str, ...], message: str, *args: object) -> None:
        if key in self._warned:
            return
        if len(self._warned) >= _WARNED_CAP:
            return  # a flood of distinct bad model ids must not grow memory without bound
        self._warned.add(key)
        logger.warning(message, *args)
