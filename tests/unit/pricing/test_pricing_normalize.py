"""Model-id normalisation: candidate ids, and which entry each spelling ends up priced as."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from llmledger.pricing import Pricer, load_price_overrides
from llmledger.pricing.normalize import model_candidates
from llmledger.usage import Usage

AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
USAGE = Usage(input_tokens=50_000, output_tokens=1_000)


def test_literal_id_comes_first_and_candidates_are_unique() -> None:
    candidates = model_candidates("OpenAI/GPT-4o-2024-08-06")
    assert candidates == ("openai/gpt-4o-2024-08-06", "gpt-4o-2024-08-06", "gpt-4o")


def test_vertex_resource_path_and_version() -> None:
    path = "projects/acme/locations/europe-west4/publishers/anthropic/models/claude-opus-4-1@20250805"
    assert model_candidates(path)[1:] == (
        "claude-opus-4-1@20250805",
        "claude-opus-4-1-20250805",
        "claude-opus-4-1",
    )


def test_bedrock_arn_and_region_prefix() -> None:
    arn = "arn:aws:bedrock:us-east-1:123456789012:inference-profile/apac.amazon.nova-pro-v1:0"
    assert model_candidates(arn, bedrock=True)[1:] == ("apac.amazon.nova-pro-v1:0", "amazon.nova-pro-v1:0")


def test_bedrock_global_prefix_is_never_stripped() -> None:
    # Global profiles cost 10% less than regional ones: never price one as the other.
    assert model_candidates("global.anthropic.claude-sonnet-4-6", bedrock=True) == (
        "global.anthropic.claude-sonnet-4-6",
    )


def test_short_numeric_suffix_is_not_a_date() -> None:
    # mistral-large-2512 costs a quarter of mistral-large: a 4-digit suffix names another model.
    assert model_candidates("mistral-large-2612") == ("mistral-large-2612",)


def test_fine_tune_is_never_reduced_to_its_base_model() -> None:
    assert model_candidates("ft:gpt-4.1-2025-04-14:acme::x1") == ("ft:gpt-4.1-2025-04-14:acme::x1",)


@pytest.mark.parametrize(
    ("provider", "model", "matched"),
    [
        ("openai", "GPT-4o", "gpt-4o"),
        ("openai", "openai/gpt-4o", "gpt-4o"),
        ("openai", "gpt-4o-2024-05-13", "gpt-4o-2024-05-13"),  # a priced snapshot is not stripped
        ("openai", "gpt-4.1-2027-01-15", "gpt-4.1"),  # an unlisted snapshot prices as its alias
        ("gcp.gemini", "models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gcp.vertex_ai", "publishers/google/models/gemini-2.5-flash", "gemini-2.5-flash"),
        ("gcp.vertex_ai", "claude-opus-4-1@20250805", "claude-4-opus"),
        ("anthropic", "anthropic/claude-sonnet-4-5", "claude-sonnet-4-5"),
        (
            "aws.bedrock",
            "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-lite-v1:0",
            "amazon.nova-lite-v1:0",
        ),
        (
            "aws.bedrock",
            "apac.anthropic.claude-3-5-sonnet-20240620-v1:0",
            "regional.anthropic.claude-3-5-sonnet-20240620-v1:0",
        ),
        ("groq", "openai/gpt-oss-20b", "openai/gpt-oss-20b"),  # Groq's own id keeps its slash
        ("azure.ai.openai", "gpt-35-turbo", "gpt-3.5-turbo"),
    ],
)
def test_spellings_resolve_to_the_right_entry(provider: str, model: str, matched: str) -> None:
    cost = Pricer().price(provider, model, USAGE, at=AT)
    assert cost.status == "priced", cost
    assert cost.matched_model == matched


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "ft:gpt-4o-mini:acme::AbC123"),  # no snapshot date: genai-prices cannot tell the rate
        ("aws.bedrock", "arn:aws:bedrock:us-east-1:1234:application-inference-profile/a1b2"),
        ("azure.ai.openai", "my-gpt4o-prod"),
        ("mistral_ai", "mistral-large-2612"),
    ],
)
def test_opaque_ids_are_unpriced_without_configuration(provider: str, model: str) -> None:
    assert Pricer().price(provider, model, USAGE, at=AT).status == "unpriced"


def test_configuration_maps_opaque_ids() -> None:
    overrides = load_price_overrides(
        {
            "deployments": {
                "azure.ai.openai": {"My-GPT4o-Prod": "gpt-4o"},
                "aws.bedrock": {
                    "arn:aws:bedrock:us-east-1:1234:application-inference-profile/a1b2": "us.amazon.nova-pro-v1:0"
                },
            },
            "models": [{"provider": "openai", "model_prefix": "ft:gpt-4o-mini:", "base": "ft:gpt-4o-mini-2024-07-18"}],
        },
        "llmledger.yaml",
    )
    pricer = Pricer(overrides)
    azure = pricer.price("azure.ai.openai", "my-gpt4o-prod", USAGE, at=AT)
    # 50_000 * 2.5/M + 1_000 * 10/M = 0.135, priced from genai-prices through the deployment map
    assert (azure.total, azure.matched_model, azure.source) == (
        Decimal("0.135"),
        "gpt-4o",
        "genai-prices 0.2.3",
    )
    bedrock = pricer.price(
        "aws.bedrock", "arn:aws:bedrock:us-east-1:1234:application-inference-profile/a1b2", USAGE, at=AT
    )
    # Nova Pro $0.80/$3.20: 50_000 * 0.8/M + 1_000 * 3.2/M = 0.04 + 0.0032 = 0.0432
    assert bedrock.total == Decimal("0.0432")
    fine_tune = pricer.price("openai", "ft:gpt-4o-mini:acme::AbC123", USAGE, at=AT)
    # ft rate $0.30/$1.20: 0.015 + 0.0012 = 0.0162, from the configured base
    assert (fine_tune.total, fine_tune.source) == (Decimal("0.0162"), "override llmledger.yaml")
