"""Every real usage block of genai-prices' public dataset, through the real SDK and the fake provider.

``tests/data/genai_prices_usages.json`` (see its README) holds 962 distinct usage blocks recorded
from OpenAI chat and Responses, Anthropic Messages and Gemini. Each one is served verbatim by the
fake provider (``x-fake-raw-usage``) to the real SDK, and the cost llmledger records must be what
the provider bills: genai-prices' own ``calc_price`` on that body, except where the provider's rule
differs from it, each case named below with its reason (and computed from genai-prices' rates too).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic
import genai_prices
import openai
import pytest
from google import genai
from google.genai import types

from harness import Harness, instrumented
from llmledger.fake_provider import FakeProviderServer

CORPUS = Path(__file__).parents[2] / "data" / "genai_prices_usages.json"
CASES: list[dict[str, Any]] = json.loads(CORPUS.read_text())
# kind -> (genai-prices provider id, api flavour, body key of the usage, body key of the model)
KINDS = {
    "gemini": ("google", "default", "usageMetadata", "modelVersion"),
    "anthropic": ("anthropic", "default", "usage", "model"),
    "openai-chat": ("openai", "chat", "usage", "model"),
    "openai-responses": ("openai", "responses", "usage", "model"),
}
MILLION = Decimal(1_000_000)


def case_id(case: dict[str, Any]) -> str:
    return f"{case['kind']}-{case['model']}-{CASES.index(case)}"


@pytest.fixture(scope="module")
def recorder() -> Iterator[Harness]:
    with instrumented() as harness:
        yield harness


def genai_price(kind: str, model: str, usage: dict[str, Any]) -> Decimal:
    provider_id, flavor, usage_key, model_key = KINDS[kind]
    extracted = genai_prices.extract_usage({usage_key: usage, model_key: model}, provider_id=provider_id,
                                           api_flavor=flavor)
    return extracted.calc_price().total_price


def _step(entry: dict[str, Any]) -> genai_prices.Usage:
    read, written = entry.get("cache_read_input_tokens") or 0, entry.get("cache_creation_input_tokens") or 0
    return genai_prices.Usage(input_tokens=entry["input_tokens"] + read + written, cache_read_tokens=read,
                              cache_write_tokens=written, output_tokens=entry["output_tokens"])


def expected_cost(case: dict[str, Any]) -> tuple[Decimal, str | None]:
    """What the provider bills, and why it is not genai-prices' calc_price on the body (None if it is)."""
    kind, model, usage = case["kind"], case["model"], case["usage"]
    reference = genai_price(kind, model, usage)
    iterations = usage.get("iterations") or []
    if kind == "anthropic" and any(step["type"] != "message" or step.get("model") for step in iterations):
        # Anthropic bills every sampling step of usage.iterations (compaction, advisor messages on their
        # own model) at that step's model and tier; genai-prices prices the top level only.
        messages = [step for step in iterations if step["type"] == "message"]
        top = (usage["input_tokens"], usage["output_tokens"])
        if (sum(step["input_tokens"] for step in messages), sum(step["output_tokens"] for step in messages)) != top:
            messages = [usage]
        steps = [*messages, *(step for step in iterations if step["type"] != "message")]
        total = sum((genai_prices.calc_price(_step(step), step.get("model") or model,
                                             provider_id="anthropic").total_price for step in steps), Decimal(0))
        return total, "usage.iterations: each step at its own model and tier"
    if kind == "gemini" and usage.get("trafficType") == "ON_DEMAND_FLEX":
        # Vertex Flex PayGo is billed at 50% of the standard rates; genai-prices has no flex rate here.
        return reference / 2, "Vertex Flex PayGo: 50% of standard"
    if model.startswith("gpt-4o-audio-preview"):
        # genai-prices has no audio rates for it (audio priced as text); OpenAI lists $40/$80 per MTok
        # against the text $2.50/$10 (llmledger's documented correction).
        details_in = usage.get("prompt_tokens_details") or {}
        details_out = usage.get("completion_tokens_details") or {}
        extra = (Decimal(details_in.get("audio_tokens") or 0) * (40 - Decimal("2.5"))
                 + Decimal(details_out.get("audio_tokens") or 0) * (80 - 10)) / MILLION
        return reference + extra, "gpt-4o-audio-preview audio at $40/$80 per MTok"
    return reference, None


@pytest.fixture(scope="module")
def clients(fake_provider: FakeProviderServer) -> dict[str, Any]:
    return {
        "gemini": genai.Client(api_key="x", http_options=types.HttpOptions(base_url=fake_provider.url)),
        "anthropic": anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0),
        "openai": openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0),
    }


def call_through_sdk(case: dict[str, Any], clients: dict[str, Any]) -> None:
    headers = {"x-fake-raw-usage": json.dumps(case["usage"]), "x-fake-model": case["model"]}
    kind, model = case["kind"], case["model"]
    if kind == "gemini":
        config = types.GenerateContentConfig(http_options=types.HttpOptions(headers=headers))
        clients["gemini"].models.generate_content(model=model, contents="Hi", config=config)
    elif kind == "anthropic":
        clients["anthropic"].messages.create(model=model, max_tokens=16, extra_headers=headers,
                                             messages=[{"role": "user", "content": "Hi"}])
    elif kind == "openai-chat":
        clients["openai"].chat.completions.create(model=model, messages=[{"role": "user", "content": "Hi"}],
                                                  extra_headers=headers)
    else:
        clients["openai"].responses.create(model=model, input="Hi", extra_headers=headers)


def test_the_corpus_covers_every_api_we_price_from_it() -> None:
    kinds = {case["kind"] for case in CASES}
    assert kinds == set(KINDS) and len(CASES) == 962
    # The named exceptions are real differences from genai-prices' calc_price on the body.
    named = [case for case in CASES if expected_cost(case)[1] is not None]
    assert len(named) == 8  # 5 with iterations, 1 Vertex Flex, 2 gpt-4o-audio-preview
    assert all(expected_cost(case)[0] != genai_price(case["kind"], case["model"], case["usage"]) for case in named)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_recorded_cost_is_what_the_provider_bills(
    case: dict[str, Any], recorder: Harness, clients: dict[str, Any]
) -> None:
    recorder.clear()
    call_through_sdk(case, clients)
    (record,) = recorder.records
    expected, reason = expected_cost(case)
    assert record.cost.status == "priced", (case, record.usage)
    assert record.cost.total == expected, (reason, case, record.usage)
