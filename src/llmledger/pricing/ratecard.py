"""Rate cards: a genai-prices ``ModelPrice`` compiled into integer coefficients priced in ~1 µs.

``ModelPrice.calc_price`` costs ~100 µs a call (it rebuilds usage objects, validates units and
decomposes the usage into leaves every time). Its arithmetic is linear: each priced unit's leaf count
is a usage count minus the leaves of its priced descendants, times a rate picked by the prompt-size
tier. :func:`compile_card` does that decomposition once, symbolically, over our nine usage fields,
and turns the rates into integers scaled by ``10**scale``. Pricing a call is then a few integer
multiply-adds and three ``Decimal`` constructions, exact by construction.

It stays one arithmetic path: every card is compiled from a ``ModelPrice`` (genai-prices data or a
compiled override), and :func:`compile_card` prices probe usages through ``ModelPrice.calc_price``
and refuses a card that disagrees, falling back to :class:`ReferenceCard`, which calls
``calc_price`` on every call. Usages genai-prices would reject (counts that do not nest, an ambiguous
split) give ``None`` here, never a number.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Context, Decimal
from typing import Any

from genai_prices import Usage as GenaiUsage
from genai_prices.decompose import is_descendant_or_self
from genai_prices.types import ModelPrice, TieredPrices
from genai_prices.units import UnitDef, _get_registry
from genai_prices.validation import validate_priced_units

from llmledger.usage import Cost, Usage

# Our usage fields, in the order of the coefficient vectors, and genai-prices' key for each.
FIELDS = (
    "input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "input_audio_tokens",
    "output_tokens",
    "reasoning_tokens",
    "output_audio_tokens",
    "web_searches",
)
GENAI_KEYS = (*FIELDS[:6], "output_reasoning_tokens", *FIELDS[7:])
IN, CR, CW, CW1H, IA, OUT, RSN, OA, WS = range(9)
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


# Cost is a frozen dataclass whose generated __init__ costs ~2.5 µs (object.__setattr__ per field),
# half the budget of a warm call; assigning through its slot descriptors does the same in ~0.8 µs.
_new = object.__new__
_SET_STATUS, _SET_TOTAL, _SET_INPUT, _SET_OUTPUT, _SET_SOURCE, _SET_MODEL = (
    Cost.__dict__[name].__set__ for name in ("status", "total", "input", "output", "source", "matched_model")
)


def priced_cost(total: Decimal, cost_in: Decimal, cost_out: Decimal, source: str, matched_model: str) -> Cost:
    """``Cost(status="priced", ...)``, built fast (see above)."""
    cost: Cost = _new(Cost)
    _SET_STATUS(cost, "priced")
    _SET_TOTAL(cost, total)
    _SET_INPUT(cost, cost_in)
    _SET_OUTPUT(cost, cost_out)
    _SET_SOURCE(cost, source)
    _SET_MODEL(cost, matched_model)
    return cost


class CardError(ValueError):
    """The price cannot be compiled (invalid prices) or the compiled card failed its self-check."""


def usage_is_consistent(u: Usage) -> bool:
    """The subset relations of usage.py hold and no count is negative."""
    return (
        u.cache_read_tokens >= 0
        and u.cache_write_1h_tokens >= 0
        and u.input_audio_tokens >= 0
        and u.reasoning_tokens >= 0
        and u.output_audio_tokens >= 0
        and u.web_searches >= 0
        and u.cache_read_tokens + u.cache_write_tokens <= u.input_tokens
        and u.cache_write_1h_tokens <= u.cache_write_tokens
        and u.input_audio_tokens <= u.input_tokens
        and u.reasoning_tokens <= u.output_tokens
        and u.output_audio_tokens <= u.output_tokens
    )


def genai_usage(u: Usage) -> GenaiUsage:
    """The genai-prices Usage for ours (both count cache and reasoning inside the totals)."""
    return GenaiUsage(**{key: getattr(u, field) for key, field in zip(GENAI_KEYS, FIELDS, strict=True)})


@dataclass(frozen=True, slots=True)
class Band:
    """Integer coefficients (USD * 10**scale per unit) for one prompt-size tier band."""

    inputs: tuple[int, int, int, int, int]
    outputs: tuple[int, int, int]
    per_search: int
    per_request: int


@dataclass(frozen=True, slots=True)
class Checks:
    """What must hold for genai-prices to price a usage with these prices, beyond the invariants."""

    zero: tuple[int, ...] = ()
    """Fields that must be 0: no rate covers them, or genai-prices would reject them."""
    not_both: tuple[tuple[int, int], ...] = ()
    """Field pairs genai-prices cannot split when both are non-zero (e.g. audio + cache read)."""
    non_negative: tuple[tuple[int, ...], ...] = ()
    """Leaf count vectors that the invariants alone do not keep >= 0."""

    def __bool__(self) -> bool:
        return bool(self.zero or self.not_both or self.non_negative)

    def failure(self, values: Sequence[int]) -> str | None:
        for index in self.zero:
            if values[index]:
                return f"no rate covers {FIELDS[index]}"
        for first, second in self.not_both:
            if values[first] and values[second]:
                return f"{FIELDS[first]} and {FIELDS[second]} cannot be split between their rates"
        for vector in self.non_negative:
            if sum(c * v for c, v in zip(vector, values, strict=True)) < 0:
                return "the usage counts do not nest as the rates need"
        return None


class RateCard:
    """Prices usages for one resolved (model, date, price context) in about a microsecond."""

    timed = False  # see TimedEntry in resolve.py: memoised entries are valid for a whole UTC day

    __slots__ = (
        "_base",
        "_rare_checks",
        "_scale",
        "_tiers",
        "_zero_1h",
        "_zero_in_audio",
        "_zero_out_audio",
        "_zero_search",
        "checks",
        "matched_model",
        "scale_digits",
        "source",
    )

    def __init__(
        self,
        bands: Sequence[Band],
        thresholds: Sequence[int],
        scale_digits: int,
        checks: Checks,
        source: str,
        matched_model: str,
    ) -> None:
        self._base = bands[0]
        self._tiers = tuple(zip(thresholds, bands[1:], strict=True))
        self.scale_digits = scale_digits
        self._scale = Decimal(1).scaleb(-scale_digits)
        self.checks = checks
        # The common checks are inlined as flags; anything else goes through Checks.failure.
        common = {CW1H, IA, OA, WS}
        self._zero_1h, self._zero_in_audio = CW1H in checks.zero, IA in checks.zero
        self._zero_out_audio, self._zero_search = OA in checks.zero, WS in checks.zero
        rare = Checks(tuple(i for i in checks.zero if i not in common), checks.not_both, checks.non_negative)
        self._rare_checks = rare if rare else None
        self.source = source
        self.matched_model = matched_model

    def band_for(self, input_tokens: int) -> Band:
        # Cliff tiers, as genai-prices: above a threshold the whole request takes that tier's rates.
        band = self._base
        for threshold, tier_band in self._tiers:
            if input_tokens > threshold:
                band = tier_band
            else:
                break
        return band

    def price(self, u: Usage) -> Cost | None:
        """The cost, or None when genai-prices could not price this usage with these rates."""
        i, cr, cw, cw1h, ia = (
            u.input_tokens,
            u.cache_read_tokens,
            u.cache_write_tokens,
            u.cache_write_1h_tokens,
            u.input_audio_tokens,
        )
        o, r, oa, ws = u.output_tokens, u.reasoning_tokens, u.output_audio_tokens, u.web_searches
        if (
            cr < 0 or cw1h < 0 or ia < 0 or r < 0 or oa < 0 or ws < 0
            or cr + cw > i or cw1h > cw or ia > i or r > o or oa > o
            or (cw1h and self._zero_1h) or (ia and self._zero_in_audio)
            or (oa and self._zero_out_audio) or (ws and self._zero_search)
        ):  # fmt: skip
            return None
        rare = self._rare_checks
        if rare is not None and rare.failure((i, cr, cw, cw1h, ia, o, r, oa, ws)) is not None:
            return None
        band = self._base if not self._tiers else self.band_for(i)
        a, b, c, d, e = band.inputs
        f, g, h = band.outputs
        cost_in = a * i + b * cr + c * cw + d * cw1h + e * ia
        cost_out = f * o + g * r + h * oa
        other = band.per_search * ws + band.per_request
        if type(cost_in + cost_out + other) is not int:  # a float count would make the result inexact
            return None
        scale = self._scale
        dec_in, dec_out = Decimal(cost_in) * scale, Decimal(cost_out) * scale
        total = dec_in + dec_out if not other else Decimal(cost_in + cost_out + other) * scale
        return priced_cost(total, dec_in, dec_out, self.source, self.matched_model)

    def why_unpriced(self, u: Usage) -> str:
        if not usage_is_consistent(u):
            return "the usage counts are inconsistent (a subset exceeds its total, or a count is negative)"
        values = tuple(getattr(u, field) for field in FIELDS)
        if any(type(value) is not int for value in values):
            return "a usage count is not an integer"
        return self.checks.failure(values) or "unknown"

    def line_rates(self, input_tokens: int) -> tuple[Band, Decimal]:
        """The band that applies and the Decimal value of one coefficient unit (for breakdowns)."""
        return self.band_for(input_tokens), self._scale


class ReferenceCard:
    """Prices through ``ModelPrice.calc_price`` on every call (~100 µs): for prices that do not compile."""

    timed = False
    __slots__ = ("_checks", "_model_price", "matched_model", "source")

    def __init__(self, model_price: ModelPrice, checks: Checks, source: str, matched_model: str) -> None:
        self._model_price, self._checks = model_price, checks
        self.source, self.matched_model = source, matched_model

    def price(self, u: Usage) -> Cost | None:
        if not usage_is_consistent(u) or self._checks.failure([getattr(u, f) for f in FIELDS]):
            return None
        try:
            result = self._model_price.calc_price(genai_usage(u))
        except ValueError:
            return None
        return priced_cost(
            result["total_price"],
            result["input_price"],
            result["output_price"],
            self.source,
            self.matched_model,
        )

    def why_unpriced(self, u: Usage) -> str:
        if not usage_is_consistent(u):
            return "the usage counts are inconsistent (a subset exceeds its total, or a count is negative)"
        return self._checks.failure([getattr(u, f) for f in FIELDS]) or "genai-prices rejected the usage"


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
    model_price: ModelPrice, *, source: str, matched_model: str, strict_audio: bool = False
) -> RateCard | ReferenceCard:
    """Compile prices into a RateCard, or a ReferenceCard if they cannot be compiled faithfully.

    Raises CardError for prices genai-prices itself rejects (unknown keys, a cache price without an
    input price, ...).
    """
    pairs = priced_units(model_price)
    checks, leaves = compile_checks([unit for unit, _ in pairs], strict_audio=strict_audio)
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
    thresholds = sorted(
        {tier.start for _, price in pairs if isinstance(price, TieredPrices) for tier in price.tiers}
    )
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
            allowed = (
                _INPUT_FIELDS if direction == "input" else _OUTPUT_FIELDS if direction == "output" else {WS}
            )
            for index, count in enumerate(vector):
                if count:
                    if index not in allowed:
                        raise CardError(f"unit {unit.usage_key} mixes directions")
                    coefficients[index] = _EXACT.add(coefficients[index], _EXACT.multiply(per_unit, count))
        raw_bands.append((coefficients, per_request))
    digits = max(
        [0]
        + [-int(value.as_tuple().exponent) for coeffs, fee in raw_bands for value in (*coeffs, fee) if value]
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
    thresholds = [t for t, _ in card._tiers]
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
            probe.update(
                cache_read_tokens=0, cache_write_tokens=0, cache_write_1h_tokens=0, input_audio_tokens=0
            )
            probe["input_tokens"] = 0
        else:
            subsets = probe["cache_read_tokens"] + probe["cache_write_tokens"] + probe["input_audio_tokens"]
            probe["input_tokens"] = max(low, subsets + 10_007)
        if high is not None and probe["input_tokens"] > high:
            continue
        usage = Usage(**probe)
        expected = model_price.calc_price(genai_usage(usage))
        got = card.price(usage)
        if got is None or (got.total, got.input, got.output) != (
            expected["total_price"],
            expected["input_price"],
            expected["output_price"],
        ):
            raise CardError(f"self-check failed for {card.matched_model}: {got} != {expected}")
