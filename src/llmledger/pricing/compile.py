"""Compile a genai-prices ``ModelPrice`` into a :class:`~llmledger.pricing.ratecard.RateCard`.

Only genai-prices' public API and data types are used, so a newer genai-prices (new units, new
price keys) works without a change here: the rates are *measured* through ``ModelPrice.calc_price``.
Its arithmetic is linear in the counts within one prompt-size tier band, so the coefficient of each
usage slice is the price of one more token of that slice, and the per-request fee the price of an
empty usage. Tier thresholds are read off the ``TieredPrices`` of the price keys we know.

It stays one arithmetic path: every card comes from a ``ModelPrice`` (bundled data or a compiled
override), and :func:`compile_card` prices mixed probe usages through ``calc_price`` again, falling
back to a :class:`ReferenceCard` (``calc_price`` on every call) if the card disagrees.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Context, Decimal, localcontext

from genai_prices import Usage as GenaiUsage
from genai_prices.types import ModelPrice, TieredPrices

from llmledger.pricing.ratecard import (
    CR,
    CRA,
    CW1H,
    CW5,
    GENAI_KEYS,
    IA,
    IN,
    INPUT_SLICES,
    OA,
    OI,
    OUT,
    OUTPUT_SLICES,
    RSN,
    SLICES,
    WS,
    Band,
    CardError,
    Checks,
    RateCard,
    ReferenceCard,
    genai_usage,
)
from llmledger.usage import Usage

# Price keys of genai-prices' data schema that llmledger reads (tiers, coverage, scaling).
PRICE_KEYS = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "cache_write_1h_mtok",
    "input_audio_mtok",
    "output_audio_mtok",
    "cache_audio_read_mtok",
    "output_image_mtok",
    "output_reasoning_mtok",
    "web_searches_kcount",
    "requests_kcount",
)

# One token (or search) of each slice, as the genai-prices usage that reports it.
_ONE: dict[int, dict[str, int]] = {
    IN: {"input_tokens": 1},
    IA: {"input_tokens": 1, "input_audio_tokens": 1},
    CR: {"input_tokens": 1, "cache_read_tokens": 1},
    CRA: {"input_tokens": 1, "cache_read_tokens": 1, "input_audio_tokens": 1, "cache_read_audio_tokens": 1},
    CW5: {"input_tokens": 1, "cache_write_tokens": 1},
    CW1H: {"input_tokens": 1, "cache_write_tokens": 1, "cache_write_1h_tokens": 1},
    OUT: {"output_tokens": 1},
    RSN: {"output_tokens": 1, "reasoning_tokens": 1},
    OA: {"output_tokens": 1, "output_audio_tokens": 1},
    OI: {"output_tokens": 1, "output_image_tokens": 1},
    WS: {"web_searches": 1},
}
# A slice is covered when one of these keys has a rate (genai-prices prices a slice at its most
# specific rate, falling back to an ancestor's: cached tokens at the input rate, and so on).
_COVER: dict[int, tuple[str, ...]] = {
    IN: ("input_mtok",),
    IA: ("input_mtok", "input_audio_mtok"),
    CR: ("input_mtok", "cache_read_mtok"),
    CRA: ("input_mtok", "cache_read_mtok", "input_audio_mtok", "cache_audio_read_mtok"),
    CW5: ("input_mtok", "cache_write_mtok"),
    CW1H: ("input_mtok", "cache_write_mtok", "cache_write_1h_mtok"),
    OUT: ("output_mtok",),
    RSN: ("output_mtok", "output_reasoning_mtok"),
    OA: ("output_mtok", "output_audio_mtok"),
    OI: ("output_mtok", "output_image_mtok"),
    WS: ("web_searches_kcount",),
}
# Slices whose fallback rate is known to be wrong: without their own rate they stay unpriced.
_SPECIFIC = {CW1H: "cache_write_1h_mtok", OI: "output_image_mtok"}
_SPECIFIC_AUDIO = {IA: "input_audio_mtok", OA: "output_audio_mtok"}

# Exact arithmetic while compiling, whatever the application did to the thread's decimal context.
_EXACT = Context(prec=60)


def price_of(model_price: ModelPrice, key: str) -> Decimal | TieredPrices | None:
    """The rate under one price key (None when unset, or unknown to the installed genai-prices)."""
    try:
        value = getattr(model_price, key)
    except AttributeError:
        return None
    return value if isinstance(value, Decimal | TieredPrices) else None


def known_prices(model_price: ModelPrice) -> Iterator[tuple[str, Decimal | TieredPrices]]:
    """The (key, rate) pairs under the price keys llmledger knows."""
    for key in PRICE_KEYS:
        value = price_of(model_price, key)
        if value is not None:
            yield key, value


def has_only_known_prices(model_price: ModelPrice) -> bool:
    """True when :func:`known_prices` is every rate the ModelPrice holds (compared with ``==``)."""
    return bool(model_price == ModelPrice(**dict(known_prices(model_price))))


def thresholds_of(model_price: ModelPrice) -> list[int]:
    """The input-token counts where a tier band starts, over the known price keys."""
    tiered = [value for _, value in known_prices(model_price) if isinstance(value, TieredPrices)]
    return sorted({tier.start for value in tiered for tier in value.tiers})


def _genai(counts: dict[str, int]) -> GenaiUsage:
    return GenaiUsage(**{key: counts.get(field, 0) for field, key in GENAI_KEYS.items()})


def _cost(model_price: ModelPrice, counts: dict[str, int]) -> Decimal:
    return model_price.calc_price(_genai(counts))["total_price"]


def compile_card(
    model_price: ModelPrice,
    *,
    source: str,
    matched_model: str,
    strict_audio: bool = False,
    max_input: int | None = None,
    multiplier: Decimal | None = None,
) -> RateCard | ReferenceCard:
    """Compile prices into a RateCard, or a ReferenceCard if they cannot be compiled faithfully.

    ``multiplier`` scales every rate (an override's discount, a surcharge). Raises CardError for
    prices genai-prices itself rejects (a cache price without an input price, ...).
    """
    with localcontext(_EXACT):
        try:
            _cost(model_price, {})
        except (ValueError, TypeError) as exc:
            raise CardError(str(exc)) from None
        thresholds = thresholds_of(model_price)
        zero: set[int] = set()
        raw_bands: list[tuple[list[Decimal], Decimal]] = []
        for low in [0, *(t + 1 for t in thresholds)]:
            base = {"input_tokens": low}
            base_cost = _cost(model_price, base)
            coefficients = [Decimal(0)] * len(SLICES)
            for index, one in _ONE.items():
                probe = {key: base.get(key, 0) + one.get(key, 0) for key in base.keys() | one.keys()}
                try:
                    coefficients[index] = _cost(model_price, probe) - base_cost
                except ValueError:
                    zero.add(index)  # genai-prices rejects this slice with these prices
            fee = base_cost - coefficients[IN] * low
            if multiplier is not None:
                coefficients, fee = [value * multiplier for value in coefficients], fee * multiplier
            raw_bands.append((coefficients, fee))
        zero |= _uncovered(model_price, strict_audio=strict_audio)

        def differs(index: int, parent: int) -> bool:
            return any(bands[index] != bands[parent] for bands, _ in raw_bands)

        apart = (
            differs(IA, IN) or differs(CRA, CR),
            differs(CR, IN) or differs(CRA, IA),
            differs(CW5, IN) or differs(CW1H, IN),
            differs(RSN, OUT),
            differs(OA, OUT),
            differs(OI, OUT),
        )
        checks = Checks(tuple(sorted(zero)), apart, max_input)
        try:
            card = _card(raw_bands, thresholds, checks, source, matched_model)
            _self_check(card, model_price, multiplier)
        except CardError:
            return ReferenceCard(model_price, checks, source, matched_model, multiplier)
    return card


def _uncovered(model_price: ModelPrice, *, strict_audio: bool) -> set[int]:
    priced = dict(known_prices(model_price))
    if not priced:
        return set()
    zero = {index for index, keys in _COVER.items() if not any(key in priced for key in keys)}
    specific = {**_SPECIFIC, **(_SPECIFIC_AUDIO if strict_audio else {})}
    zero.update(index for index, key in specific.items() if key not in priced)
    if IA in zero and CRA not in zero and "cache_audio_read_mtok" not in priced:
        zero.add(CRA)
    return zero


def _card(
    raw_bands: list[tuple[list[Decimal], Decimal]],
    thresholds: list[int],
    checks: Checks,
    source: str,
    matched_model: str,
) -> RateCard:
    values = [value for coefficients, fee in raw_bands for value in (*coefficients, fee) if value]
    if any(value < 0 for value in values):
        raise CardError("a negative coefficient")
    digits = max([0] + [-int(value.as_tuple().exponent) for value in values])
    bands = [
        Band(tuple(_to_int(value, digits) for value in coefficients), _to_int(fee, digits))
        for coefficients, fee in raw_bands
    ]
    return RateCard(bands, thresholds, digits, checks, source, matched_model)


def _to_int(value: Decimal, digits: int) -> int:
    scaled = value.scaleb(digits, _EXACT)
    if scaled != scaled.to_integral_value():
        raise CardError("inexact coefficient")
    return int(scaled)


def _self_check(card: RateCard, model_price: ModelPrice, multiplier: Decimal | None) -> None:
    """Price one mixed probe usage per tier band both ways; any difference rejects the card."""
    zero = set(card.checks.zero)
    folded = ((IA, CRA), (CR, CRA), (CW5, CW1H), (RSN,), (OA,), (OI,))
    for flag, indices in zip(card.checks.apart, folded, strict=True):
        if not flag:
            zero.update(indices)
    thresholds = card.thresholds
    counts = (10_007, 1_013, 2_027, 97, 503, 307, 4_099, 1_031, 211, 89, 3)
    for band_index, low in enumerate([0, *(t + 1 for t in thresholds)]):
        high = thresholds[band_index] if band_index < len(thresholds) else None
        part = [0 if index in zero else count for index, count in enumerate(counts)]
        if IN in zero:
            for index in INPUT_SLICES:
                part[index] = 0
            if band_index:
                break
        elif sum(part[index] for index in INPUT_SLICES) < low:
            part[IN] += low - sum(part[index] for index in INPUT_SLICES)
        if OUT in zero:
            for index in OUTPUT_SLICES:
                part[index] = 0
        usage = Usage(
            input_tokens=sum(part[index] for index in INPUT_SLICES),
            input_audio_tokens=part[IA] + part[CRA],
            cache_read_tokens=part[CR] + part[CRA],
            cache_read_audio_tokens=part[CRA],
            cache_write_tokens=part[CW5] + part[CW1H],
            cache_write_1h_tokens=part[CW1H],
            output_tokens=sum(part[index] for index in OUTPUT_SLICES),
            reasoning_tokens=part[RSN],
            output_audio_tokens=part[OA],
            output_image_tokens=part[OI],
            web_searches=part[WS],
        )
        if high is not None and usage.input_tokens > high:
            continue
        try:
            expected = model_price.calc_price(genai_usage(usage))
        except ValueError as exc:
            raise CardError(f"self-check probe rejected: {exc}") from None
        got = card.price(usage)
        factor = Decimal(1) if multiplier is None else multiplier
        if got is None or (got.total, got.input, got.output) != (
            expected["total_price"] * factor,
            expected["input_price"] * factor,
            expected["output_price"] * factor,
        ):
            raise CardError(f"self-check failed for {card.matched_model}: {got} != {expected}")
