"""Map OTel ``gen_ai.provider.name`` values to genai-prices provider ids.

genai-prices keys its data by its own provider ids; the spans carry the semantic-convention names.
We always pass an explicit provider id, because genai-prices' auto-detection from the model name
picks the wrong provider for Bedrock ids (``anthropic.claude-...`` resolves to Anthropic and fails).
"""

from __future__ import annotations

from llmledger.pricing.catalog import genai_provider_exists

# gen_ai.provider.name -> genai-prices provider id. Vertex AI and the Gemini API share the "google"
# entry: genai-prices prices both from Google's list (Claude on Vertex falls back to Anthropic's).
_SEMCONV_TO_GENAI: dict[str, str] = {
    "openai": "openai",
    "azure.ai.openai": "azure",
    "azure.ai.inference": "azure",
    "azure_openai": "azure",
    "anthropic": "anthropic",
    "aws.bedrock": "aws",
    "gcp.gemini": "google",
    "gcp.vertex_ai": "google",
    "gcp.gen_ai": "google",
    "mistral_ai": "mistral",
    "cohere": "cohere",
    "groq": "groq",
    "deepseek": "deepseek",
    "perplexity": "perplexity",
    "x_ai": "x-ai",
    "moonshot_ai": "moonshotai",
}

# Providers whose audio tokens are always billed at their own rate: when genai-prices has no audio
# rate for one of their models, pricing audio at the text rate would be wrong (notes: the
# gpt-4o-audio-preview entry lacks audio rates), so such calls are left unpriced instead.
AUDIO_BILLED_SEPARATELY: frozenset[str] = frozenset({"openai", "azure"})


def genai_provider_id(provider: str) -> str | None:
    """The genai-prices provider id for a ``gen_ai.provider.name``, or None if it has none.

    A genai-prices id passed directly (``aws``, ``google`` ...) is accepted too, so that the CLI and
    tests can use either vocabulary.
    """
    name = provider.strip().lower()
    mapped = _SEMCONV_TO_GENAI.get(name)
    if mapped is not None:
        return mapped
    return name if genai_provider_exists(name) else None
