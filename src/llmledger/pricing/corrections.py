"""Known errors in the pinned genai-prices data, and what we do about them.

Found while cross-checking the golden costs against the providers' published list prices (see
docs/pricing.md). Each rule is narrow, says why, and stops applying once the data is fixed (the
conditions test the data itself), so a dependency bump cannot leave a stale correction behind.

1. ``mistral-large-latest`` is still the $2/$6 Mistral Large 2 entry, but the alias moved to Mistral
   Large 3 (``mistral-large-2512``, $0.5/$1.5) when it was released on 2025-12-02, the date the
   data itself uses for the other Mistral 3 aliases (``ministral-8b-latest``). Priced as the target.
2. Long-context (>200k input) rates that the data lacks: Claude Sonnet 4 has none anywhere (its 1M
   context beta billed $6/$22.50 above 200k), and Bedrock/Vertex entries of Claude models lack the
   tiers the Anthropic entry has on the same date (Bedrock Sonnet 4.5: 1M in + 1M out is $18 there
   against $28.50 at Anthropic). Above the threshold such calls are unpriced instead of billed at
   the short-context rate.
3. ``gpt-4o-audio-preview`` has no audio rates, so genai-prices would price its audio tokens as text.
   OpenAI lists its audio at $40/M in and $80/M out (the 2024-12-17 snapshot the alias has named
   since, and 2025-06-03); the first snapshot, ``-2024-10-01``, was $100/$200 and stays unpriced.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from genai_prices.types import ModelPrice

from llmledger.pricing.catalog import CatalogModel, find_model
from llmledger.pricing.compile import has_only_known_prices, known_prices, thresholds_of

_MISTRAL_3_RELEASE = date(2025, 12, 2)
_LONG_CONTEXT_START = 200_000
# (provider id, model id) entries with no long-context tier where the model had one.
_NO_LONG_CONTEXT_RATE = frozenset(
    {
        ("anthropic", "claude-sonnet-4-0"),
        ("google", "claude-4-sonnet"),
        ("aws", "regional.anthropic.claude-sonnet-4-20250514-v1:0"),
        ("aws", "global.anthropic.claude-sonnet-4-20250514-v1:0"),
    }
)
_CLAUDE_ID = re.compile(r"(claude-[a-z0-9.-]+?)(?:-v\d+(?::\d+)?)?(?:@.*)?$")


@dataclass(frozen=True, slots=True)
class AliasMove:
    provider: str
    model_id: str
    """The entry the alias wrongly resolves to."""
    alias: str
    since: date
    target: str


ALIAS_MOVES = (AliasMove("mistral", "mistral-large", "mistral-large-latest", _MISTRAL_3_RELEASE, "mistral-large-2512"),)


def redirect_alias(found: CatalogModel, when: datetime) -> CatalogModel:
    """The entry an alias really pointed to at ``when`` (rule 1), else ``found`` unchanged."""
    for move in ALIAS_MOVES:
        if (
            found.provider.id == move.provider
            and found.model.id == move.model_id
            and found.ref == move.alias
            and when.date() >= move.since
        ):
            return find_model(move.provider, (move.target,)) or found
    return found


def long_context_limit(found: CatalogModel, model_price: ModelPrice, when: datetime) -> int | None:
    """Input tokens above which these prices are known to be too low (rule 2), or None."""
    if _has_tiers(model_price):
        return None
    if (found.provider.id, found.model.id) in _NO_LONG_CONTEXT_RATE:
        return _LONG_CONTEXT_START
    if found.provider.id == "anthropic":
        return None
    match = _CLAUDE_ID.search(found.ref)
    if match is None:
        return None
    twin = find_model("anthropic", (match.group(1),))
    if twin is None:
        return None
    twin_prices = twin.model.get_prices(when)
    starts = thresholds_of(twin_prices)
    return min(starts) if starts else None


def _has_tiers(model_price: ModelPrice) -> bool:
    return bool(thresholds_of(model_price))


# model id -> (input audio, output audio) USD per million tokens (rule 3).
_AUDIO_RATES = {"gpt-4o-audio-preview": (Decimal(40), Decimal(80))}
_AUDIO_PROVIDERS = frozenset({"openai", "azure"})
_FIRST_AUDIO_SNAPSHOT = "2024-10-01"


def audio_correction(found: CatalogModel, model_price: ModelPrice) -> ModelPrice:
    """The prices with the audio rates the data lacks (rule 3), else ``model_price`` unchanged."""
    rates = _AUDIO_RATES.get(found.model.id)
    if (
        rates is None
        or found.provider.id not in _AUDIO_PROVIDERS
        or _FIRST_AUDIO_SNAPSHOT in found.ref
        or any(key in ("input_audio_mtok", "output_audio_mtok") for key, _ in known_prices(model_price))
        or not has_only_known_prices(model_price)
    ):
        return model_price
    return ModelPrice(**dict(known_prices(model_price)), input_audio_mtok=rates[0], output_audio_mtok=rates[1])
