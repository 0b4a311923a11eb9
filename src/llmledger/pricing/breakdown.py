"""Line-by-line cost breakdowns (for ``llmledger price``), read off a compiled rate card.

Each line is one disjoint slice of the usage (uncached text and audio input, cache reads of text and
audio, 5-minute and 1-hour cache writes, output text, reasoning, output audio, output images, web
searches, the per-request fee) with
the effective rate that slice pays. Because the card's coefficients are linear in the usage counts,
the lines add up exactly to the card's total.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmledger.pricing.ratecard import IN, OUT, SLICES, WS, RateCard, slices
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
    # Every slice on its own line when the counts nest (a slice without its own rate shows its
    # parent's), else as the card prices it.
    values = slices(u) or slices(u, card.checks.apart)
    if values is None:
        return ()
    band, unit = card.line_rates(u.input_tokens)
    lines = []
    for index, (label, count, coefficient) in enumerate(zip(SLICES, values, band.coefficients, strict=True)):
        if not count and index not in (IN, OUT):
            continue
        per = "K" if index == WS else "MTok"
        per_unit = Decimal(coefficient) * unit
        lines.append(QuoteLine(label, count, per_unit * (_THOUSAND if per == "K" else _MILLION), per, per_unit * count))
    if band.per_request:
        fee = Decimal(band.per_request) * unit
        lines.append(QuoteLine("per-request fee", 1, fee, "request", fee))
    return tuple(lines)
