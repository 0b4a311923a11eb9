"""Operator price overrides: the ``pricing:`` section of the llmledger config file.

Overrides are evaluated before genai-prices. Schema (all keys optional)::

    pricing:
      deployments:                     # per gen_ai.provider.name: deployment/alias -> model id
        azure.ai.openai:
          my-gpt4o-prod: gpt-4o-2024-08-06
        aws.bedrock:                   # e.g. an application inference profile ARN
          "arn:aws:bedrock:us-east-1:1234:application-inference-profile/a1b2": eu.anthropic.claude-sonnet-4-6
      models:                          # evaluated in order; the first entry that matches wins
        - provider: openai             # gen_ai.provider.name, or "*" for any provider
          model: llama-3.3-70b         # exact id (any case; also matches normalised spellings)
          prices:                      # USD per million tokens (web_searches_kcount: per 1,000)
            input_mtok: 0.10
            output_mtok: 0.30
            cache_read_mtok: 0.01
        - provider: openai
          model: qwen-long
          prices:                      # a tier re-prices the whole request above `start` input tokens
            input_mtok: {base: 0.50, tiers: [{start: 128000, price: 1.00}]}
            output_mtok: {base: 1.50, tiers: [{start: 128000, price: 3.00}]}
          effective_from: 2026-01-01   # inclusive, UTC; effective_until is exclusive
        - provider: anthropic
          model_prefix: claude-        # a whole family ...
          multiplier: 0.85             # ... at 85% of genai-prices' list price (tiers and batch included)
        - provider: azure.ai.openai
          model: my-gpt4o-prod
          base: gpt-4o                 # price like another model ...
          base_provider: openai        # ... of this provider (default: the entry's provider)
        - provider: openai
          model_prefix: ""             # every model ...
          service_tier: scale          # ... called on the Scale tier: list price (no list rate exists)
          multiplier: 1

Entry keys: ``provider`` (required); exactly one of ``model``/``model_prefix``; either ``prices``
(keys: input_mtok, output_mtok, cache_read_mtok, cache_write_mtok, cache_write_1h_mtok,
input_audio_mtok, output_audio_mtok, cache_audio_read_mtok, output_reasoning_mtok,
web_searches_kcount, requests_kcount; a number or ``{base, tiers: [{start, price}]}``) or
``multiplier``/``base``/``base_provider``; ``service_tier``, ``batch``, ``speed`` to restrict the entry
to calls with those modifiers; ``effective_from``/``effective_until``; ``currency`` (USD only);
``note``. A ``prices`` entry matches calls with exactly its modifiers (none by default); a
``multiplier``/``base`` entry matches any call that has at least its modifiers, and its base is
priced with the rest. ``prices`` are compiled into genai-prices ``ModelPrice`` objects, so overrides
use the same arithmetic as the bundled data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone
from decimal import Decimal, InvalidOperation
from types import MappingProxyType

from genai_prices.types import ModelPrice, Tier, TieredPrices

from llmledger.errors import ConfigError
from llmledger.pricing.catalog import find_model
from llmledger.pricing.compile import PRICE_KEYS, compile_card
from llmledger.pricing.modifiers import (
    KNOWN_SERVICE_TIERS,
    PriceContext,
    canonical_service_tier,
    canonical_speed,
    is_known_service_tier,
)
from llmledger.pricing.normalize import model_candidates
from llmledger.pricing.providers import genai_provider_id
from llmledger.pricing.ratecard import CardError

_ENTRY_KEYS = frozenset(
    {"provider", "model", "model_prefix", "prices", "base", "base_provider", "multiplier", "service_tier"}
    | {"batch", "speed", "effective_from", "effective_until", "currency", "note", "region"}
)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class OverrideEntry:
    """One ``pricing.models[i]`` entry, validated."""

    key: str
    """Where it is in the file, e.g. ``pricing.models[2]``."""
    provider: str
    model: str | None
    model_prefix: str | None
    context: PriceContext = ()
    first_day: int | None = None
    """effective_from as days since 1970-01-01 (UTC), inclusive."""
    end_day: int | None = None
    """effective_until as days since 1970-01-01 (UTC), exclusive."""
    prices: ModelPrice | None = None
    base: str | None = None
    base_provider: str | None = None
    multiplier: Decimal | None = None

    def match(self, provider: str, candidates: tuple[str, ...], day: int, context: PriceContext) -> str | None:
        """The candidate id this entry matches for a call, or None."""
        if self.provider != "*" and self.provider != provider:
            return None
        if (self.first_day is not None and day < self.first_day) or (self.end_day is not None and day >= self.end_day):
            return None
        if self.prices is not None and context != self.context:
            return None
        if self.prices is None and not set(self.context) <= set(context):
            return None
        for candidate in candidates:
            if (self.model is not None and candidate == self.model) or (
                self.model_prefix is not None and candidate.startswith(self.model_prefix)
            ):
                return candidate
        return None


@dataclass(frozen=True, slots=True)
class PriceOverrides:
    """Parsed, immutable price overrides; build with :func:`load_price_overrides`."""

    source: str | None = None
    entries: tuple[OverrideEntry, ...] = ()
    deployments: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def empty(cls) -> PriceOverrides:
        return _EMPTY

    def __hash__(self) -> int:
        # Consistent with ==; the entries hold genai-prices ModelPrice objects, which do not hash.
        return hash((self.source, len(self.entries), tuple(self.deployments)))

    @property
    def label(self) -> str:
        """``Cost.source`` of prices from these overrides: ``override <file name>``."""
        return f"override {os.path.basename(self.source or 'config')}"

    def deployment_target(self, provider: str, model: str) -> str | None:
        names = self.deployments.get(provider)
        return names.get(model.strip().lower()) if names else None


_EMPTY = PriceOverrides()


def load_price_overrides(section: object, source: str) -> PriceOverrides:
    """Validate the YAML-parsed ``pricing:`` section; ConfigError naming the file and entry if invalid."""
    if section is None:
        return PriceOverrides.empty()
    parser = _Parser(source)
    mapping = parser.mapping(section, "pricing")
    parser.known_keys(mapping, {"models", "deployments"}, "pricing")
    deployments = parser.deployments(mapping.get("deployments"))
    raw_models = mapping.get("models")
    if raw_models is None:
        raw_models = []
    if not isinstance(raw_models, list):
        raise ConfigError(f"expected a list of entries, got {_kind(raw_models)}", source=source, key="pricing.models")
    entries = tuple(parser.entry(raw, f"pricing.models[{i}]") for i, raw in enumerate(raw_models))
    return PriceOverrides(source=source, entries=entries, deployments=deployments)


def _kind(value: object) -> str:
    return "nothing" if value is None else f"{type(value).__name__} {value!r}"


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, message: str, key: str) -> ConfigError:
        return ConfigError(message, source=self.source, key=key)

    def mapping(self, value: object, key: str) -> dict[str, object]:
        if not isinstance(value, dict):
            raise self.fail(f"expected a mapping, got {_kind(value)}", key)
        for name in value:
            if not isinstance(name, str):
                raise self.fail(f"keys must be strings, got {name!r}", key)
        return value

    def known_keys(self, mapping: Mapping[str, object], allowed: set[str] | frozenset[str], key: str) -> None:
        unknown = sorted(set(mapping) - set(allowed))
        if unknown:
            raise self.fail(
                f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})", f"{key}.{unknown[0]}"
            )

    def text(self, value: object, key: str, *, allow_empty: bool = False) -> str:
        if not isinstance(value, str) or (not value.strip() and not allow_empty):
            raise self.fail(f"expected a non-empty string, got {_kind(value)}", key)
        return value.strip().lower()

    def deployments(self, value: object) -> Mapping[str, Mapping[str, str]]:
        if value is None:
            return MappingProxyType({})
        result: dict[str, Mapping[str, str]] = {}
        for provider, names in self.mapping(value, "pricing.deployments").items():
            key = f"pricing.deployments.{provider}"
            table = {
                self.text(name, f"{key}"): self.text(target, f"{key}.{name}")
                for name, target in self.mapping(names, key).items()
            }
            result[provider.strip().lower()] = MappingProxyType(table)
        return MappingProxyType(result)

    def number(self, value: object, key: str, *, positive: bool = False) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise self.fail(f"expected a number, got {_kind(value)}", key)
        try:
            # str() of a float is its shortest repr: 0.1 stays Decimal('0.1'), not the binary value.
            number = Decimal(str(value).strip())
        except InvalidOperation:
            raise self.fail(f"expected a number, got {_kind(value)}", key) from None
        if not number.is_finite() or number < 0 or (positive and number == 0):
            raise self.fail(f"expected a {'positive' if positive else 'non-negative'} number, got {value!r}", key)
        return number

    def price(self, value: object, key: str) -> Decimal | TieredPrices:
        if not isinstance(value, dict):
            return self.number(value, key)
        tiered = self.mapping(value, key)
        self.known_keys(tiered, {"base", "tiers"}, key)
        if "base" not in tiered:
            raise self.fail("a tiered price needs 'base' (the price below the first tier)", f"{key}.base")
        raw_tiers = tiered.get("tiers")
        if not isinstance(raw_tiers, list) or not raw_tiers:
            raise self.fail(f"expected a non-empty list of {{start, price}}, got {_kind(raw_tiers)}", f"{key}.tiers")
        tiers: list[Tier] = []
        for index, raw in enumerate(raw_tiers):
            tier_key = f"{key}.tiers[{index}]"
            tier = self.mapping(raw, tier_key)
            self.known_keys(tier, {"start", "price"}, tier_key)
            start = tier.get("start")
            if isinstance(start, bool) or not isinstance(start, int) or start < 0:
                raise self.fail(f"expected a token count >= 0, got {_kind(start)}", f"{tier_key}.start")
            if tiers and start <= tiers[-1].start:
                raise self.fail("tier starts must increase", f"{tier_key}.start")
            tiers.append(Tier(start=start, price=self.number(tier.get("price"), f"{tier_key}.price")))
        return TieredPrices(base=self.number(tiered["base"], f"{key}.base"), tiers=tiers)

    def day(self, value: object, key: str) -> int:
        if isinstance(value, datetime):
            value = (value.astimezone(timezone.utc) if value.tzinfo else value).date()
        elif isinstance(value, str):
            try:
                value = date.fromisoformat(value.strip())
            except ValueError:
                raise self.fail(f"expected a date like 2026-01-31, got {value!r}", key) from None
        if not isinstance(value, date):
            raise self.fail(f"expected a date like 2026-01-31, got {_kind(value)}", key)
        return value.toordinal() - _EPOCH_ORDINAL

    def context(self, raw: Mapping[str, object], key: str) -> PriceContext:
        entries: dict[str, str] = {}
        if raw.get("batch") is not None:
            if not isinstance(raw["batch"], bool):
                raise self.fail(f"expected true or false, got {_kind(raw['batch'])}", f"{key}.batch")
            if raw["batch"]:
                entries["processing"] = "batch"
        if raw.get("service_tier") is not None:
            tier_text = self.text(raw["service_tier"], f"{key}.service_tier")
            if not is_known_service_tier(tier_text):
                raise self.fail(
                    f"unknown service tier {tier_text!r} (known: {', '.join(KNOWN_SERVICE_TIERS)})",
                    f"{key}.service_tier",
                )
            tier = canonical_service_tier(tier_text)
            if tier == "batch":
                entries["processing"] = "batch"
            elif tier is not None:
                entries["service_tier"] = tier
        if raw.get("speed") is not None:
            speed = canonical_speed(self.text(raw["speed"], f"{key}.speed"))
            if speed not in (None, "fast"):
                raise self.fail(f"unknown speed {raw['speed']!r} (known: standard, fast)", f"{key}.speed")
            if speed:
                entries["speed"] = speed
        if raw.get("region") is not None:
            entries["region"] = self.text(raw["region"], f"{key}.region").strip().lower()
        return tuple(sorted(entries.items()))

    def entry(self, raw_entry: object, key: str) -> OverrideEntry:
        raw = self.mapping(raw_entry, key)
        self.known_keys(raw, _ENTRY_KEYS, key)
        if "provider" not in raw:
            raise self.fail("missing 'provider' (a gen_ai.provider.name such as openai, or '*')", f"{key}.provider")
        provider = self.text(raw["provider"], f"{key}.provider")
        if ("model" in raw) == ("model_prefix" in raw):
            raise self.fail("give exactly one of 'model' and 'model_prefix'", f"{key}.model")
        model = self.text(raw["model"], f"{key}.model") if "model" in raw else None
        prefix = (
            self.text(raw["model_prefix"], f"{key}.model_prefix", allow_empty=True) if "model_prefix" in raw else None
        )
        if raw.get("currency") is not None and str(raw["currency"]).strip().upper() != "USD":
            raise self.fail(f"only USD prices are supported, got {raw['currency']!r}", f"{key}.currency")
        first = (
            self.day(raw["effective_from"], f"{key}.effective_from") if raw.get("effective_from") is not None else None
        )
        end = (
            self.day(raw["effective_until"], f"{key}.effective_until")
            if raw.get("effective_until") is not None
            else None
        )
        if first is not None and end is not None and end <= first:
            raise self.fail("effective_until must be after effective_from", f"{key}.effective_until")
        entry = OverrideEntry(key, provider, model, prefix, self.context(raw, key), first, end)
        scaling = [name for name in ("base", "base_provider", "multiplier") if name in raw]
        if "prices" in raw:
            if scaling:
                raise self.fail(f"'prices' cannot be combined with {scaling[0]!r}", f"{key}.{scaling[0]}")
            return replace(entry, prices=self.prices(raw["prices"], f"{key}.prices"))
        if not scaling:
            raise self.fail("give 'prices', or 'multiplier' and/or 'base'", f"{key}.prices")
        return self.scaled_entry(raw, entry)

    def prices(self, value: object, key: str) -> ModelPrice:
        raw = self.mapping(value, key)
        if not raw:
            raise self.fail("no prices given", key)
        self.known_keys(raw, set(PRICE_KEYS), key)
        model_price = ModelPrice(**{name: self.price(raw[name], f"{key}.{name}") for name in PRICE_KEYS if name in raw})
        try:
            compile_card(model_price, source="override", matched_model="override")
        except CardError as exc:
            raise self.fail(f"invalid prices: {exc}", key) from None
        return model_price

    def scaled_entry(self, raw: Mapping[str, object], entry: OverrideEntry) -> OverrideEntry:
        key = entry.key
        multiplier = self.number(raw["multiplier"], f"{key}.multiplier", positive=True) if "multiplier" in raw else None
        base = self.text(raw["base"], f"{key}.base") if "base" in raw else None
        base_provider = self.text(raw["base_provider"], f"{key}.base_provider") if "base_provider" in raw else None
        if base_provider is not None and base is None:
            raise self.fail("'base_provider' needs 'base'", f"{key}.base_provider")
        lookup_provider = base_provider or entry.provider
        if lookup_provider == "*":
            if base is not None:
                raise self.fail("with provider '*', give 'base_provider' for 'base'", f"{key}.base_provider")
        else:
            provider_id = genai_provider_id(lookup_provider)
            where = f"{key}.base_provider" if base_provider else f"{key}.provider"
            if provider_id is None:
                raise self.fail(f"genai-prices has no provider {lookup_provider!r} to take list prices from", where)
            if (
                base is not None
                and find_model(provider_id, model_candidates(base, bedrock=provider_id == "aws")) is None
            ):
                raise self.fail(f"genai-prices has no model {base!r} for provider {lookup_provider!r}", f"{key}.base")
        return replace(entry, base=base, base_provider=base_provider, multiplier=multiplier)
