"""Resolution: which prices apply to a (provider, model, price context, day), as a rate card.

Order: the deployment map, then override entries (first match wins), then the genai-prices data,
else unpriced with a reason. Every result is valid for a whole UTC day (price changes are dated),
except off-peak prices that change within a day (:class:`TimedEntry`), which are resolved per call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Context, Decimal

from genai_prices.types import ModelPrice

from llmledger.pricing.catalog import (
    GENAI_SOURCE,
    CatalogModel,
    MissingRate,
    day_start,
    find_model,
    prices_at,
)
from llmledger.pricing.compile import compile_card
from llmledger.pricing.corrections import audio_correction, long_context_limit, redirect_alias
from llmledger.pricing.modifiers import PriceContext
from llmledger.pricing.normalize import model_candidates
from llmledger.pricing.overrides import OverrideEntry, PriceOverrides
from llmledger.pricing.providers import AUDIO_BILLED_SEPARATELY, genai_provider_id
from llmledger.pricing.ratecard import CardError, RateCard, ReferenceCard
from llmledger.pricing.surcharges import combine, flex_fallback, split_surcharges
from llmledger.usage import Cost, Usage

_EXACT = Context(prec=60)
_LOOKUP_CAP = 4096


@dataclass(frozen=True, slots=True)
class Unpriced:
    """No price applies; ``reason`` says why (logged once)."""

    cost: Cost
    reason: str
    unknown_model: bool = False
    """True when the model itself is unknown (as opposed to a missing tier rate or date)."""

    @property
    def matched_model(self) -> str | None:
        return self.cost.matched_model

    def price(self, usage: Usage) -> Cost:
        return self.cost


def unpriced(reason: str, matched_model: str | None = None, *, unknown_model: bool = False) -> Unpriced:
    return Unpriced(Cost(status="unpriced", matched_model=matched_model), reason, unknown_model)


@dataclass(frozen=True, slots=True)
class TimedEntry:
    """Prices with a time-of-day constraint (off-peak rates): resolved at each call's own time."""

    found: CatalogModel
    context: PriceContext
    source: str
    multiplier: Decimal | None

    @property
    def matched_model(self) -> str:
        return self.found.model.id

    def card_at(self, when: datetime) -> RateCard | ReferenceCard | Unpriced:
        return _catalog_card(self.found, self.context, when, self.source, self.multiplier)


Entry = RateCard | ReferenceCard | Unpriced | TimedEntry


@dataclass(frozen=True, slots=True)
class _Lookup:
    candidates: tuple[str, ...]
    provider_id: str | None
    found: CatalogModel | None


class Resolver:
    """Resolves calls against one set of overrides and the pinned genai-prices data."""

    def __init__(self, overrides: PriceOverrides) -> None:
        self.overrides = overrides
        self._lookups: dict[tuple[str, str], _Lookup] = {}

    def resolve(self, provider: str, model: str | None, context: PriceContext, day: int) -> Entry:
        name = provider.strip().lower()
        if model is None or not model.strip():
            return unpriced("the call reported no model id", unknown_model=True)
        lookup = self._lookup(name, model)
        for entry in self.overrides.entries:
            matched = entry.match(name, lookup.candidates, day, context)
            if matched is not None:
                return self._from_override(entry, matched, name, lookup, context, day)
        if lookup.provider_id is None:
            return unpriced(f"genai-prices has no provider {provider!r}", unknown_model=True)
        if lookup.found is None:
            return unpriced(f"{GENAI_SOURCE} has no model {model!r} for provider {provider!r}", unknown_model=True)
        return _catalog_entry(lookup.found, context, day, GENAI_SOURCE, None)

    def _lookup(self, provider: str, model: str) -> _Lookup:
        key = (provider, model)
        hit = self._lookups.get(key)
        if hit is not None:
            return hit
        provider_id = genai_provider_id(provider)
        bedrock = provider_id == "aws"
        target = self.overrides.deployment_target(provider, model)
        candidates = model_candidates(model, bedrock=bedrock)
        if target is not None:
            # The mapped model first; the deployment name stays matchable by override entries.
            candidates = (*model_candidates(target, bedrock=bedrock), *candidates)
        found = find_model(provider_id, candidates) if provider_id is not None else None
        hit = _Lookup(candidates, provider_id, found)
        if len(self._lookups) >= _LOOKUP_CAP:
            self._lookups.clear()  # a bound, not an LRU: the working set of models is small
        self._lookups[key] = hit
        return hit

    def _from_override(
        self,
        entry: OverrideEntry,
        matched: str,
        provider: str,
        lookup: _Lookup,
        context: PriceContext,
        day: int,
    ) -> Entry:
        label = self.overrides.label
        if entry.prices is not None:
            return _card(entry.prices, label, matched, strict_audio=False)
        base_provider = entry.base_provider or provider
        provider_id = genai_provider_id(base_provider)
        if entry.base is None and base_provider == provider:
            found = lookup.found
        elif provider_id is None:
            found = None
        else:
            candidates = model_candidates(entry.base or matched, bedrock=provider_id == "aws")
            found = find_model(provider_id, candidates)
        if found is None:
            base = entry.base or matched
            return unpriced(
                f"{entry.key} prices {matched!r} from {base!r}, which {GENAI_SOURCE} does not know for "
                f"provider {base_provider!r}",
                unknown_model=True,
            )
        rest = tuple(item for item in context if item not in entry.context)
        return _catalog_entry(found, rest, day, label, entry.multiplier)


def _catalog_entry(
    found: CatalogModel, context: PriceContext, day: int, source: str, multiplier: Decimal | None
) -> Entry:
    if found.time_of_day_dependent:
        return TimedEntry(found, context, source, multiplier)
    return _catalog_card(found, context, day_start(day), source, multiplier)


def _catalog_card(
    found: CatalogModel, context: PriceContext, when: datetime, source: str, multiplier: Decimal | None
) -> RateCard | ReferenceCard | Unpriced:
    found = redirect_alias(found, when)
    surcharge = split_surcharges(found.provider.id, found.model.id, context)
    if surcharge.refusal is not None:
        return unpriced(surcharge.refusal, found.model.id)
    context, multiplier = surcharge.context, combine(multiplier, surcharge.factor)
    try:
        model_price = prices_at(found, when, context)
    except MissingRate as exc:
        flex = flex_fallback(found.provider.id, context)
        if flex is None:
            return unpriced(str(exc), found.model.id)
        try:
            model_price = prices_at(found, when, flex.context)
        except MissingRate as again:
            return unpriced(str(again), found.model.id)
        multiplier = combine(multiplier, flex.factor)
    model_price = audio_correction(found, model_price)
    limit = long_context_limit(found, model_price, when)
    strict_audio = found.provider.id in AUDIO_BILLED_SEPARATELY
    return _card(model_price, source, found.model.id, strict_audio=strict_audio, max_input=limit, multiplier=multiplier)


def _card(
    model_price: ModelPrice,
    source: str,
    matched: str,
    *,
    strict_audio: bool,
    max_input: int | None = None,
    multiplier: Decimal | None = None,
) -> RateCard | ReferenceCard | Unpriced:
    try:
        return compile_card(
            model_price,
            source=source,
            matched_model=matched,
            strict_audio=strict_audio,
            max_input=max_input,
            multiplier=multiplier,
        )
    except CardError as exc:
        return unpriced(f"the prices of {matched!r} are invalid: {exc}", matched)
