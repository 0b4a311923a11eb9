"""LiteLLM's normalised answer -> llmledger's usage, provider, server and customer (pure mapping)."""

from __future__ import annotations

import pytest

from llmledger.instrumentation.adapter import MalformedUsage
from llmledger.integrations.litellm_usage import (
    customer_from_litellm,
    modifiers_from,
    provider_name,
    server_of,
    usage_from,
)
from llmledger.usage import CustomerContext, PriceModifiers, Usage


def test_usage_with_cache_and_reasoning_details():
    response = {"usage": {
        "prompt_tokens": 1000, "completion_tokens": 200,
        "prompt_tokens_details": {"cached_tokens": 300, "cache_creation_tokens": 100,
                                  "cache_creation_token_details": {"ephemeral_1h_input_tokens": 40}},
        "completion_tokens_details": {"reasoning_tokens": 50}}}
    assert usage_from(response) == Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=300,
                                         cache_write_tokens=100, cache_write_1h_tokens=40, reasoning_tokens=50)


def test_anthropic_style_cache_creation_field_and_missing_details():
    response = {"usage": {"prompt_tokens": 10, "completion_tokens": 2, "cache_creation_input_tokens": 4}}
    assert usage_from(response) == Usage(input_tokens=10, output_tokens=2, cache_write_tokens=4)


def test_no_usage_is_none_and_garbage_is_malformed():
    assert usage_from({"id": "x"}) is None
    with pytest.raises(MalformedUsage):
        usage_from({"usage": {"prompt_tokens": "lots"}})
    with pytest.raises(MalformedUsage):
        usage_from({"usage": {"prompt_tokens": -1}})


@pytest.mark.parametrize(("litellm_name", "ours"), [
    ("openai", "openai"), ("azure", "azure.ai.openai"), ("anthropic", "anthropic"), ("bedrock", "aws.bedrock"),
    ("vertex_ai", "gcp.vertex_ai"), ("gemini", "gcp.gemini"), ("mistral", "mistral_ai"), ("groq", "groq"),
    ("together_ai", "together_ai"), (None, "litellm")])
def test_provider_names(litellm_name, ours):
    assert provider_name(litellm_name) == ours


def test_modifiers_only_when_not_standard():
    assert modifiers_from({"usage": {"service_tier": "standard", "speed": "standard"}}) is None
    assert modifiers_from({"usage": {"service_tier": "priority"}}) == PriceModifiers(service_tier="priority")
    assert modifiers_from({"usage": {"speed": "fast"}}) == PriceModifiers(speed="fast")


def test_server_of():
    assert server_of("http://127.0.0.1:4000/v1") == ("127.0.0.1", 4000)
    assert server_of(None) == (None, None)
    assert server_of("http://[::1") == (None, None)


def test_customer_from_user_and_metadata_only_when_asked():
    kwargs = {"user": "end-user", "litellm_params": {"metadata": {"customer_id": "c1", "customer_plan": "pro",
                                                                  "feature": "chat"}}}
    assert customer_from_litellm(kwargs, "none") is None
    assert customer_from_litellm(kwargs, "user") == CustomerContext("end-user")
    assert customer_from_litellm(kwargs, "metadata") == CustomerContext("c1", "pro", "chat")
    assert customer_from_litellm({"litellm_params": {"metadata": {"customer_id": 7}}}, "metadata") is None
