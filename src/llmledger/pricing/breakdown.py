"""Line-by-line cost breakdowns (for ``llmledger price``), read off a compiled rate card.

Each line is one disjoint slice of the usage (uncached input, cache reads, 5-minute and 1-hour cache
writes, input audio, output text, reasoning, output audio, web searches, the per-request fee) with
the effective rate that slice pays. Because the card's coefficients are linear in the usage counts,
the lines add up exactly to the card's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmledger.pricing.ratecard import RateCard
from llmledger.usage import Cost, Usage

_MILLION = Decimal(1_000_000)
_THOUSAND = Decimal(1_000)


@dataclass(frozen=True, slots=True)
class QuoteLine:
    """One slice of a call's usage and what it costs."""

    label: str
    count: int
    rate: Decimal
    """USD per ``per`` units of this slice."""
    per: str
    """``MTok``, ``K`` (web searches) or ``request``."""
    usd: Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    """A call's cost, its breakdown (empty when unpriced or not compiled) and why it is unpriced."""

    cost: Cost
    lines: tuple[QuoteLine, ...]
    reason: str | None


def quote_lines(card: RateCard, u: Usage) -> tuple[QuoteLine, ...]:
    band, unit = card.line_rates(u.input_tokens)
    a, b, c, d, e = band.inputs
    f, g, h = band.outputs
    # (label, count, integer coefficient per unit, shown per, always shown)
    slices = [
        (
            "input (uncached)",
            u.input_tokens - u.cache_read_tokens - u.cache_write_tokens - u.input_audio_tokens,
            a,
            "MTok",
            True,
        ),
        ("cache read", u.cache_read_tokens, a + b, "MTok", False),
        ("cache write 5m", u.cache_write_tokens - u.cache_write_1h_tokens, a + c, "MTok", False),
        ("cache write 1h", u.cache_write_1h_tokens, a + c + d, "MTok", False),
        ("input audio", u.input_audio_tokens, a + e, "MTok", False),
        ("output", u.output_tokens - u.reasoning_tokens - u.output_audio_tokens, f, "MTok", True),
        ("reasoning", u.reasoning_tokens, f + g, "MTok", False),
        ("output audio", u.output_audio_tokens, f + h, "MTok", False),
        ("web searches", u.web_searches, band.per_search, "K", False),
        ("per-request fee", 1, band.per_request, "request", False),
    ]
    lines = []
    for label, count, coefficient, per, always in slices:
        if not (count or always) or (per == "request" and not coefficient):
            continue
        per_unit = Decimal(coefficient) * unit
        scale = _MILLION if per == "MTok" else _THOUSAND if per == "K" else Decimal(1)
        lines.append(QuoteLine(label, count, per_unit * scale, per, per_unit * count))
    return tuple(lines)
