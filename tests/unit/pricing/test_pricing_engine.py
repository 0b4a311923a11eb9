"""Pricer behaviour: unpriced is never $0, one log line per model, memo correctness, robustness."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import cast

import pytest
from genai_prices import data_snapshot

from llmledger.pricing import Pricer
from llmledger.pricing import engine as engine_module
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
USAGE = Usage(input_tokens=50_000, output_tokens=1_000)
LOGGER = "llmledger.pricing"


def warnings_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]


def test_no_usage() -> None:
    cost = Pricer().price("openai", "gpt-4o", None, at=AT)
    assert cost.status == "no_usage" and cost.total is None


def test_unknown_model_is_unpriced_and_logged_once_per_model(caplog: pytest.LogCaptureFixture) -> None:
    pricer = Pricer()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        for day in range(3):  # other days are other memo keys: still one line
            for _ in range(3):
                cost = pricer.price("openai", "acme-llm-9000", USAGE, at=AT + timedelta(days=day))
                assert (cost.status, cost.total, cost.input, cost.output) == ("unpriced", None, None, None)
        pricer.price("openai", "acme-llm-9001", USAGE, at=AT)
        pricer.price("anthropic", "acme-llm-9000", USAGE, at=AT)
    lines = warnings_in(caplog)
    assert len(lines) == 3
    assert "'acme-llm-9000'" in lines[0] and "'openai'" in lines[0] and "pricing:" in lines[0]


@pytest.mark.parametrize(("provider", "model"), [("openai", None), ("openai", "  "), ("acme-cloud", "gpt-4o")])
def test_missing_model_or_unknown_provider_is_unpriced(provider: str, model: str | None) -> None:
    assert Pricer().price(provider, model, USAGE, at=AT).status == "unpriced"


@pytest.mark.parametrize(
    ("provider", "model", "modifiers", "at", "why"),
    [
        # Data without the rate: genai-prices would silently use the standard rate.
        ("anthropic", "claude-sonnet-4-5", PriceModifiers(service_tier="priority"), AT, "priority tier"),
        ("openai", "gpt-4o", PriceModifiers(batch=True), datetime(2026, 9, 1, tzinfo=timezone.utc), "batch"),
        ("azure.ai.openai", "gpt-4o", PriceModifiers(batch=True), AT, "fallback"),
        ("aws.bedrock", "us.amazon.nova-pro-v1:0", PriceModifiers(service_tier="flex"), AT, "flex tier"),
        (
            "gcp.vertex_ai",
            "gemini-2.5-pro",
            PriceModifiers(service_tier="ON_DEMAND_PRIORITY"),
            AT,
            "priority tier",
        ),
        ("anthropic", "claude-opus-4-6", PriceModifiers(speed="fast"), AT, "fast mode"),
        ("openai", "gpt-4o", PriceModifiers(service_tier="scale"), AT, "scale tier"),
        (
            "aws.bedrock",
            "us.amazon.nova-pro-v1:0",
            PriceModifiers(service_tier="reserved"),
            AT,
            "reserved tier",
        ),
        ("openai", "gpt-4o", PriceModifiers(service_tier="turbo"), AT, "turbo tier"),
    ],
)
def test_modifiers_without_a_rate_are_unpriced(
    caplog: pytest.LogCaptureFixture,
    provider: str,
    model: str,
    modifiers: PriceModifiers,
    at: datetime,
    why: str,
) -> None:
    pricer = Pricer()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert pricer.price(provider, model, USAGE, modifiers, at).status == "unpriced"
        assert pricer.price(provider, model, USAGE, modifiers, at).status == "unpriced"
    (line,) = warnings_in(caplog)
    assert why in line
    assert pricer.price(provider, model, USAGE, NO_MODIFIERS, at).status == "priced"


@pytest.mark.parametrize("tier", ["default", "auto", "standard", "ON_DEMAND", "on_demand"])
def test_standard_tier_words_price_as_no_modifier(tier: str) -> None:
    cost = Pricer().price("openai", "gpt-4o", USAGE, PriceModifiers(service_tier=tier), AT)
    assert cost.total == Decimal("0.135")


def test_batch_reported_as_service_tier() -> None:
    cost = Pricer().price("anthropic", "claude-haiku-4-5", USAGE, PriceModifiers(service_tier="batch"), AT)
    # 50_000 * 0.5/M + 1_000 * 2.5/M = 0.025 + 0.0025 = 0.0275
    assert cost.total == Decimal("0.0275")


@pytest.mark.parametrize(
    ("provider", "model", "usage"),
    [
        # genai-prices has no audio rate for gpt-4o-audio-preview: the text rate would be wrong; the
        # correction ($40/$80) is for the later snapshots, not the first one ($100/$200).
        (
            "openai",
            "gpt-4o-audio-preview-2024-10-01",
            Usage(input_tokens=3_000, output_tokens=500, output_audio_tokens=300),
        ),
        # no 1h cache-write rate on OpenAI or on Bedrock's Sonnet 4 entry
        (
            "aws.bedrock",
            "global.anthropic.claude-sonnet-4-20250514-v1:0",
            Usage(input_tokens=9, cache_write_tokens=5, cache_write_1h_tokens=5),
        ),
        # web searches with no per-search price
        (
            "aws.bedrock",
            "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
            Usage(input_tokens=9, output_tokens=9, web_searches=1),
        ),
        # image output on a model without an image output rate
        ("gcp.gemini", "gemini-2.5-flash", Usage(input_tokens=10, output_tokens=1_300, output_image_tokens=1_290)),
        # output tokens on a model priced for input only (an embedding model)
        ("openai", "text-embedding-3-small", Usage(input_tokens=100, output_tokens=5)),
        # long context the data has no rate for (see corrections.py)
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", Usage(input_tokens=250_000, output_tokens=10)),
        ("anthropic", "claude-sonnet-4-20250514", Usage(input_tokens=250_000, output_tokens=10)),
    ],
)
def test_usage_the_rates_do_not_cover_is_unpriced(provider: str, model: str, usage: Usage) -> None:
    pricer = Pricer()
    assert pricer.price(provider, model, usage, at=AT).status == "unpriced"
    reason = pricer.quote(provider, model, usage, at=AT).reason
    assert reason and ("no rate" in reason or "cannot be split" in reason), reason


def test_short_context_on_the_same_models_is_priced() -> None:
    usage = Usage(input_tokens=150_000, output_tokens=10)
    # 150_000 * 3.3/M + 10 * 16.5/M = 0.495 + 0.000165 = 0.495165
    assert Pricer().price("aws.bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", usage, at=AT).total == Decimal(
        "0.495165"
    )


def test_free_model_is_priced_at_zero_on_purpose() -> None:
    # genai-prices lists OpenAI moderation with no rates because it is free; that is a real $0.
    cost = Pricer().price("openai", "omni-moderation-latest", Usage(input_tokens=1_000), at=AT)
    assert (cost.status, cost.total) == ("priced", Decimal(0))


@pytest.mark.parametrize(
    "usage",
    [
        Usage(input_tokens=10, output_tokens=5, cache_read_tokens=11),
        Usage(input_tokens=10, output_tokens=5, cache_read_tokens=6, cache_write_tokens=6),
        Usage(input_tokens=10, output_tokens=5, reasoning_tokens=6),
        Usage(input_tokens=-1, output_tokens=5),
        Usage(input_tokens=10, output_tokens=-5),
        Usage(input_tokens=10, output_tokens=5, cache_write_tokens=1, cache_write_1h_tokens=2),
        Usage(input_tokens=cast(int, 10.5), output_tokens=5),
    ],
)
def test_inconsistent_usage_is_unpriced_with_a_warning(caplog: pytest.LogCaptureFixture, usage: Usage) -> None:
    pricer = Pricer()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        assert pricer.price("openai", "gpt-4o", usage, at=AT).status == "unpriced"
        assert pricer.price("openai", "gpt-4o", usage, at=AT).status == "unpriced"
    assert len(warnings_in(caplog)) == 1


def test_never_raises(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    pricer = Pricer()

    def boom(*args: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(pricer._resolver, "resolve", boom)
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        assert pricer.price("openai", "gpt-4o", USAGE, at=AT).status == "unpriced"
    assert any(r.levelno == logging.DEBUG and r.exc_info for r in caplog.records)
    assert Pricer().price("openai", "gpt-4o", USAGE, at=cast(datetime, "yesterday")).status == "unpriced"
    text_count = Usage(input_tokens=cast(int, "10"), output_tokens=5)
    assert Pricer().price("openai", "gpt-4o", text_count, at=AT).status == "unpriced"


def test_dated_price_change_is_respected_through_the_memo() -> None:
    pricer = Pricer()
    usage = Usage(input_tokens=1_000, output_tokens=5_000)
    before, after = (
        datetime(2025, 6, 9, 23, 59, tzinfo=timezone.utc),
        datetime(2025, 6, 10, tzinfo=timezone.utc),
    )
    for _ in range(3):
        # o3 cut from $10/$40 to $2/$8 on 2025-06-10: 0.01 + 0.2 = 0.21, then 0.002 + 0.04 = 0.042
        assert pricer.price("openai", "o3", usage, at=after).total == Decimal("0.042")
        assert pricer.price("openai", "o3", usage, at=before).total == Decimal("0.21")


def test_day_is_the_utc_date_and_naive_datetimes_are_utc() -> None:
    pricer = Pricer()
    usage = Usage(input_tokens=1_000, output_tokens=5_000)
    still_9th_in_utc = datetime(2025, 6, 10, 1, 0, tzinfo=timezone(timedelta(hours=3)))
    assert pricer.price("openai", "o3", usage, at=still_9th_in_utc).total == Decimal("0.21")
    assert pricer.price("openai", "o3", usage, at=datetime(2025, 6, 10, 0, 0)).total == Decimal("0.042")


def test_default_time_is_now() -> None:
    pricer = Pricer()
    assert pricer.price("openai", "gpt-4o", USAGE) == pricer.price(
        "openai", "gpt-4o", USAGE, at=datetime.now(timezone.utc)
    )


def test_equal_modifiers_share_results() -> None:
    pricer = Pricer()
    assert pricer.price("openai", "gpt-4o", USAGE, PriceModifiers(), AT) == pricer.price(
        "openai", "gpt-4o", USAGE, NO_MODIFIERS, AT
    )


def test_time_of_day_prices_are_not_memoised_per_day() -> None:
    pricer = Pricer()
    peak, off_peak = (
        datetime(2026, 11, 20, 12, tzinfo=timezone.utc),
        datetime(2026, 11, 20, 20, tzinfo=timezone.utc),
    )
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    # deepseek-chat $0.27/$1.10 from 00:30 to 16:30 UTC, else $0.135/$0.55
    for _ in range(2):
        assert pricer.price("deepseek", "deepseek-chat", usage, at=peak).total == Decimal("1.37")
        assert pricer.price("deepseek", "deepseek-chat", usage, at=off_peak).total == Decimal("0.685")


def test_pinned_data_ignores_a_replaced_global_snapshot() -> None:
    # UpdatePrices / set_custom_snapshot replace genai-prices' process-global data; we never read it.
    empty = data_snapshot.DataSnapshot(providers=[], from_auto_update=True)
    data_snapshot.set_custom_snapshot(empty)
    try:
        assert Pricer().price("openai", "gpt-4o", USAGE, at=AT).total == Decimal("0.135")
    finally:
        data_snapshot.set_custom_snapshot(None)


def test_memo_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(engine_module, "_MEMO_CAP", 10)
    pricer = Pricer()
    for day in range(50):
        pricer.price("openai", "gpt-4o", USAGE, at=AT + timedelta(days=day))
    assert len(pricer._memo) <= 10
    assert pricer.price("openai", "gpt-4o", USAGE, at=AT).total == Decimal("0.135")


def test_concurrent_pricing_gives_the_same_answers() -> None:
    calls = [
        ("openai", "gpt-4o", USAGE, NO_MODIFIERS),
        (
            "anthropic",
            "claude-sonnet-4-5",
            Usage(input_tokens=9_000, output_tokens=100, cache_read_tokens=4_000),
            NO_MODIFIERS,
        ),
        ("gcp.gemini", "gemini-2.5-pro", Usage(input_tokens=300_000, output_tokens=10), PriceModifiers(batch=True)),
        ("openai", "no-such-model", USAGE, NO_MODIFIERS),
    ]
    expected = [Pricer().price(p, m, u, mods, AT) for p, m, u, mods in calls]
    shared, failures = Pricer(), []

    def worker() -> None:
        for _ in range(300):
            for (p, m, u, mods), want in zip(calls, expected, strict=True):
                if shared.price(p, m, u, mods, AT) != want:
                    failures.append((p, m))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_alias_correction_applies_from_the_alias_move() -> None:
    pricer = Pricer()
    before, after = datetime(2025, 12, 1, tzinfo=timezone.utc), datetime(2025, 12, 2, tzinfo=timezone.utc)
    old = pricer.price("mistral_ai", "mistral-large-latest", USAGE, at=before)
    # Mistral Large 2 $2/$6: 50_000 * 2/M + 1_000 * 6/M = 0.1 + 0.006 = 0.106
    assert (old.total, old.matched_model) == (Decimal("0.106"), "mistral-large")
    new = pricer.price("mistral_ai", "mistral-large-latest", USAGE, at=after)
    # Mistral Large 3 $0.5/$1.5: 0.025 + 0.0015 = 0.0265
    assert (new.total, new.matched_model) == (Decimal("0.0265"), "mistral-large-2512")


def test_long_context_gap_follows_the_anthropic_entry_over_time() -> None:
    # Anthropic priced Sonnet 4.6 above 200k until 2026-03-13; the Vertex entry has no such tier.
    usage = Usage(input_tokens=250_000, output_tokens=1_000)
    pricer = Pricer()
    assert (
        pricer.price("gcp.vertex_ai", "claude-sonnet-4-6", usage, at=datetime(2026, 3, 1, tzinfo=timezone.utc)).status
        == "unpriced"
    )
    flat = pricer.price("gcp.vertex_ai", "claude-sonnet-4-6", usage, at=datetime(2026, 3, 13, tzinfo=timezone.utc))
    # one rate for the whole 1M window since: 250_000 * 3/M + 1_000 * 15/M = 0.75 + 0.015 = 0.765
    assert flat.total == Decimal("0.765")


def test_cache_savings_by_hand_and_where_prices_are_not_a_rate_card() -> None:
    pricer = Pricer()
    # gpt-4o: $2.50 input, $1.25 cached: 400,000 reads save 400,000 * 1.25/M = 0.5
    cached = Usage(input_tokens=1_000_000, output_tokens=1_000, cache_read_tokens=400_000)
    assert pricer.cache_savings("openai", "gpt-4o", cached, at=AT) == Decimal("0.5")
    assert pricer.cache_savings("openai", "gpt-4o", Usage(input_tokens=10), at=AT) == Decimal(0)
    assert pricer.cache_savings("openai", "no-such-model", cached, at=AT) is None
    # time-of-day prices (deepseek): the rates in force at that hour
    off_peak = datetime(2026, 11, 20, 20, tzinfo=timezone.utc)
    uncached = Usage(input_tokens=1_000_000, output_tokens=1_000)
    want = (pricer.price("deepseek", "deepseek-chat", uncached, at=off_peak).total
            - pricer.price("deepseek", "deepseek-chat", cached, at=off_peak).total)
    assert want > 0
    assert pricer.cache_savings("deepseek", "deepseek-chat", cached, at=off_peak) == want
