"""Compile a genai-prices ``ModelPrice`` into a :class:`~llmledger.pricing.ratecard.RateCard`.

Each priced unit's leaf count is a usage count minus the leaves of its priced descendants
(genai-prices' ``compute_leaf_values``); done once, symbolically, over our nine usage fields, that
gives the card's linear coefficients, and the checks for usages genai-prices would reject.

It stays one arithmetic path: every card comes from a ``ModelPrice`` (bundled data or a compiled
override), and :func:`compile_card` prices probe usages through ``ModelPrice.calc_price``, falling
back to a :class:`ReferenceCard` (``calc_price`` on every call) if the card disagrees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from decimal import Context, Decimal
from typing import Any

from genai_prices.decompose import is_descendant_or_self
from genai_prices.types import ModelPrice, TieredPrices
from genai_prices.units import UnitDef, _get_registry
from genai_prices.validation import validate_priced_units

from llmledger.pricing.ratecard import (
    CR,
    CW,
    CW1H,
    FIELDS,
    GENAI_KEYS,
    IA,
    IN,
    OA,
    OUT,
    RSN,
    WS,
    Band,
    CardError,
    Checks,
    RateCard,
    ReferenceCard,
    genai_usage,
)
from llmledger.usage import Usage

_INPUT_FIELDS, _OUTPUT_FIELDS = frozenset({IN, CR, CW, CW1H, IA}), frozenset({OUT, RSN, OA})

# Usage invariants every card checks (usage.py semantics); a leaf of the form "field minus a subset of
# these" can never be negative once they hold, so it needs no check of its own.
_SAFE_SUBTRACTIONS: dict[int, tuple[frozenset[int], ...]] = {
    IN: (frozenset({CR, CW, CW1H}), frozenset({IA})),
    CW: (frozenset({CW1H}),),
    OUT: (frozenset({RSN}), frozenset({OA})),
}


# Exact arithmetic while compiling, whatever the application did to the thread's decimal context.
_EXACT = Context(prec=60)
_ZERO = Decimal(0)


def priced_units(model_price: ModelPrice) -> list[tuple[UnitDef, Decimal | TieredPrices]]:
    """The (unit, price) pairs of a ModelPrice; CardError for keys genai-prices does not know."""
    registry = _get_registry()
    units: list[tuple[UnitDef, Decimal | TieredPrices]] = []
    for key, value in vars(model_price).items():
        if key.startswith("_") or value is None:
            continue
        try:
            units.append((registry.unit_for_price_key(key), value))
        except KeyError:
            raise CardError(f"unknown price key {key!r}") from None
    try:
        validate_priced_units([unit for unit, _ in units], registry)
    except ValueError as exc:
        raise CardError(str(exc)) from None
    return units


def compile_checks(units: Sequence[UnitDef], *, strict_audio: bool) -> tuple[Checks, dict[str, list[int]]]:
    """The usage checks for these priced units, and each unit's leaf count as a field vector.

    Units are keyed by usage key (UnitDef is not hashable).
    """
    registry = _get_registry()
    ours = [(registry.units[key], index) for index, key in enumerate(GENAI_KEYS)]
    our_keys = {key: index for index, key in enumerate(GENAI_KEYS)}
    priced_keys = {unit.usage_key for unit in units}
    zero: set[int] = set()
    not_both: set[tuple[int, int]] = set()
    leaves: dict[str, list[int]] = {}
    done: list[UnitDef] = []
    for unit in sorted(units, key=lambda u: (-len(u.dimensions), u.usage_key)):
        vector = [0] * len(FIELDS)
        if unit.usage_key in our_keys:
            vector[our_keys[unit.usage_key]] = 1
        else:
            # genai-prices infers a count we do not report as 0, unless a reported count lies inside
            # it (or two reported counts overlap exactly on it): then it raises, so must we.
            for other, index in ours:
                if is_descendant_or_self(unit, other):
                    zero.add(index)
            for first, i in ours:
                for second, j in ours:
                    if (
                        i < j
                        and first.is_compatible_with(second)
                        and not is_descendant_or_self(first, second)
                        and not is_descendant_or_self(second, first)
                        and {**first.dimensions, **second.dimensions} == dict(unit.dimensions)
                    ):
                        not_both.add((i, j))
        for previous in done:
            if is_descendant_or_self(unit, previous):
                vector = [v - w for v, w in zip(vector, leaves[previous.usage_key], strict=True)]
        leaves[unit.usage_key] = vector
        done.append(unit)
    non_negative = tuple(tuple(v) for v in leaves.values() if not _never_negative(v))
    if units:
        # A non-zero count that no rate covers (not even an ancestor's) would be priced at $0.
        for other, index in ours:
            if not any(is_descendant_or_self(priced, other) for priced in units):
                zero.add(index)
        # Rates that must be specific: the fallback (input rate for 1h cache writes, text rate for
        # OpenAI audio) is known to be wrong.
        specific = [CW1H, IA, OA] if strict_audio else [CW1H]
        zero.update(index for index in specific if GENAI_KEYS[index] not in priced_keys)
    return Checks(tuple(sorted(zero)), tuple(sorted(not_both)), non_negative), leaves


def _never_negative(vector: Sequence[int]) -> bool:
    plus = [i for i, v in enumerate(vector) if v > 0]
    minus = {i for i, v in enumerate(vector) if v < 0}
    if not plus:
        return not minus
    if len(plus) > 1 or vector[plus[0]] != 1 or any(vector[i] != -1 for i in minus):
        return False
    return not minus or any(minus <= allowed for allowed in _SAFE_SUBTRACTIONS.get(plus[0], ()))


def compile_card(
    model_price: ModelPrice,
    *,
    source: str,
    matched_model: str,
    strict_audio: bool = False,
    max_input: int | None = None,
) -> RateCard | ReferenceCard:
    """Compile prices into a RateCard, or a ReferenceCard if they cannot be compiled faithfully.

    Raises CardError for prices genai-prices itself rejects (unknown keys, a cache price without an
    input price, ...).
    """
    pairs = priced_units(model_price)
    checks, leaves = compile_checks([unit for unit, _ in pairs], strict_audio=strict_audio)
    if max_input is not None:
        checks = replace(checks, max_input=max_input)
    try:
        card = _linear_card(pairs, leaves, checks, source, matched_model)
        _self_check(card, model_price)
    except CardError:
        return ReferenceCard(model_price, checks, source, matched_model)
    return card


def _linear_card(
    pairs: list[tuple[UnitDef, Decimal | TieredPrices]],
    leaves: dict[str, list[int]],
    checks: Checks,
    source: str,
    matched_model: str,
) -> RateCard:
    thresholds = sorted({tier.start for _, price in pairs if isinstance(price, TieredPrices) for tier in price.tiers})
    raw_bands: list[tuple[list[Decimal], Decimal]] = []
    for representative in [0, *(t + 1 for t in thresholds)]:
        coefficients, per_request = [_ZERO] * len(FIELDS), _ZERO
        for unit, price in pairs:
            rate = _rate_at(price, representative)
            if unit.usage_key == "requests":
                per_request = _EXACT.add(per_request, _EXACT.divide(rate, unit.per))
                continue
            vector = leaves[unit.usage_key]
            if not any(vector):
                continue  # a unit we never report: genai-prices counts 0 of it
            if unit.per not in (1_000, 1_000_000):
                raise CardError(f"unit {unit.usage_key} is priced per {unit.per}")
            per_unit = _EXACT.divide(rate, unit.per)
            direction = unit.dimensions.get("direction")
            allowed = _INPUT_FIELDS if direction == "input" else _OUTPUT_FIELDS if direction == "output" else {WS}
            for index, count in enumerate(vector):
                if count:
                    if index not in allowed:
                        raise CardError(f"unit {unit.usage_key} mixes directions")
                    coefficients[index] = _EXACT.add(coefficients[index], _EXACT.multiply(per_unit, count))
        raw_bands.append((coefficients, per_request))
    digits = max(
        [0] + [-int(value.as_tuple().exponent) for coeffs, fee in raw_bands for value in (*coeffs, fee) if value]
    )
    bands = [_band(coeffs, fee, digits) for coeffs, fee in raw_bands]
    return RateCard(bands, thresholds, digits, checks, source, matched_model)


def _rate_at(price: Decimal | TieredPrices, input_tokens: int) -> Decimal:
    if not isinstance(price, TieredPrices):
        return price
    rate = price.base
    for tier in price.tiers:
        if input_tokens > tier.start:
            rate = tier.price
    return rate


def _band(coefficients: list[Decimal], per_request: Decimal, digits: int) -> Band:
    ints = [_to_int(value, digits) for value in coefficients]
    return Band(
        inputs=(ints[IN], ints[CR], ints[CW], ints[CW1H], ints[IA]),
        outputs=(ints[OUT], ints[RSN], ints[OA]),
        per_search=ints[WS],
        per_request=_to_int(per_request, digits),
    )


def _to_int(value: Decimal, digits: int) -> int:
    scaled = value.scaleb(digits, _EXACT)
    if scaled != scaled.to_integral_value():
        raise CardError("inexact coefficient")
    return int(scaled)


def _self_check(card: RateCard, model_price: ModelPrice) -> None:
    """Price one probe usage per tier band both ways; any difference rejects the card."""
    zero = set(card.checks.zero) | {j for _, j in card.checks.not_both}
    thresholds = card.thresholds
    for band_index, low in enumerate([0, *(t + 1 for t in thresholds)]):
        high = thresholds[band_index] if band_index < len(thresholds) else None
        probe: dict[str, Any] = {
            field: (0 if index in zero else count)
            for index, (field, count) in enumerate(
                zip(FIELDS[1:], (1_013, 2_027, 503, 307, 4_099, 1_031, 211, 3), strict=True), start=1
            )
        }
        if not probe["cache_write_tokens"]:
            probe["cache_write_1h_tokens"] = 0
        if not probe["output_tokens"]:
            probe.update(reasoning_tokens=0, output_audio_tokens=0)
        if IN in zero:
            if band_index:
                break
            probe.update(cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0, input_audio_tokens=0)
            probe["input_tokens"] = 0
        else:
            subsets = probe["cache_read_tokens"] + probe["cache_write_tokens"] + probe["input_audio_tokens"]
            probe["input_tokens"] = max(low, subsets + 10_007)
        if high is not None and probe["input_tokens"] > high:
            continue
        usage = Usage(**probe)
        try:
            expected = model_price.calc_price(genai_usage(usage))
        except ValueError as exc:
            raise CardError(f"self-check probe rejected: {exc}") from None
        got = card.price(usage)
        if got is None or (got.total, got.input, got.output) != (
            expected["total_price"],
            expected["input_price"],
            expected["output_price"],
        ):
            raise CardError(f"self-check failed for {card.matched_model}: {got} != {expected}")
