"""The `pricing:` override section: what it prices, and every validation error naming file and key."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

import pytest
import yaml

from llmledger.errors import ConfigError
from llmledger.pricing import PriceOverrides, Pricer, load_price_overrides
from llmledger.usage import PriceModifiers, Usage

SOURCE = "conf/llmledger.yaml"
AT = datetime(2026, 11, 20, 12, tzinfo=timezone.utc)
USAGE = Usage(input_tokens=50_000, output_tokens=1_000)


def pricer_for(text: str) -> Pricer:
    return Pricer(load_price_overrides(yaml.safe_load(text)["pricing"], SOURCE))


def test_no_section_gives_empty_overrides() -> None:
    overrides = load_price_overrides(None, SOURCE)
    assert overrides == PriceOverrides.empty()
    assert overrides.entries == () and dict(overrides.deployments) == {}


def test_self_hosted_model_with_cache_and_tiers() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - provider: openai
      model: Llama-3.3-70B          # matched case-insensitively
      prices: {input_mtok: 0.10, output_mtok: 0.30, cache_read_mtok: 0.01}
    - provider: openai
      model: qwen-long
      prices:
        input_mtok: {base: 0.50, tiers: [{start: 128000, price: 1.00}]}
        output_mtok: {base: "1.50", tiers: [{start: 128000, price: 3}]}
"""
    )
    llama = pricer.price(
        "openai",
        "llama-3.3-70b",
        Usage(input_tokens=50_000, output_tokens=1_000, cache_read_tokens=10_000),
        at=AT,
    )
    # 40_000 * 0.1/M + 10_000 * 0.01/M + 1_000 * 0.3/M = 0.004 + 0.0001 + 0.0003 = 0.0044
    assert (llama.total, llama.source, llama.matched_model) == (
        Decimal("0.0044"),
        "override llmledger.yaml",
        "llama-3.3-70b",
    )
    short = pricer.price("openai", "qwen-long", Usage(input_tokens=128_000, output_tokens=1_000), at=AT)
    # 128_000 * 0.5/M + 1_000 * 1.5/M = 0.064 + 0.0015 = 0.0655 (at the threshold: base rate)
    assert short.total == Decimal("0.0655")
    long = pricer.price("openai", "qwen-long", Usage(input_tokens=128_001, output_tokens=1_000), at=AT)
    # above it the whole request re-prices: 128_001 * 1/M + 1_000 * 3/M = 0.128001 + 0.003 = 0.131001
    assert long.total == Decimal("0.131001")


def test_multiplier_on_a_family_keeps_tiers_and_batch() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: anthropic, model_prefix: claude-, multiplier: 0.85}
"""
    )
    cost = pricer.price("anthropic", "claude-sonnet-4-5", USAGE, at=AT)
    # 0.85 * (50_000 * 3/M + 1_000 * 15/M) = 0.85 * 0.165 = 0.14025
    assert (cost.total, cost.source, cost.matched_model) == (
        Decimal("0.14025"),
        "override llmledger.yaml",
        "claude-sonnet-4-5",
    )
    batch = pricer.price("anthropic", "claude-sonnet-4-5", USAGE, PriceModifiers(batch=True), AT)
    # 0.85 * (50_000 * 1.5/M + 1_000 * 7.5/M) = 0.85 * 0.0825 = 0.070125
    assert batch.total == Decimal("0.070125")
    long = pricer.price(
        "anthropic",
        "claude-sonnet-4-5",
        Usage(input_tokens=250_000),
        at=datetime(2026, 3, 1, tzinfo=timezone.utc),
    )
    # 0.85 * 250_000 * 6/M = 0.85 * 1.5 = 1.275
    assert long.total == Decimal("1.275")


def test_deployment_with_base_and_discount() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - provider: azure.ai.openai
      model: my-gpt4o-prod
      base: gpt-4o
      base_provider: openai
      multiplier: 0.9
"""
    )
    cost = pricer.price("azure.ai.openai", "my-gpt4o-prod", USAGE, at=AT)
    # 0.9 * 0.135 = 0.1215
    assert (cost.total, cost.matched_model) == (Decimal("0.1215"), "gpt-4o")


