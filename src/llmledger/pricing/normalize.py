"""Model-id normalisation: the ids to look a reported model up under, most literal first.

SDKs and providers report the same model in many spellings: ``openai/gpt-4o``, a Vertex resource
path ``projects/p/locations/l/publishers/google/models/gemini-2.5-pro``, ``claude-sonnet-4-5@20250929``,
a Bedrock ARN or a cross-region inference profile ``us.anthropic.claude-...``, an upper-case id.
The literal id is always tried first, because genai-prices matches many spellings itself and some
of them carry a price difference (``gpt-4o-2024-05-13`` costs twice ``gpt-4o``; Bedrock ``global.``
profiles cost 10% less than regional ones). Later candidates strip one more layer of decoration.

Not done on purpose: a Bedrock ``global.`` prefix is never stripped (the regional price would be
10% too high), and an ``ft:`` id is never reduced to its base model (fine-tuned inference is billed
at its own, higher rate); an override maps those explicitly.
"""

from __future__ import annotations

import re

# `provider/model` spellings (LiteLLM, OpenRouter, gateways). Only known provider words are
# stripped: Groq's own ids contain slashes (`openai/gpt-oss-120b`, `meta-llama/...`).
_PROVIDER_PREFIXES = frozenset(
    {
        "openai",
        "azure",
        "azure_ai",
        "anthropic",
        "google",
        "gemini",
        "vertex_ai",
        "vertex",
        "bedrock",
        "aws",
        "mistral",
        "mistral_ai",
        "mistralai",
        "cohere",
        "groq",
        "models",
    }
)
# Bedrock cross-region inference profiles that share the regional price.
_BEDROCK_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "jp.", "ca.", "in.", "us-gov.")
# Only full dates: a 4-digit suffix is often a different model (`mistral-large-2512` costs a quarter
# of `mistral-large`), so it is never stripped.
_DATE_SUFFIX = re.compile(r"-20\d{2}-?[01]\d-?[0-3]\d$")


def model_candidates(model: str, *, bedrock: bool = False) -> tuple[str, ...]:
    """The ids to try for ``model``, deduplicated, most literal first."""
    ids: list[str] = []

    def add(candidate: str) -> None:
        candidate = candidate.strip()
        if candidate and candidate not in ids:
            ids.append(candidate)

    literal = model.strip().lower()
    add(literal)
    current = literal

    # ARNs: arn:aws:bedrock:<region>:<account>:(inference-profile|foundation-model|...)/<id>
    if current.startswith("arn:") and "/" in current:
        current = current.rsplit("/", 1)[1]
        add(current)
    # Vertex resource paths and Gemini's `models/<id>`.
    if "/models/" in current:
        current = current.rsplit("/models/", 1)[1]
        add(current)
    while "/" in current and current.split("/", 1)[0] in _PROVIDER_PREFIXES:
        current = current.split("/", 1)[1]
        add(current)
    # Vertex `@version`: first as a dated id, then without it.
    if "@" in current:
        name, _, version = current.partition("@")
        if version.isdigit():
            add(f"{name}-{version}")
        current = name
        add(current)
    if bedrock:
        for prefix in _BEDROCK_REGION_PREFIXES:
            if current.startswith(prefix):
                current = current[len(prefix) :]
                add(current)
                break
    # A dated snapshot genai-prices does not list yet: price it like its undated alias.
    if not current.startswith("ft:"):
        undated = _DATE_SUFFIX.sub("", current)
        if undated != current:
            add(undated)
    return tuple(ids)
