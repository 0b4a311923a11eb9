"""Rate cards against genai-prices' own arithmetic, over the whole catalogue of our providers.

A rate card must give exactly what ``ModelPrice.calc_price`` gives, or nothing: it returns None
either where genai-prices raises, or where a policy check refuses a rate that is known to be wrong
(no rate covers a non-zero count, a missing 1h/audio rate, a missing long-context tier).
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from genai_prices.data import providers
from genai_prices.types import ModelPrice, Tier, TieredPrices

from llmledger.pricing import Pricer
from llmledger.pricing.compile import compile_card
from llmledger.pricing.ratecard import CardError, RateCard, ReferenceCard, genai_usage
from llmledger.usage import Usage

OUR_PROVIDERS = ("openai", "azure", "anthropic", "aws", "google", "mistral", "cohere", "groq")
DATES = (datetime(2025, 3, 1, tzinfo=timezone.utc), datetime(2026, 11, 20, tzinfo=timezone.utc))
POLICY = ("no rate covers", "no rate is known for prompts above")


def random_usage(rnd: random.Random) -> Usage:
    """A usage that satisfies usage.py's subset relations, with counts around the tier thresholds."""
    i = rnd.choice([0, rnd.randint(1, 5_000), rnd.randint(100_000, 300_000), rnd.randint(0, 1_500_000)])
    cr = rnd.choice([0, rnd.randint(0, i)])
    cw = rnd.choice([0, rnd.randint(0, i - cr)])
    cw1h = rnd.choice([0, 0, rnd.randint(0, cw)])
    ia = rnd.choice([0, 0, rnd.randint(0, i)])
    o = rnd.choice([0, rnd.randint(0, 60_000)])
    r = rnd.choice([0, rnd.randint(0, o)])
    oa = rnd.choice([0, 0, rnd.randint(0, o)])
    ws = rnd.choice([0, 0, 0, rnd.randint(1, 5)])
    return Usage(i, o, cr, cw, cw1h, r, ia, oa, ws)


def catalogue() -> list[tuple[str, str]]:
    return [(p.id, m.id) for p in providers if p.id in OUR_PROVIDERS for m in p.models]


@pytest.mark.parametrize(("provider_id", "model_id"), catalogue())
def test_card_matches_calc_price(provider_id: str, model_id: str) -> None:
    provider = next(p for p in providers if p.id == provider_id)
    model = next(m for m in provider.models if m.id == model_id)
    rnd = random.Random(f"{provider_id}/{model_id}")
    contexts = [None, *(dict(variant.when) for variant in model.price_variants or ())]
    for when in DATES:
        for context in contexts:
            model_price = model.get_prices(when, context)
            card = compile_card(
                model_price,
                source="s",
                matched_model=model_id,
                strict_audio=provider_id in ("openai", "azure"),
            )
            assert isinstance(card, RateCard), "every bundled price compiles to a fast card"
            for _ in range(25):
                usage = random_usage(rnd)
                got = card.price(usage)
                try:
                    want = model_price.calc_price(genai_usage(usage))
                except ValueError:
                    assert got is None, usage
                    continue
                if got is None:
                    reason = card.why_unpriced(usage)
                    assert reason.startswith(POLICY), (usage, reason)
                    continue
                assert (got.total, got.input, got.output) == (
                    want["total_price"],
                    want["input_price"],
                    want["output_price"],
                ), usage
                assert_cache_savings(card, usage, rnd)


def assert_cache_savings(card: RateCard, usage: Usage, rnd: random.Random) -> None:
    """The card's cache savings are its price without the cache reads minus its price, also with
    some of the cache reads audio."""
    for audio_reads in {0, rnd.randint(0, min(usage.cache_read_tokens, usage.input_audio_tokens))}:
        with_reads = replace(usage, cache_read_audio_tokens=audio_reads)
        priced, uncached = card.price(with_reads), card.price(
            replace(with_reads, cache_read_tokens=0, cache_read_audio_tokens=0))
        if priced is None:
            continue
        assert uncached is not None and priced.total is not None and uncached.total is not None, with_reads
        assert card.cache_savings(with_reads) == uncached.total - priced.total, with_reads


def test_invalid_prices_are_rejected() -> None:
    with pytest.raises(CardError, match="Missing ancestor price"):
        compile_card(ModelPrice(cache_read_mtok=Decimal("0.1")), source="s", matched_model="m")


def test_reference_card_agrees_with_rate_card() -> None:
    prices = ModelPrice(
        input_mtok=TieredPrices(base=Decimal("1.25"), tiers=[Tier(start=200_000, price=Decimal("2.5"))]),
        cache_read_mtok=Decimal("0.125"),
        output_mtok=Decimal(10),
    )
    fast = compile_card(prices, source="s", matched_model="m")
    assert isinstance(fast, RateCard)
    slow = ReferenceCard(prices, fast.checks, "s", "m")
    rnd = random.Random(7)
    for _ in range(200):
        usage = random_usage(rnd)
        usage = Usage(
            usage.input_tokens,
            usage.output_tokens,
            usage.cache_read_tokens,
            reasoning_tokens=usage.reasoning_tokens,
        )
        assert fast.price(usage) == slow.price(usage)


@pytest.mark.parametrize(
    ("provider", "model", "usage"),
    [
        (
            "openai",
            "gpt-4o",
            Usage(input_tokens=50_000, output_tokens=1_000, cache_read_tokens=20_000, reasoning_tokens=300),
        ),
        ("anthropic", "claude-sonnet-4-5", Usage(250_000, 2_000, 100_000, 20_000, 5_000, 500, web_searches=2)),
        ("openai", "gpt-audio", Usage(3_000, 500, input_audio_tokens=2_000, output_audio_tokens=300)),
        ("gcp.gemini", "gemini-2.5-flash", Usage(10_000, 1_000, cache_write_tokens=3_000, input_audio_tokens=4_000)),
    ],
)
def test_breakdown_lines_add_up_to_the_total(provider: str, model: str, usage: Usage) -> None:
    at = datetime(2026, 3, 1, tzinfo=timezone.utc)
    quote = Pricer().quote(provider, model, usage, at=at)
    assert quote.cost.status == "priced" and quote.cost.total is not None
    assert sum((line.usd for line in quote.lines), Decimal(0)) == quote.cost.total
    assert sum(line.count for line in quote.lines if line.per == "MTok") == usage.input_tokens + usage.output_tokens


def test_breakdown_shows_effective_rates() -> None:
    usage = Usage(250_000, 2_000, 100_000, 20_000, 5_000, 500)
    quote = Pricer().quote("anthropic", "claude-sonnet-4-5", usage, at=datetime(2026, 3, 1, tzinfo=timezone.utc))
    rates = {line.label: (line.count, line.rate) for line in quote.lines}
    # above 200k the long-context rates apply to every slice
    assert rates == {
        "input (uncached)": (130_000, Decimal(6)),
        "cache read": (100_000, Decimal("0.6")),
        "cache write 5m": (15_000, Decimal("7.5")),
        "cache write 1h": (5_000, Decimal(12)),
        "output": (1_500, Decimal("22.5")),
        "reasoning": (500, Decimal("22.5")),
    }
