"""Golden costs for the billing dimensions beyond text tokens, the surcharges and the iterations.

Rates are the providers' list prices as genai-prices 0.2.3 records them (checked against the pages
in docs/pricing.md); each case's comment holds the arithmetic, in USD per million tokens (/M).
"""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from llmledger.pricing import Pricer, load_price_overrides
from llmledger.usage import Iteration, PriceModifiers, Usage

AT = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def pricer() -> Pricer:
    return Pricer()


def total(pricer: Pricer, provider: str, model: str, usage: Usage, **modifiers: str) -> Decimal | None:
    cost = pricer.price(provider, model, usage, PriceModifiers(**modifiers) if modifiers else PriceModifiers(), AT)  # type: ignore[arg-type]
    return cost.total if cost.status == "priced" else None


def test_gemini_image_output(pricer: Pricer) -> None:
    # gemini-2.5-flash-image $0.30 in, $2.50 text out, $30 image out (a 1290-token image = $0.0387):
    # 10 * 0.30 + 14 * 2.50 + 1_290 * 30 = 3 + 35 + 38_700 = 38_738 /M = 0.038738
    usage = Usage(input_tokens=10, output_tokens=1_304, output_image_tokens=1_290)
    assert total(pricer, "gcp.gemini", "gemini-2.5-flash-image", usage) == Decimal("0.038738")


def test_gemini_image_output_without_an_image_rate_is_unpriced(pricer: Pricer) -> None:
    # gemini-2.5-flash has no image output rate: the text rate (12x too low) is never used.
    usage = Usage(input_tokens=10, output_tokens=1_304, output_image_tokens=1_290)
    assert total(pricer, "gcp.gemini", "gemini-2.5-flash", usage) is None


def test_gemini_cached_audio(pricer: Pricer) -> None:
    # A recorded gemini-2.5-flash body: prompt 3_297 (audio 321), cached 2_918 (audio 284), 55 candidates
    # + 95 thoughts. $0.30 text in, $1.00 audio in, $0.03 cached text, $0.10 cached audio, $2.50 out:
    # uncached text 3_297 - 2_918 - 37 = 342 * 0.30 = 102.6; uncached audio 321 - 284 = 37 * 1.00 = 37;
    # cached text 2_918 - 284 = 2_634 * 0.03 = 79.02; cached audio 284 * 0.10 = 28.4; out 150 * 2.50 = 375
    # = 622.02 /M = 0.00062202
    usage = Usage(
        input_tokens=3_297,
        cache_read_tokens=2_918,
        input_audio_tokens=321,
        cache_read_audio_tokens=284,
        output_tokens=150,
        reasoning_tokens=95,
    )
    assert total(pricer, "gcp.vertex_ai", "gemini-2.5-flash", usage) == Decimal("0.00062202")


def test_gpt_4o_audio_preview_audio_correction(pricer: Pricer) -> None:
    # genai-prices has text rates only ($2.50/$10); OpenAI lists audio at $40 in / $80 out:
    # in: 1_000 text * 2.50 + 2_000 audio * 40 = 2_500 + 80_000; out: 200 * 10 + 300 * 80 = 2_000 + 24_000
    # = 108_500 /M = 0.1085
    usage = Usage(input_tokens=3_000, input_audio_tokens=2_000, output_tokens=500, output_audio_tokens=300)
    assert total(pricer, "openai", "gpt-4o-audio-preview-2024-12-17", usage) == Decimal("0.1085")
    assert total(pricer, "openai", "gpt-4o-audio-preview-2024-10-01", usage) is None  # $100/$200 then


def test_per_request_fee(pricer: Pricer) -> None:
    # Perplexity sonar $1/$1 per MTok plus $12 per 1_000 requests:
    # 1_000 * 1 + 1_000 * 1 = 2_000 /M = 0.002; + 12 / 1_000 = 0.012 -> 0.014
    assert total(pricer, "perplexity", "sonar", Usage(input_tokens=1_000, output_tokens=1_000)) == Decimal("0.014")


def test_web_searches(pricer: Pricer) -> None:
    # claude-sonnet-5 $2/$10 and $10 per 1_000 searches: 1_000 * 2 + 100 * 10 = 3_000 /M = 0.003; 3 * 0.01 = 0.03
    usage = Usage(input_tokens=1_000, output_tokens=100, web_searches=3)
    assert total(pricer, "anthropic", "claude-sonnet-5", usage) == Decimal("0.033")