def test_capacity_tier_priced_only_through_an_override() -> None:
    scale = PriceModifiers(service_tier="scale")
    assert Pricer().price("openai", "gpt-4o", USAGE, scale, AT).status == "unpriced"
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: openai, model_prefix: "", service_tier: scale, multiplier: 1}
"""
    )
    assert pricer.price("openai", "gpt-4o", USAGE, scale, AT).total == Decimal("0.135")
    # The entry is for Scale-tier calls only: standard calls still come from genai-prices.
    assert pricer.price("openai", "gpt-4o", USAGE, at=AT).source == "genai-prices 0.2.3"


def test_prices_entry_does_not_price_calls_with_other_modifiers() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: openai, model: llama-3.3-70b, prices: {input_mtok: 0.1, output_mtok: 0.3}}
    - {provider: openai, model: llama-3.3-70b, batch: true, prices: {input_mtok: 0.05, output_mtok: 0.15}}
"""
    )
    assert pricer.price("openai", "llama-3.3-70b", USAGE, at=AT).total == Decimal("0.0053")
    batch = pricer.price("openai", "llama-3.3-70b", USAGE, PriceModifiers(batch=True), AT)
    assert batch.total == Decimal("0.00265")
    flex = pricer.price("openai", "llama-3.3-70b", USAGE, PriceModifiers(service_tier="flex"), AT)
    assert flex.status == "unpriced"


def test_dated_entries_keep_price_history_through_the_memo() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: "*", model: house-llm, prices: {input_mtok: 1, output_mtok: 2}, effective_until: 2026-07-01}
    - {provider: "*", model: house-llm, prices: {input_mtok: 0.5, output_mtok: 1}, effective_from: 2026-07-01}
"""
    )
    june = datetime(2026, 6, 30, 23, 59, tzinfo=timezone.utc)
    july = datetime(2026, 7, 1, 0, 0, tzinfo=timezone.utc)
    for _ in range(2):  # the second round is served from the memo
        # 50_000 * 1/M + 1_000 * 2/M = 0.052, then 50_000 * 0.5/M + 1_000 * 1/M = 0.026
        assert pricer.price("mistral_ai", "house-llm", USAGE, at=june).total == Decimal("0.052")
        assert pricer.price("mistral_ai", "house-llm", USAGE, at=july).total == Decimal("0.026")


def test_entry_before_its_start_falls_back_to_genai_prices() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: openai, model: gpt-4o, multiplier: 0.5, effective_from: 2026-12-01}
"""
    )
    assert pricer.price("openai", "gpt-4o", USAGE, at=AT).total == Decimal("0.135")
    assert pricer.price("openai", "gpt-4o", USAGE, at=datetime(2026, 12, 1, tzinfo=timezone.utc)).total == Decimal(
        "0.0675"
    )


def test_first_matching_entry_wins() -> None:
    pricer = pricer_for(
        """
pricing:
  models:
    - {provider: openai, model: gpt-4o, multiplier: 0.5}
    - {provider: openai, model_prefix: gpt-, multiplier: 0.1}
"""
    )
    assert pricer.price("openai", "gpt-4o", USAGE, at=AT).total == Decimal("0.0675")
    assert pricer.price("openai", "gpt-4o-mini", USAGE, at=AT).total == Decimal("0.00081")


def test_base_missing_a_tier_rate_stays_unpriced(caplog: pytest.LogCaptureFixture) -> None:
    pricer = pricer_for("pricing: {models: [{provider: anthropic, model_prefix: claude-, multiplier: 0.9}]}")
    with caplog.at_level(logging.WARNING, logger="llmledger.pricing"):
        cost = pricer.price("anthropic", "claude-sonnet-4-5", USAGE, PriceModifiers(service_tier="priority"), AT)
    assert cost.status == "unpriced"
    assert "priority tier" in caplog.text


