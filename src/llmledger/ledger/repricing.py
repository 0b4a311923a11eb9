"""Re-price recorded tokens: what-if model swaps and prompt-cache savings, at today's rates.

Both work on the ledger's token sums (``usage_groups``) and the pricing engine's compiled rate
cards: a card's coefficients are per disjoint token *slice* (``pricing.ratecard.slices``), linear
in the counts, so a group's sums price exactly as its calls one by one, and

* cache savings of a group = its cost with the cache reads billed as plain input minus its cost;
* a what-if prices the group's tokens on the target's card. Token kinds the target has no rate for
  (cache reads or writes, one-hour writes, reasoning) are billed as the target bills them: as the
  plain input or output tokens they are part of.

Prices are linear within a prompt-size tier band, so groups are first read without bands and read
again split at the cards' thresholds only if some call passes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from operator import mul

from llmledger.errors import LLMLedgerError
from llmledger.ledger.queries import Filters
from llmledger.ledger.store import LedgerStore
from llmledger.ledger.usage_groups import Dimension, UsageGroup
from llmledger.pricing.engine import utc_day
from llmledger.pricing.modifiers import price_context
from llmledger.pricing.overrides import PriceOverrides
from llmledger.pricing.ratecard import CW1H, RateCard, slices
from llmledger.pricing.resolve import Resolver, TimedEntry, Unpriced
from llmledger.usage import PriceModifiers, Usage

# Where a what-if target named without its provider is looked for, after the calls' own provider.
PROVIDERS = ("openai", "anthropic", "gcp.gemini", "aws.bedrock", "mistral_ai", "cohere", "groq",
             "gcp.vertex_ai", "azure.ai.openai")


class WhatIfError(LLMLedgerError):
    """A what-if that cannot be answered: a malformed spec, an unknown or unpriced target."""


@dataclass(frozen=True, slots=True)
class WhatIf:
    source: str
    target: str
    feature: str | None = None

    @property
    def label(self) -> str:
        return (f"{self.feature}:" if self.feature else "") + f"{self.source}={self.target}"


def parse_what_if(text: str) -> WhatIf:
    """``FROM=TO`` or ``FEATURE:FROM=TO`` (a ``:`` followed only by digits is part of a model id)."""
    left, equals, target = text.strip().partition("=")
    feature, colon, source = left.partition(":")
    if not colon or source.isdigit() or source.split(":", 1)[0].isdigit():
        feature, source = "", left
    if not equals or not source.strip() or not target.strip():
        raise WhatIfError(f"--what-if expects FROM=TO or FEATURE:FROM=TO, got {text!r}")
    return WhatIf(source.strip(), target.strip(), feature.strip() or None)


class RateCards:
    """Today's compiled rate card per (provider, model, service tier), via the pricing engine."""

    def __init__(self, overrides: PriceOverrides | None = None) -> None:
        self._resolver = Resolver(overrides or PriceOverrides.empty())
        self._day = utc_day(None)
        self._cards: dict[tuple[str, str | None, str | None], RateCard | str] = {}

    def card(self, provider: str, model: str | None, tier: str | None) -> RateCard | str:
        """The card, or why there is none."""
        key = (provider, model, tier)
        found = self._cards.get(key)
        if found is None:
            found = self._cards[key] = self._resolve(*key)
        return found

    def _resolve(self, provider: str, model: str | None, tier: str | None) -> RateCard | str:
        context = price_context(PriceModifiers(service_tier=tier))
        entry = self._resolver.resolve(provider, model, context, self._day)
        if isinstance(entry, TimedEntry):
            return f"{model} has time-of-day prices"
        if isinstance(entry, Unpriced):
            return ("unknown model" if entry.unknown_model else "unpriced") + f": {entry.reason}"
        if not isinstance(entry, RateCard):
            return f"the prices of {model} do not compile to linear rates"
        return entry

    def target_card(self, target: str, provider: str, tier: str | None) -> RateCard:
        """The what-if target's card: on the calls' provider, else on any provider that knows it."""
        reasons = []
        for candidate in (provider, *(p for p in PROVIDERS if p != provider)):
            found = self.card(candidate, target, tier)
            if isinstance(found, RateCard):
                return found
            if not found.startswith("unknown model"):
                reasons.append(f"{candidate}: {found}")
        why = "; ".join(reasons) or "no provider's price list has it"
        tier_text = f" (service tier {tier})" if tier else ""
        raise WhatIfError(f"what-if target model {target!r} cannot be priced{tier_text}: {why}")


def _units(card: RateCard, group: UsageGroup, cache_read_tokens: int) -> tuple[int, Decimal] | None:
    """The group's tokens (with ``cache_read_tokens`` read from the cache) on ``card``, in the card's
    integer units, and the value of one unit; None when the card has no rate for them."""
    checks = card.checks
    if checks.max_input is not None and group.max_input_tokens > checks.max_input:
        return None
    # A target with no one-hour cache-write rate bills those writes as plain (5-minute) writes.
    one_hour = 0 if CW1H in checks.zero else group.cache_write_1h_tokens
    usage = Usage(input_tokens=group.input_tokens, output_tokens=group.output_tokens,
                  cache_read_tokens=cache_read_tokens, cache_write_tokens=group.cache_write_tokens,
                  cache_write_1h_tokens=one_hour, reasoning_tokens=group.reasoning_tokens)
    values = slices(usage, checks.apart)
    if values is None or any(values[index] for index in checks.zero):
        return None
    band, scale = card.line_rates(group.band_floor)
    return sum(map(mul, band.coefficients, values)) + band.per_request * group.calls, scale


