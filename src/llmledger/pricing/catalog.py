"""The pinned genai-prices data: model lookup, and the prices that apply on a date and price context.

Why a private snapshot: ``genai_prices.calc_price`` reads a process-global snapshot that
``UpdatePrices`` (network data, no checksum) or ``set_custom_snapshot`` may replace at any time. We
build our own ``DataSnapshot`` over the bundled ``genai_prices.data.providers``, so the version in
``Cost.source`` is exactly the data that priced the call, whatever else runs in the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import genai_prices
from genai_prices.data import providers as _bundled_providers
from genai_prices.data_snapshot import DataSnapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TimeOfDateConstraint

from llmledger.pricing.modifiers import PriceContext, describe

GENAI_SOURCE = f"genai-prices {genai_prices.__version__}"

_SNAPSHOT = DataSnapshot(providers=_bundled_providers, from_auto_update=False)
_PROVIDER_IDS = frozenset(provider.id for provider in _bundled_providers)
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class MissingRate(Exception):
    """The data knows the model but holds no rate for this call's tier/date; the message says why."""


@dataclass(frozen=True, slots=True)
class CatalogModel:
    """A model found in the genai-prices data for one provider."""

    provider: Provider
    model: ModelInfo
    ref: str
    """The (normalised) model id that matched."""

    @property
    def own(self) -> bool:
        """False when the provider prices it through a fallback provider (Azure -> OpenAI ...)."""
        return any(model is self.model for model in self.provider.models)

    @property
    def time_of_day_dependent(self) -> bool:
        """True for off-peak pricing: such prices change within a day, so they are not memoised."""
        constraints = [variant.constraint for variant in self.model.price_variants or ()]
        if isinstance(self.model.prices, list):
            constraints += [conditional.constraint for conditional in self.model.prices]
        return any(isinstance(constraint, TimeOfDateConstraint) for constraint in constraints)


# "Checked 2026-10-15", "catalog last updated 2026-10-13", "as of 2026-09-01" in the price notes.
_CHECKED_DATE = re.compile(r"(?i)\b(?:checked|verified|updated|as of)\b[^.;]{0,40}?\b(20\d\d)-(\d\d)-(\d\d)\b")
STALE_AFTER_DAYS = 60


def data_date(today: date | None = None) -> date | None:
    """How recent the installed genai-prices data is: the newest date on which its price notes say a
    price was checked (the maintainers record each check against the providers' pages, e.g.
    "Checked 2026-10-15"), not after ``today``. None when the data records no check."""
    today = today or datetime.now(timezone.utc).date()
    newest: date | None = None
    for provider in _bundled_providers:
        texts = [provider.price_comments or "", *(model.price_comments or "" for model in provider.models)]
        for text in texts:
            for year, month, day in _CHECKED_DATE.findall(text):
                try:
                    found = date(int(year), int(month), int(day))
                except ValueError:
                    continue
                if found <= today and (newest is None or found > newest):
                    newest = found
    return newest


def genai_provider_exists(provider_id: str) -> bool:
    return provider_id in _PROVIDER_IDS


def find_model(provider_id: str, candidates: Iterable[str]) -> CatalogModel | None:
    """The first candidate id the provider's data matches (fallback providers included)."""
    for ref in candidates:
        try:
            provider, model = _SNAPSHOT.find_provider_model(ref, None, provider_id, None)
        except LookupError:
            continue
        return CatalogModel(provider, model, ref)
    return None


def day_start(day: int) -> datetime:
    """Midnight UTC of a day counted from 1970-01-01; price constraints compare UTC dates."""
    return _EPOCH + timedelta(days=day)


def prices_at(found: CatalogModel, when: datetime, context: PriceContext) -> ModelPrice:
    """The model's prices at ``when`` for the call's price context.

    Raises MissingRate when a context entry (batch, a service tier, fast mode) has no rate active at
    that time: genai-prices would silently fall back to the standard rate, which is the wrong number.
    """
    if context and not found.own:
        raise MissingRate(
            f"{GENAI_SOURCE} has no {describe(context)} rate for {found.model.id!r} on provider "
            f"{found.provider.id!r} (it is priced through a fallback provider, whose tier rates do "
            "not apply)"
        )
    active = [
        variant.when
        for variant in found.model.price_variants or ()
        if variant.constraint is None or variant.constraint.active(when)
    ]
    for key, value in context:
        if not any(when_.get(key) == value and all(item in context for item in when_.items()) for when_ in active):
            raise MissingRate(
                f"{GENAI_SOURCE} has no {describe(((key, value),))} rate for {found.model.id!r} "
                f"on {when.date().isoformat()}"
            )
    return found.model.get_prices(when, dict(context) if context else None)