# (yaml of the pricing section, key named in the error, words in the message)
INVALID: list[tuple[str, str, str]] = [
    ("[1, 2]", "pricing", "expected a mapping"),
    ("{modles: []}", "pricing.modles", "unknown key 'modles'"),
    ("{models: {provider: openai}}", "pricing.models", "expected a list"),
    ("{models: [gpt-4o]}", "pricing.models[0]", "expected a mapping"),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, colour: red}]}",
        "pricing.models[0].colour",
        "unknown key",
    ),
    ("{models: [{model: x, prices: {input_mtok: 1}}]}", "pricing.models[0].provider", "missing 'provider'"),
    ("{models: [{provider: '', model: x, prices: {input_mtok: 1}}]}", "pricing.models[0].provider", "non-empty string"),
    ("{models: [{provider: openai, prices: {input_mtok: 1}}]}", "pricing.models[0].model", "exactly one of"),
    (
        "{models: [{provider: openai, model: x, model_prefix: y, prices: {input_mtok: 1}}]}",
        "pricing.models[0].model",
        "exactly one of",
    ),
    ("{models: [{provider: openai, model: x}]}", "pricing.models[0].prices", "give 'prices'"),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, multiplier: 2}]}",
        "pricing.models[0].multiplier",
        "cannot be combined",
    ),
    ("{models: [{provider: openai, model: x, prices: 3}]}", "pricing.models[0].prices", "expected a mapping"),
    ("{models: [{provider: openai, model: x, prices: {}}]}", "pricing.models[0].prices", "no prices given"),
    (
        "{models: [{provider: openai, model: x, prices: {input: 1}}]}",
        "pricing.models[0].prices.input",
        "unknown key 'input'",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: -1}}]}",
        "pricing.models[0].prices.input_mtok",
        "non-negative",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: true}}]}",
        "pricing.models[0].prices.input_mtok",
        "expected a number",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: cheap}}]}",
        "pricing.models[0].prices.input_mtok",
        "expected a number",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: .nan}}]}",
        "pricing.models[0].prices.input_mtok",
        "non-negative",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: {tiers: [{start: 1, price: 1}]}}}]}",
        "pricing.models[0].prices.input_mtok.base",
        "needs 'base'",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: {base: 1, tiers: 5}}}]}",
        "pricing.models[0].prices.input_mtok.tiers",
        "non-empty list",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: {base: 1, "
        "tiers: [{start: 9, price: 2}, {start: 5, price: 3}]}}}]}",
        "pricing.models[0].prices.input_mtok.tiers[1].start",
        "must increase",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: {base: 1, tiers: [{start: -1, price: 2}]}}}]}",
        "pricing.models[0].prices.input_mtok.tiers[0].start",
        "token count",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {cache_read_mtok: 1, output_mtok: 2}}]}",
        "pricing.models[0].prices",
        "Missing ancestor price",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1, cache_write_1h_mtok: 2}}]}",
        "pricing.models[0].prices",
        "Missing ancestor price",
    ),
    ("{models: [{provider: openai, model: x, multiplier: 0}]}", "pricing.models[0].multiplier", "positive number"),
    ("{models: [{provider: openai, model: x, multiplier: -0.5}]}", "pricing.models[0].multiplier", "positive number"),
    ("{models: [{provider: openai, model: x, base: gpt-9000}]}", "pricing.models[0].base", "no model 'gpt-9000'"),
    (
        "{models: [{provider: openai, model: x, base: gpt-4o, base_provider: acme}]}",
        "pricing.models[0].base_provider",
        "no provider 'acme'",
    ),
    ("{models: [{provider: acme, model: x, multiplier: 0.9}]}", "pricing.models[0].provider", "no provider 'acme'"),
    (
        "{models: [{provider: openai, model: x, base_provider: openai, multiplier: 1}]}",
        "pricing.models[0].base_provider",
        "needs 'base'",
    ),
    ("{models: [{provider: '*', model: x, base: gpt-4o}]}", "pricing.models[0].base_provider", "give 'base_provider'"),
    (
        "{models: [{provider: openai, model: x, service_tier: turbo, multiplier: 1}]}",
        "pricing.models[0].service_tier",
        "unknown service tier 'turbo'",
    ),
    (
        "{models: [{provider: openai, model: x, batch: yes please, multiplier: 1}]}",
        "pricing.models[0].batch",
        "true or false",
    ),
    (
        "{models: [{provider: anthropic, model: x, speed: ludicrous, multiplier: 1}]}",
        "pricing.models[0].speed",
        "unknown speed",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, effective_from: '2026-13-01'}]}",
        "pricing.models[0].effective_from",
        "date like",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, effective_from: 3}]}",
        "pricing.models[0].effective_from",
        "date like",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, "
        "effective_from: 2026-07-01, effective_until: 2026-07-01}]}",
        "pricing.models[0].effective_until",
        "after effective_from",
    ),
    (
        "{models: [{provider: openai, model: x, prices: {input_mtok: 1}, currency: EUR}]}",
        "pricing.models[0].currency",
        "only USD",
    ),
    ("{deployments: [a]}", "pricing.deployments", "expected a mapping"),
    ("{deployments: {azure.ai.openai: [a]}}", "pricing.deployments.azure.ai.openai", "expected a mapping"),
    ("{deployments: {azure.ai.openai: {prod: 5}}}", "pricing.deployments.azure.ai.openai.prod", "non-empty string"),
    (
        "{models: [{provider: openai, model: a, prices: {input_mtok: 1}}, "
        "{provider: openai, model: b, prices: {output_mtok: x}}]}",
        "pricing.models[1].prices.output_mtok",
        "expected a number",
    ),
]


@pytest.mark.parametrize(("section", "key", "words"), INVALID, ids=[key + ":" + words for _, key, words in INVALID])
def test_invalid_section_names_file_key_and_reason(section: str, key: str, words: str) -> None:
    parsed: Any = yaml.safe_load(section)
    with pytest.raises(ConfigError) as raised:
        load_price_overrides(parsed, SOURCE)
    error = raised.value
    assert (error.source, error.key) == (SOURCE, key)
    assert SOURCE in str(error) and key in str(error)
    assert words in str(error)
