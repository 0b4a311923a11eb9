"""One small adapter module per provider SDK; each defines ``ADAPTER`` (a ProviderAdapter)."""

from __future__ import annotations

import importlib

from llmledger.instrumentation.adapter import ProviderAdapter

ADAPTER_MODULES: tuple[str, ...] = ("openai", "anthropic", "google_genai", "bedrock", "mistral", "cohere", "groq")


def load_adapters() -> list[ProviderAdapter]:
    """The adapters of every provider llmledger supports (whether or not its SDK is installed)."""
    adapters = []
    for name in ADAPTER_MODULES:
        module = importlib.import_module(f"llmledger.instrumentation.providers.{name}")
        adapters.append(module.ADAPTER)
    return adapters
