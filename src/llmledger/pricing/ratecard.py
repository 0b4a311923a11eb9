"""Rate cards: a genai-prices ``ModelPrice`` compiled (see compile.py) into integer coefficients.

``ModelPrice.calc_price`` costs ~100 µs a call: it rebuilds usage objects, validates units and
decomposes the usage every time. Its arithmetic is linear in the usage counts, so a
:class:`RateCard` holds, per prompt-size tier band, one integer coefficient (USD scaled by
``10**scale_digits``) per *slice*: the disjoint parts a :class:`~llmledger.usage.Usage` splits into
(uncached text input, uncached audio input, cache reads of text and of audio, 5-minute and 1-hour
cache writes, output text, reasoning, output audio, output images, web searches). Pricing a call is
a few integer multiply-adds and three ``Decimal`` constructions, exact by construction.
:class:`ReferenceCard` calls ``calc_price`` on every call, for prices that do not compile
faithfully. Both return None for a usage genai-prices would reject or that no rate covers: never a
number that is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from operator import attrgetter

from genai_prices import Usage as GenaiUsage
from genai_prices.types import ModelPrice

from llmledger.usage import Cost, Usage

# The slices, in the order of the coefficient vectors.
SLICES = (
    "input (uncached)",
    "input audio",
    "cache read",
    "cache read audio",
    "cache write 5m",
    "cache write 1h",
    "output",
    "reasoning",
    "output audio",
    "output image",
    "web searches",
)
IN, IA, CR, CRA, CW5, CW1H, OUT, RSN, OA, OI, WS = range(len(SLICES))
INPUT_SLICES = (IN, IA, CR, CRA, CW5, CW1H)
OUTPUT_SLICES = (OUT, RSN, OA, OI)

# Our usage fields and the genai-prices usage key each one is reported as.
GENAI_KEYS = {
    "input_tokens": "input_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_tokens": "cache_write_tokens",
    "cache_write_1h_tokens": "cache_write_1h_tokens",
    "input_audio_tokens": "input_audio_tokens",
    "cache_read_audio_tokens": "cache_audio_read_tokens",
    "output_tokens": "output_tokens",
    "reasoning_tokens": "output_reasoning_tokens",
    "output_audio_tokens": "output_audio_tokens",
    "output_image_tokens": "output_image_tokens",
    "web_searches": "web_searches",
}

# Cost is a frozen dataclass whose generated __init__ costs ~2.5 µs (object.__setattr__ per field),
# half the budget of a warm call; assigning through its slot descriptors does the same in ~0.8 µs.
_new = object.__new__
_SET_STATUS, _SET_TOTAL, _SET_INPUT, _SET_OUTPUT, _SET_SOURCE, _SET_MODEL = (
    Cost.__dict__[name].__set__ for name in ("status", "total", "input", "output", "source", "matched_model")
)


def priced_cost(total: Decimal, cost_in: Decimal, cost_out: Decimal, source: str, matched_model: str | None) -> Cost:
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


Apart = tuple[bool, bool, bool, bool, bool, bool]
"""Whether (input audio, cache reads, cache writes, reasoning, output audio, output images) have rates
of their own."""
ALL_APART: Apart = (True, True, True, True, True, True)
NONE_APART: Apart = (False, False, False, False, False, False)


def slices(u: Usage, apart: Apart = ALL_APART) -> tuple[int, ...] | None:
    """The usage as disjoint slice counts (order of SLICES), or None if its counts do not nest.

    A subset count without rates of its own (``apart``) is priced as its total's tokens wherever it
    is, so it may overlap the other subsets, as in genai-prices: its slice is 0.
    """
    i, ia, cr, cra, cw, cw1h = (
        u.input_tokens,
        u.input_audio_tokens,
        u.cache_read_tokens,
        u.cache_read_audio_tokens,
        u.cache_write_tokens,
        u.cache_write_1h_tokens,
    )
    o, r, oa, oi = u.output_tokens, u.reasoning_tokens, u.output_audio_tokens, u.output_image_tokens
    if (
        min(ia, cra, cw, cw1h, r, oa, oi) < 0
        or ia > i or cra > cr or cra > ia or cr + cw > i or cw1h > cw or r > o or oa > o or oi > o
    ):  # fmt: skip
        return None
    audio_in, cache_read, cache_write, reasoning, audio_out, image_out = apart
    if not cache_write:
        cw = cw1h = 0
    if not cache_read:
        cr = cra = 0
    if audio_in:
        audio_uncached = ia - cra
        head = (i - cr - cw - audio_uncached, audio_uncached, cr - cra, cra)
    else:
        head = (i - cr - cw, 0, cr, 0)
    r = r if reasoning else 0
    oa = oa if audio_out else 0
    oi = oi if image_out else 0
    values = (*head, cw - cw1h, cw1h, o - r - oa - oi, r, oa, oi, u.web_searches)
    if min(values) < 0:
        return None
    return values


def usage_is_consistent(u: Usage) -> bool:
    """The subset relations of usage.py hold and no count is negative."""
    return slices(u, NONE_APART) is not None


def genai_usage(u: Usage) -> GenaiUsage:
    """The genai-prices Usage for ours (both count cache and reasoning inside the totals)."""
    return GenaiUsage(**{key: getattr(u, field) for field, key in GENAI_KEYS.items()})


@dataclass(frozen=True, slots=True)
class Band:
    """Integer coefficients (USD * 10**scale per unit, one per slice) for one prompt-size tier band."""

    coefficients: tuple[int, ...]
    per_request: int


@dataclass(frozen=True, slots=True)
class Checks:
    """What must hold for these prices to price a usage, beyond the usage invariants."""

    zero: tuple[int, ...] = ()
    """Slices that must be 0: no rate covers them, or the only rate that would is known wrong."""
    apart: Apart = ALL_APART
    """Which subset counts have rates of their own (see :func:`slices`)."""
    max_input: int | None = None
    """Input tokens above which the rates are known to be wrong (see corrections.py)."""

    def failure(self, values: Sequence[int]) -> str | None:
        """Why a usage is refused; ``values``: its :func:`raw_counts`."""
        if self.max_input is not None and values[IN] > self.max_input:
            return f"no rate is known for prompts above {self.max_input:,} input tokens"
        for index in self.zero:
            if values[index]:
                return f"no rate covers {SLICES[index]} tokens" if index != WS else "no rate covers web searches"
        return None


# The usage field whose non-zero count a zero-checked slice refuses (see Checks.zero).
ZERO_FIELDS = (
    "input_tokens",
    "input_audio_tokens",
    "cache_read_tokens",
    "cache_read_audio_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "output_tokens",
    "reasoning_tokens",
    "output_audio_tokens",
    "output_image_tokens",
    "web_searches",
)


def raw_counts(u: Usage) -> list[int]:
    """Per slice, the usage count its checks look at (the field of ZERO_FIELDS)."""
    return [getattr(u, name) for name in ZERO_FIELDS]


def why_unpriced(u: Usage, checks: Checks, otherwise: str = "unknown") -> str:
    """Why a card returns None for this usage (for logs and ``llmledger price``)."""
    if slices(u, NONE_APART) is None:
        return "the usage counts are inconsistent (a subset exceeds its total, or a count is negative)"
    raw = raw_counts(u)
    if any(type(value) is not int for value in raw):
        return "a usage count is not an integer"
    failure = checks.failure(raw)
    if failure is not None:
        return failure
    if slices(u, checks.apart) is None:
        return "the usage counts do not nest as the rates need (a priced subset exceeds its share)"
    return otherwise


class RateCard:
    """Prices usages for one resolved (model, date, price context) in about a microsecond."""

    __slots__ = ("_base", "_refuse", "_scale", "_tiers", "checks", "matched_model", "scale_digits", "source")

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
        # The counts that must be 0, read in one call; None when there are none.
        refused = [ZERO_FIELDS[index] for index in checks.zero]
        if checks.max_input is not None:
            refused.append("input_tokens")
        # (an attrgetter of one name returns the value itself: repeat a name so it is always a tuple)
        self._refuse = attrgetter(*refused, refused[0]) if refused else None
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
        checks = self.checks
        values = slices(u, checks.apart)
        if values is None:
            return None
        refuse = self._refuse
        if refuse is not None and any(refuse(u)) and checks.failure(raw_counts(u)):
            return None
        band = self._base if not self._tiers else self.band_for(u.input_tokens)
        c = band.coefficients
        cost_in = c[0] * values[0] + c[1] * values[1] + c[2] * values[2] + c[3] * values[3] + c[4] * values[4]
        cost_in += c[5] * values[5]
        cost_out = c[6] * values[6] + c[7] * values[7] + c[8] * values[8] + c[9] * values[9]
        other = c[10] * values[10] + band.per_request
        if type(cost_in + cost_out + other) is not int:  # a float count would make the result inexact
            return None
        scale = self._scale
        dec_in, dec_out = Decimal(cost_in) * scale, Decimal(cost_out) * scale
        total = dec_in + dec_out if not other else Decimal(cost_in + cost_out + other) * scale
        return priced_cost(total, dec_in, dec_out, self.source, self.matched_model)

    def cache_savings(self, u: Usage) -> Decimal:
        """``price(u without cache reads) - price(u)`` for a usage this card prices, from the input
        slices alone: a cache read moves tokens from the input slice (``IN``, or ``IA`` for audio) to
        the cache-read slice (``CR``/``CRA``) of the same band (the band depends on the input count,
        which is the same). Cache reads without rates of their own price as input: no savings."""
        audio_in, cache_read = self.checks.apart[0], self.checks.apart[1]
        if not cache_read:
            return Decimal(0)
        c = (self._base if not self._tiers else self.band_for(u.input_tokens)).coefficients
        reads, audio_reads = u.cache_read_tokens, u.cache_read_audio_tokens
        if audio_in:
            units = (c[IN] - c[CR]) * (reads - audio_reads) + (c[IA] - c[CRA]) * audio_reads
        else:
            units = (c[IN] - c[CR]) * reads
        return Decimal(units) * self._scale

    def why_unpriced(self, u: Usage) -> str:
        return why_unpriced(u, self.checks)

    def line_rates(self, input_tokens: int) -> tuple[Band, Decimal]:
        """The band that applies and the Decimal value of one coefficient unit (for breakdowns)."""
        return self.band_for(input_tokens), self._scale


class ReferenceCard:
    """Prices through ``ModelPrice.calc_price`` on every call (~100 µs): for prices that do not compile."""

    __slots__ = ("_checks", "_factor", "_model_price", "matched_model", "source")

    def __init__(
        self,
        model_price: ModelPrice,
        checks: Checks,
        source: str,
        matched_model: str,
        multiplier: Decimal | None = None,
    ) -> None:
        self._model_price, self._checks = model_price, checks
        self._factor = Decimal(1) if multiplier is None else multiplier
        self.source, self.matched_model = source, matched_model

    def price(self, u: Usage) -> Cost | None:
        values = slices(u, self._checks.apart)
        if values is None or self._checks.failure(raw_counts(u)):
            return None
        try:
            result = self._model_price.calc_price(genai_usage(u))
        except ValueError:
            return None
        factor = self._factor
        return priced_cost(
            result["total_price"] * factor,
            result["input_price"] * factor,
            result["output_price"] * factor,
            self.source,
            self.matched_model,
        )

    def why_unpriced(self, u: Usage) -> str:
        return why_unpriced(u, self._checks, "genai-prices rejected the usage")
