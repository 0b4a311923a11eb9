"""Turn :class:`~llmledger.usage.PriceModifiers` into the genai-prices ``price_context``.

Every modifier that is not the provider's standard pay-as-you-go tier becomes one ``(key, value)``
entry. Pricing then requires the data (or an override) to hold a rate for each entry: a batch or
priority call is never silently priced at the standard rate. Capacity tiers bought up front
(OpenAI ``scale``, Bedrock ``reserved``, Vertex provisioned throughput) have no per-token list price,
so they stay unpriced until the operator gives their effective rate in an override.
"""

from __future__ import annotations

from llmledger.usage import PriceModifiers

PriceContext = tuple[tuple[str, str], ...]
"""Sorted ``(key, value)`` pairs: hashable, and a ``dict()`` away from a genai-prices price_context."""

STANDARD: PriceContext = ()

# Words providers use for their standard tier (OpenAI "default"/"auto", Anthropic "standard",
# Vertex traffic type "ON_DEMAND"); all price like no modifier at all.
_STANDARD_TIERS = frozenset(
    {"", "default", "auto", "standard", "standard_only", "on_demand", "ondemand", "traffic_type_unspecified"}
)
_TIER_ALIASES: dict[str, str] = {
    "flex": "flex",
    "on_demand_flex": "flex",
    "priority": "priority",
    "on_demand_priority": "priority",
    "fast": "fast",
    "scale": "scale",
    "reserved": "reserved",
    "provisioned": "provisioned",
    "provisioned_throughput": "provisioned",
}
_STANDARD_SPEEDS = frozenset({"", "standard", "normal", "default"})

KNOWN_SERVICE_TIERS: tuple[str, ...] = tuple(sorted({*_TIER_ALIASES, "batch", *_STANDARD_TIERS} - {""}))


def canonical_service_tier(tier: str | None) -> str | None:
    """The canonical tier word (None for standard), or the lowered input when it is unknown."""
    if tier is None:
        return None
    word = tier.strip().lower()
    if word in _STANDARD_TIERS:
        return None
    if word == "batch":
        return "batch"
    return _TIER_ALIASES.get(word, word)


def is_known_service_tier(tier: str) -> bool:
    word = tier.strip().lower()
    return word in _STANDARD_TIERS or word == "batch" or word in _TIER_ALIASES


def canonical_speed(speed: str | None) -> str | None:
    if speed is None:
        return None
    word = speed.strip().lower()
    return None if word in _STANDARD_SPEEDS else word


_GLOBAL_GEOS = frozenset({"", "global", "not_available", "unspecified", "any"})


def canonical_geo(geo: str | None) -> str | None:
    """The inference geography that changes the price (``us``), or None for global/unspecified."""
    if geo is None:
        return None
    word = geo.strip().lower()
    return None if word in _GLOBAL_GEOS else word


def price_context(modifiers: PriceModifiers) -> PriceContext:
    """The price_context entries a call with these modifiers needs rates for."""
    entries: dict[str, str] = {}
    tier = canonical_service_tier(modifiers.service_tier)
    if modifiers.batch or tier == "batch":
        entries["processing"] = "batch"
    if tier is not None and tier != "batch":
        entries["service_tier"] = tier
    speed = canonical_speed(modifiers.speed)
    if speed is not None:
        entries["speed"] = speed
    geo = canonical_geo(modifiers.inference_geo)
    if geo is not None:
        entries["inference_geo"] = geo
    if modifiers.region:
        entries["region"] = modifiers.region.strip().lower()
    return tuple(sorted(entries.items()))


def describe(context: PriceContext) -> str:
    """Human words for a context, for log lines: ``batch``, ``priority tier``, ``fast mode``."""
    words = []
    for key, value in context:
        if key == "processing":
            words.append(value)
        elif key == "service_tier":
            words.append(f"{value} tier")
        elif key == "speed":
            words.append(f"{value} mode")
        elif key == "inference_geo":
            words.append(f"{value}-only inference")
        elif key == "region":
            words.append(f"{value} regional processing")
        else:
            words.append(f"{key}={value}")
    return " + ".join(words) or "standard"
