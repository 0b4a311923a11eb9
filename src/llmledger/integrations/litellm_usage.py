"""Pure mapping of what LiteLLM reports about one call to llmledger's records (no LiteLLM import).

LiteLLM normalises every provider's answer to the OpenAI shape: ``prompt_tokens`` counts all
input tokens (cache reads and writes included, as in the OTel meaning), the cache and reasoning
counts are subsets, and ``custom_llm_provider`` names the provider it called.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from llmledger.instrumentation.adapter import MalformedUsage
from llmledger.usage import CustomerContext, PriceModifiers, Usage

PROVIDERS = {
    "openai": "openai", "text-completion-openai": "openai", "azure": "azure.ai.openai",
    "azure_text": "azure.ai.openai", "anthropic": "anthropic", "bedrock": "aws.bedrock",
    "vertex_ai": "gcp.vertex_ai", "vertex_ai_beta": "gcp.vertex_ai", "gemini": "gcp.gemini",
    "mistral": "mistral_ai", "cohere": "cohere", "cohere_chat": "cohere", "groq": "groq",
}
"""LiteLLM's ``custom_llm_provider`` -> ``gen_ai.provider.name``; others keep LiteLLM's name."""

OPERATIONS = {
    "completion": "chat", "acompletion": "chat", "responses": "chat", "aresponses": "chat",
    "embedding": "embeddings", "aembedding": "embeddings",
    "text_completion": "text_completion", "atext_completion": "text_completion",
}
"""LiteLLM's ``call_type`` -> ``gen_ai.operation.name``; calls of other types are not recorded."""


def provider_name(litellm_provider: object) -> str:
    name = litellm_provider if isinstance(litellm_provider, str) and litellm_provider else "litellm"
    return PROVIDERS.get(name, name)


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


def _count(obj: Any, name: str) -> int:
    value = _get(obj, name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise MalformedUsage(f"{name}={value!r}")
    return value


def usage_from(response: Any) -> Usage | None:
    """The normalised usage of a LiteLLM response (ModelResponse, EmbeddingResponse, ...)."""
    usage = _get(response, "usage")
    if usage is None:
        return None
    prompt_details = _get(usage, "prompt_tokens_details")
    completion_details = _get(usage, "completion_tokens_details")
    input_tokens = _count(usage, "prompt_tokens") or _count(usage, "input_tokens")
    output_tokens = _count(usage, "completion_tokens") or _count(usage, "output_tokens")
    cache_write = (_count(prompt_details, "cache_creation_tokens")
                   or _count(usage, "cache_creation_input_tokens"))
    one_hour = _count(_get(prompt_details, "cache_creation_token_details"), "ephemeral_1h_input_tokens")
    return Usage(
        input_tokens=input_tokens, output_tokens=output_tokens,
        cache_read_tokens=_count(prompt_details, "cached_tokens"),
        cache_write_tokens=cache_write, cache_write_1h_tokens=min(one_hour, cache_write),
        reasoning_tokens=_count(completion_details, "reasoning_tokens"))


def modifiers_from(response: Any) -> PriceModifiers | None:
    usage = _get(response, "usage")
    tier = _get(usage, "service_tier") or _get(response, "service_tier")
    speed = _get(usage, "speed")
    tier = tier if isinstance(tier, str) and tier not in ("standard", "default", "auto") else None
    speed = speed if isinstance(speed, str) and speed != "standard" else None
    if tier is None and speed is None:
        return None
    return PriceModifiers(service_tier=tier, speed=speed)


def server_of(api_base: object) -> tuple[str | None, int | None]:
    if not isinstance(api_base, str) or not api_base:
        return None, None
    try:
        parts = urlsplit(api_base)
        return parts.hostname, parts.port
    except ValueError:
        return None, None


def customer_from_litellm(kwargs: dict[str, Any], source: str) -> CustomerContext | None:
    """The customer named by LiteLLM's own fields, when the config says to trust them.

    ``user``: LiteLLM's ``user`` parameter (the OpenAI ``user`` field; the proxy's end user).
    ``metadata``: ``metadata={"customer_id": ..., "customer_plan": ..., "feature": ...}``.
    """
    litellm_params = kwargs.get("litellm_params") or {}
    if source == "user":
        user = kwargs.get("user") or litellm_params.get("user")
        if not user:
            optional = kwargs.get("optional_params") or {}
            user = optional.get("user")
        return CustomerContext(user) if isinstance(user, str) and user else None
    if source == "metadata":
        metadata = litellm_params.get("metadata") or {}
        customer_id = metadata.get("customer_id") if isinstance(metadata, dict) else None
        if not isinstance(customer_id, str) or not customer_id:
            return None

        def text(key: str) -> str | None:
            value = metadata.get(key)
            return value if isinstance(value, str) and value else None

        return CustomerContext(customer_id, text("customer_plan"), text("feature"), text("user"))
    return None
