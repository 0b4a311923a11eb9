"""Rebuild ``genai_prices_usages.json`` from genai-prices' public usage dataset (see README.md).

Keeps the distinct (API, model, usage block) triples that llmledger's OpenAI, Anthropic and Google
adapters read — OpenAI chat and Responses, Anthropic Messages, Gemini ``usageMetadata`` — and that
genai-prices can price for that provider. Run:
``.venv/bin/python tests/data/distill_usage_corpus.py ../shared/data/genai-prices-usages.json``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import genai_prices

OUT = Path(__file__).parent / "genai_prices_usages.json"
# kind -> (genai-prices provider id, api flavour, body key of the usage, body key of the model)
KINDS = {
    "gemini": ("google", "default", "usageMetadata", "modelVersion"),
    "anthropic": ("anthropic", "default", "usage", "model"),
    "openai-chat": ("openai", "chat", "usage", "model"),
    "openai-responses": ("openai", "responses", "usage", "model"),
}


def kind_of(body: dict[str, Any]) -> str | None:
    if isinstance(body.get("usageMetadata"), dict):
        return "gemini"
    usage = body.get("usage")
    model = body.get("model")
    if not isinstance(usage, dict) or not isinstance(model, str):
        return None
    if model.startswith("claude") and "cache_creation_input_tokens" in usage:
        return "anthropic"
    if "prompt_tokens" in usage:
        return "openai-chat"
    if "input_tokens_details" in usage or "output_tokens_details" in usage:
        return "openai-responses"
    return None


def reference_body(kind: str, model: str, usage: dict[str, Any]) -> dict[str, Any]:
    _, _, usage_key, model_key = KINDS[kind]
    return {usage_key: usage, model_key: model}


def priceable(kind: str, model: str, usage: dict[str, Any]) -> bool:
    provider_id, flavor, _, _ = KINDS[kind]
    try:
        extracted = genai_prices.extract_usage(reference_body(kind, model, usage), provider_id=provider_id,
                                               api_flavor=flavor)
        extracted.calc_price()
    except (LookupError, ValueError):
        return False
    return True


def main(source: str) -> None:
    seen: set[str] = set()
    cases = []
    for entry in json.loads(Path(source).read_text()):
        body = entry["body"]
        kind = kind_of(body)
        if kind is None:
            continue
        usage = body["usageMetadata"] if kind == "gemini" else body["usage"]
        model = body.get("modelVersion") or body.get("model")
        key = json.dumps([kind, model, usage], sort_keys=True)
        if key in seen or not priceable(kind, model, usage):
            continue
        seen.add(key)
        cases.append({"kind": kind, "model": model, "usage": usage, "file": body.get("file")})
    text = json.dumps(cases, separators=(",", ":"), sort_keys=True)
    OUT.write_text(text.replace('},{"', '},\n{"') + "\n")  # one case a line
    print(f"{len(cases)} cases -> {OUT}")


if __name__ == "__main__":
    main(sys.argv[1])