def price_group(card: RateCard, group: UsageGroup) -> Decimal | None:
    """The group's tokens on ``card``; None when the card has no rate for them (e.g. prompts this
    large). Token kinds without a rate of their own are billed as the tokens they are part of
    (``ratecard.slices`` with the card's ``apart``), as the engine bills a single call."""
    found = _units(card, group, group.cache_read_tokens)
    return None if found is None else Decimal(found[0]) * found[1]


def cache_saving(card: RateCard, group: UsageGroup) -> Decimal:
    """What the group's cached input would have cost uncached minus what it cost."""
    cached = _units(card, group, group.cache_read_tokens)
    uncached = _units(card, group, 0)
    if cached is None or uncached is None:
        return Decimal(0)
    # The unit value is a power of ten: this equals the difference of the two exact prices.
    return Decimal(uncached[0] - cached[0]) * cached[1]


def banded_groups(store: LedgerStore, filters: Filters,
                  cards_of: Callable[[UsageGroup], Iterable[RateCard]], *,
                  models: Sequence[str] | None = None, cached_only: bool = False,
                  dimension: Dimension = "customer") -> list[UsageGroup]:
    """The usage groups, split at tier thresholds only when some call passes one of its cards'."""
    groups = store.usage_groups(filters, models=models, cached_only=cached_only, dimension=dimension)
    thresholds: set[int] = set()
    lowest: dict[int, int | None] = {}  # per card (by id): its lowest threshold
    split = False
    for group in groups:
        for card in cards_of(group):
            low = lowest.get(id(card), -1)
            if low == -1:
                found = card.thresholds
                thresholds.update(found)
                low = lowest[id(card)] = min(found, default=None)
            split = split or (low is not None and group.max_input_tokens > low)
    if not split:
        return groups
    return store.usage_groups(filters, thresholds=sorted(thresholds), models=models,
                              cached_only=cached_only, dimension=dimension)


def both_dimensions(store: LedgerStore, filters: Filters,
                    cards_of: Callable[[UsageGroup], Iterable[RateCard]], *,
                    models: Sequence[str] | None = None, cached_only: bool = False,
                    specs: Sequence[WhatIf] = ()) -> Grouped:
    """Per customer, then per feature; per customer and feature when a what-if is limited to a
    feature (its calls must be told apart per customer too)."""
    per_customer: Dimension = "customer and feature" if any(spec.feature for spec in specs) else "customer"
    return Grouped(*(banded_groups(store, filters, cards_of, models=models, cached_only=cached_only,
                                   dimension=dimension) for dimension in (per_customer, "feature")))


@dataclass(frozen=True, slots=True)
class Grouped:
    """The same calls grouped per customer and per feature."""

    by_customer: list[UsageGroup]
    by_feature: list[UsageGroup]


@dataclass(slots=True)
class Saving:
    cache_read_tokens: int = 0
    usd: Decimal = field(default_factory=Decimal)


@dataclass(slots=True)
class CacheSavings:
    by_customer: dict[str | None, Saving] = field(default_factory=dict)
    by_feature: dict[str | None, Saving] = field(default_factory=dict)
    by_model: dict[str, Saving] = field(default_factory=dict)
    unpriced_calls: int = 0
    """Cached calls whose model has no price today (left out)."""


def cache_cards(cards: RateCards) -> Callable[[UsageGroup], list[RateCard]]:
    """The card that prices a group's cache savings (the recorded model's, today)."""
    def cards_of(group: UsageGroup) -> list[RateCard]:
        if not group.cache_read_tokens:
            return []
        card = cards.card(group.provider, group.model, group.service_tier)
        return [card] if isinstance(card, RateCard) else []

    return cards_of


def cache_savings_from(groups: Grouped, cards: RateCards) -> CacheSavings:
    cards_of = cache_cards(cards)
    result = CacheSavings()
    for dimension, listed in (("customer", groups.by_customer), ("feature", groups.by_feature)):
        for group in listed:
            if not group.cache_read_tokens:
                continue
            found = cards_of(group)
            if not found:
                result.unpriced_calls += group.calls if dimension != "feature" else 0
                continue
            usd = cache_saving(found[0], group)
            if dimension != "feature":
                targets = [result.by_customer.setdefault(group.customer_id, Saving())]
            else:
                model = f"{group.provider}/{group.model or '?'}"
                targets = [result.by_feature.setdefault(group.feature, Saving()),
                           result.by_model.setdefault(model, Saving())]
            for saving in targets:
                saving.cache_read_tokens += group.cache_read_tokens
                saving.usd += usd
    return result


def cache_savings(store: LedgerStore, filters: Filters, cards: RateCards) -> CacheSavings:
    return cache_savings_from(both_dimensions(store, filters, cache_cards(cards), cached_only=True), cards)
