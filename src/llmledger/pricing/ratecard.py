"""Rate cards: a genai-prices ``ModelPrice`` compiled (see compile.py) into integer coefficients.

``ModelPrice.calc_price`` costs ~100 µs a call: it rebuilds usage objects, validates units and
decomposes the usage into leaves every time. Its arithmetic is linear in the usage counts, so a
:class:`RateCard` holds, per prompt-size tier band, one integer coefficient per usage field (USD
scaled by ``10**scale_digits``); pricing a call is a few integer multiply-adds and three ``Decimal``
constructions, exact by construction. :class:`ReferenceCard` calls ``calc_price`` on every call, for
prices that do not compile faithfully. Both return None for a usage genai-prices would reject (counts
that do not nest, an ambiguous split) or that no rate covers: never a number that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from genai_prices import Usage as GenaiUsage
from genai_prices.types import ModelPrice

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
    max_input: int | None = None
    """Input tokens above which the rates are known to be wrong (see corrections.py)."""

    def __bool__(self) -> bool:
        return bool(self.zero or self.not_both or self.non_negative or self.max_input is not None)

    def failure(self, values: Sequence[int]) -> str | None:
        if self.max_input is not None and values[IN] > self.max_input:
            return f"no rate is known for prompts above {self.max_input:,} input tokens"
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
        rare = Checks(
            tuple(i for i in checks.zero if i not in common),
            checks.not_both,
            checks.non_negative,
            checks.max_input,
        )
        self._rare_checks = rare if rare else None
        self.source = source
        self.matched_model = matched_model

    @property
    def thresholds(self) -> tuple[int, ...]:
        """Input-token counts above which the next tier band applies."""
        return tuple(threshold for threshold, _ in self._tiers)

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
