"""Hostile usage data from a provider (issue 18, items 1 and 2), through the real SDKs.

A count no call can have (2**64, 1e300) or a usage that is not one (``"lots"``, ``[1, 2]``, a null
input count) is ``no_usage``, never a price; and every metric still encodes as OTLP afterwards.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.metrics import CallbackOptions
from opentelemetry.sdk.metrics import MeterProvider

from harness import Harness
from llmledger.fake_provider import FakeProviderServer
from llmledger.telemetry import ExactSums
from llmledger.usage import INT64_MAX, MAX_TOKENS_PER_CALL


def _openai(fake: FakeProviderServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake.url + "/v1", api_key="x", max_retries=0)


def _anthropic(fake: FakeProviderServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=fake.url, api_key="x", max_retries=0)


def _chat(fake: FakeProviderServer, headers: dict[str, str], model: str = "gpt-4o-mini") -> None:
    _openai(fake).chat.completions.create(model=model, messages=[{"role": "user", "content": "hi"}],
                                          extra_headers=headers)


def _message(fake: FakeProviderServer, headers: dict[str, str], model: str = "claude-haiku-4-5") -> None:
    _anthropic(fake).messages.create(model=model, max_tokens=16,
                                     messages=[{"role": "user", "content": "hi"}], extra_headers=headers)


def _status(harness: Harness) -> str:
    return str(harness.span().attributes["llmledger.cost.status"])


def _encodes(harness: Harness) -> int:
    """Encode every metric as the OTLP exporters do; the number of bytes (raises on overflow)."""
    data = harness.reader.get_metrics_data()
    assert data is not None
    return len(encode_metrics(data).SerializeToString())


@pytest.mark.parametrize("count", [2**64, 2**63 - 1, MAX_TOKENS_PER_CALL + 1, 10**300])
def test_impossible_token_count_is_no_usage_and_metrics_still_export(
        harness: Harness, fake_provider: FakeProviderServer, count: int,
        caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "llmledger"):
        _chat(fake_provider, {"x-fake-input-tokens": str(count)}, model=f"gpt-4o-mini-hostile-{count % 997}")
    span = harness.span()
    assert span.attributes["llmledger.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost" not in span.attributes
    assert "gen_ai.usage.input_tokens" not in span.attributes
    assert any("cannot read" in r.getMessage() for r in caplog.records)
    harness.clear()
    _chat(fake_provider, {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "10"})
    assert _status(harness) == "priced"
    assert _encodes(harness) > 0
    assert harness.sum_of("llmledger.customer.tokens", gen_ai__token__type="input") == 1000


def test_two_calls_just_under_the_bound_still_encode(harness: Harness, fake_provider: FakeProviderServer) -> None:
    for _ in range(2):
        _chat(fake_provider, {"x-fake-input-tokens": str(MAX_TOKENS_PER_CALL)})
    assert [s.attributes["llmledger.cost.status"] for s in harness.spans()] == ["priced", "priced"]
    assert _encodes(harness) > 0


def test_a_float_of_1e300_is_not_priced(harness: Harness, fake_provider: FakeProviderServer) -> None:
    _chat(fake_provider, {"x-fake-usage-json": json.dumps(
        {"prompt_tokens": 1e300, "completion_tokens": 3, "total_tokens": 1e300})}, model="reliability-float")
    assert _status(harness) == "no_usage"
    assert _encodes(harness) > 0


@pytest.mark.parametrize("usage", [
    "lots", [1, 2], 7, True,
    {"prompt_tokens": None, "completion_tokens": 5, "total_tokens": 5},
    {"completion_tokens": 5, "total_tokens": 5},
    {"prompt_tokens": 5, "completion_tokens": None, "total_tokens": 10},
])
def test_openai_usage_that_is_not_one_is_no_usage(harness: Harness, fake_provider: FakeProviderServer,
                                                  usage: Any) -> None:
    # A model of its own: "logged once" is per process, and other tests count that log line.
    _chat(fake_provider, {"x-fake-usage-json": json.dumps(usage)}, model="reliability-not-a-usage")
    assert _status(harness) == "no_usage"


def test_openai_embeddings_without_completion_tokens_are_still_priced(
        harness: Harness, fake_provider: FakeProviderServer) -> None:
    _openai(fake_provider).embeddings.create(model="text-embedding-3-small", input="hello")
    assert _status(harness) == "priced"


@pytest.mark.parametrize("usage", [
    "lots", [1, 2],
    {"input_tokens": 10, "output_tokens": None},
    {"input_tokens": None, "output_tokens": 10},
    {"output_tokens": 10},
])
def test_anthropic_usage_that_is_not_one_is_no_usage(harness: Harness, fake_provider: FakeProviderServer,
                                                     usage: Any) -> None:
    _message(fake_provider, {"x-fake-usage-json": json.dumps(usage)}, model="reliability-not-a-usage")
    assert _status(harness) == "no_usage"


def test_anthropic_plain_usage_is_priced(harness: Harness, fake_provider: FakeProviderServer) -> None:
    _message(fake_provider, {"x-fake-usage-json": json.dumps({"input_tokens": 10, "output_tokens": 3})})
    assert _status(harness) == "priced"


def test_exported_integer_sums_saturate_at_int64() -> None:
    meter = MeterProvider().get_meter("reliability-test")
    sums = ExactSums(meter, "test.sum", "{token}", "", lambda: None)
    for _ in range(3):
        sums.add(("k",), 2**62, lambda: {"k": "v"})
    (observation,) = list(sums._observe(CallbackOptions()))
    assert observation.value == INT64_MAX