def test_us_only_inference_is_ten_percent_more(pricer: Pricer) -> None:
    # claude-sonnet-4-5 $3/$15: (1_000 * 3 + 100 * 15) /M = 0.0045; US-only inference x1.1 = 0.00495
    usage = Usage(input_tokens=1_000, output_tokens=100)
    assert total(pricer, "anthropic", "claude-sonnet-4-5", usage, inference_geo="us") == Decimal("0.00495")
    assert total(pricer, "anthropic", "claude-sonnet-4-5", usage, inference_geo="global") == Decimal("0.0045")
    # no known rate for another geography, nor outside Anthropic's own API
    assert total(pricer, "anthropic", "claude-sonnet-4-5", usage, inference_geo="eu") is None
    assert total(pricer, "aws.bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", usage, inference_geo="us") is None


def test_vertex_flex_is_half_price(pricer: Pricer) -> None:
    # gemini-2.5-flash $0.30/$2.50: (1_000 * 0.30 + 100 * 2.50) /M = 0.00055; Flex PayGo x0.5 = 0.000275
    usage = Usage(input_tokens=1_000, output_tokens=100)
    assert total(pricer, "gcp.vertex_ai", "gemini-2.5-flash", usage, service_tier="ON_DEMAND_FLEX") == Decimal(
        "0.000275"
    )


def test_vertex_priority_without_a_rate_is_unpriced(pricer: Pricer) -> None:
    usage = Usage(input_tokens=1_000, output_tokens=100)
    assert total(pricer, "gcp.vertex_ai", "gemini-2.5-flash", usage, service_tier="ON_DEMAND_PRIORITY") is None


def test_openai_regional_processing_is_unpriced_until_an_override_gives_it() -> None:
    usage = Usage(input_tokens=50_000, output_tokens=1_000)
    assert total(Pricer(), "openai", "gpt-4o", usage, region="eu") is None
    overrides = load_price_overrides(
        {"models": [{"provider": "openai", "model_prefix": "gpt-", "region": "eu", "multiplier": 1.1}]},
        "llmledger.yaml",
    )
    # gpt-4o 0.135 (50_000 * 2.50 + 1_000 * 10 = 135_000 /M) x1.1 = 0.1485
    assert total(Pricer(overrides), "openai", "gpt-4o", usage, region="eu") == Decimal("0.1485")


def test_served_tier_and_batch(pricer: Pricer) -> None:
    # gpt-4o batch: half of 0.135 = 0.0675; the served tier is what the adapters pass (the response's).
    usage = Usage(input_tokens=50_000, output_tokens=1_000)
    assert total(pricer, "openai", "gpt-4o", usage, service_tier="batch") == Decimal("0.0675")


def test_compaction_past_200k_prices_each_step_at_its_own_tier(pricer: Pricer) -> None:
    # claude-sonnet-4-5 $3/$15 up to 200k input tokens per request, $6/$22.50 above.
    # compaction 180_000 in / 3_000 out: 540_000 + 45_000 = 585_000; reply 23_000 in / 1_500 out:
    # 69_000 + 22_500 = 91_500; sum 676_500 /M = 0.6765 (the 203_000 total must NOT take the >200k rate,
    # which would be 203_000 * 6 + 4_500 * 22.50 = 1_319_250 /M = 1.31925).
    compaction = Usage(input_tokens=180_000, output_tokens=3_000)
    reply = Usage(input_tokens=23_000, output_tokens=1_500)
    usage = Usage(
        input_tokens=203_000,
        output_tokens=4_500,
        iterations=(Iteration(reply, kind="message"), Iteration(compaction, kind="compaction")),
    )
    assert total(pricer, "anthropic", "claude-sonnet-4-5", usage) == Decimal("0.6765")


def test_advisor_step_is_priced_at_its_own_model(pricer: Pricer) -> None:
    # The recorded claude-sonnet-5 call with a claude-opus-4-8 advisor: sonnet-5 $2/$10 for the two
    # message steps (2_390 in / 121 out): 4_780 + 1_210 = 5_990; opus-4-8 $5/$25 for the advisor
    # (2_518 in / 22 out): 12_590 + 550 = 13_140; 19_130 /M = 0.01913
    steps = (
        Iteration(Usage(input_tokens=1_128, output_tokens=110), kind="message"),
        Iteration(Usage(input_tokens=1_262, output_tokens=11), kind="message"),
        Iteration(Usage(input_tokens=2_518, output_tokens=22), "claude-opus-4-8", "advisor_message"),
    )
    usage = Usage(input_tokens=4_908, output_tokens=143, reasoning_tokens=28, iterations=steps)
    assert total(pricer, "anthropic", "claude-sonnet-5", usage) == Decimal("0.01913")


def test_an_unpriced_step_leaves_the_call_unpriced(pricer: Pricer) -> None:
    steps = (Iteration(Usage(10, 1)), Iteration(Usage(10, 1), "acme-model-9000", "advisor_message"))
    assert pricer.price("anthropic", "claude-sonnet-5", Usage(20, 2, iterations=steps), at=AT).status == "unpriced"
