"""groq chat completions and embeddings (sync and async) against the fake provider."""

from __future__ import annotations

import gc
import json
import warnings
from decimal import Decimal
from typing import Any

import groq
import httpx
import pytest

import llmledger
from harness import Harness, instrumented
from llmledger.fake_provider import FakeProviderServer

LLAMA = "llama-3.3-70b-versatile"
GPT_OSS = "openai/gpt-oss-120b"
MESSAGES: Any = [{"role": "user", "content": "hi"}]
TOKENS = {"x-fake-input-tokens": "10000", "x-fake-output-tokens": "1000"}
# llama-3.3-70b-versatile ($0.59 in, $0.79 out per MTok): 10000*0.59 = 0.0059 + 1000*0.79 = 0.00079 -> 0.00669
LLAMA_COST = Decimal("0.00669")
CACHED = {**TOKENS, "x-fake-cached-tokens": "4000", "x-fake-reasoning-tokens": "300"}
# openai/gpt-oss-120b ($0.15 in, $0.6 out, $0.075 cache read per MTok; reasoning is inside output):
# 6000*0.15 = 0.0009 + 4000*0.075 = 0.0003 + 1000*0.6 = 0.0006 -> 0.0018
GPT_OSS_COST = Decimal("0.0018")


def client(fake: FakeProviderServer) -> groq.Groq:
    return groq.Groq(api_key="x", base_url=fake.url, max_retries=0)


def comparable(chunks: list[Any]) -> list[dict[str, Any]]:
    return [chunk.model_dump(exclude={"id", "created", "x_groq"}) for chunk in chunks]


def test_chat_tokens_cost_customer(fake_provider: FakeProviderServer, harness: Harness) -> None:
    with llmledger.customer("c1", plan="pro"):
        response = client(fake_provider).chat.completions.create(model=GPT_OSS, messages=MESSAGES,
                                                                 extra_headers=CACHED)
    attrs = harness.span().attributes
    assert attrs["gen_ai.provider.name"] == "groq"
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["gen_ai.usage.input_tokens"] == 10000
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4000
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 300
    assert attrs["customer.id"] == "c1"
    record = harness.records[0]
    assert record.modifiers.service_tier == "on_demand"
    assert record.cost.total == GPT_OSS_COST
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(0.0018)


def test_stream_usage_from_x_groq_without_opt_in(fake_provider: FakeProviderServer) -> None:
    plain = list(client(fake_provider).chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                                               extra_headers=TOKENS))
    with instrumented() as harness:
        stream = client(fake_provider).chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                                               extra_headers=TOKENS)
        assert isinstance(stream, groq.Stream)
        chunks = list(stream)
    assert comparable(chunks) == comparable(plain)
    sent = json.loads(fake_provider.requests[-1].body)
    assert "stream_options" not in sent  # nothing asked for on the user's behalf
    record = harness.records[0]
    assert record.stream and record.finish_reasons == ("stop",)
    assert record.cost.total == LLAMA_COST


def test_stream_with_include_usage(fake_provider: FakeProviderServer, harness: Harness) -> None:
    chunks = list(client(fake_provider).chat.completions.create(
        model=LLAMA, messages=MESSAGES, stream=True, extra_headers=TOKENS,
        extra_body={"stream_options": {"include_usage": True}}))
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # the user's own opt-in chunk stays
    assert harness.records[0].cost.total == LLAMA_COST


def test_stream_context_manager_and_break(fake_provider: FakeProviderServer, harness: Harness) -> None:
    with client(fake_provider).chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True) as stream:
        for _ in stream:
            break
    assert harness.records[0].error_type is None and harness.records[0].cost.status == "no_usage"


def test_client_created_before_instrumentation(fake_provider: FakeProviderServer) -> None:
    early = client(fake_provider)
    early.chat.completions.create(model=LLAMA, messages=MESSAGES)
    with instrumented() as harness:
        early.chat.completions.create(model=LLAMA, messages=MESSAGES, extra_headers=TOKENS)
        list(early.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True, extra_headers=TOKENS))
        # (``with_raw_response`` binds ``create`` when first accessed: first accessed here, it is covered)
        raw = early.chat.completions.with_raw_response.create(model=LLAMA, messages=MESSAGES, extra_headers=TOKENS)
        assert raw.parse().usage is not None
    assert [r.stream for r in harness.records] == [False, True, False]
    assert [r.cost.total for r in harness.records] == [LLAMA_COST] * 3


def test_streaming_response_priced_when_the_user_reads_it(fake_provider: FakeProviderServer,
                                                          harness: Harness) -> None:
    with client(fake_provider).chat.completions.with_streaming_response.create(
            model=LLAMA, messages=MESSAGES, extra_headers=TOKENS) as response:
        assert response.parse().usage is not None
    assert len(harness.records) == 1 and harness.records[0].cost.total == LLAMA_COST


async def test_async_raw_response_priced_when_the_user_parses_it(fake_provider: FakeProviderServer,
                                                                 harness: Harness) -> None:
    async_client = groq.AsyncGroq(api_key="x", base_url=fake_provider.url, max_retries=0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw = await async_client.chat.completions.with_raw_response.create(model=LLAMA, messages=MESSAGES,
                                                                           extra_headers=TOKENS)
        gc.collect()
    assert (await raw.parse()).usage.prompt_tokens == 10000
    # Its ``parse()`` is a coroutine the user awaits: llmledger neither calls it nor leaves one un-awaited,
    # and reads what the user's parse() returned.
    assert len(harness.records) == 1 and harness.records[0].cost.total == LLAMA_COST
    assert [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)] == []


def test_error_passes_unchanged(fake_provider: FakeProviderServer, harness: Harness) -> None:
    with pytest.raises(groq.RateLimitError):
        client(fake_provider).chat.completions.create(model=LLAMA, messages=MESSAGES,
                                                      extra_headers={"x-fake-status": "429"})
    assert harness.records[0].error_type == "RateLimitError"
    assert harness.span().status.status_code.name == "ERROR"


def test_stream_cut_midway(fake_provider: FakeProviderServer, harness: Harness) -> None:
    stream = client(fake_provider).chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                                           extra_headers={"x-fake-fail-after": "2"})
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 2 and harness.records[0].error_type == "RemoteProtocolError"


@pytest.mark.parametrize("mode", ["omit", "malformed"])
def test_usage_missing_or_malformed(fake_provider: FakeProviderServer, harness: Harness, mode: str) -> None:
    groq_client = client(fake_provider)
    groq_client.chat.completions.create(model=LLAMA, messages=MESSAGES, extra_headers={"x-fake-usage": mode})
    list(groq_client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                             extra_headers={"x-fake-usage": mode}))
    assert [r.cost.status for r in harness.records] == ["no_usage", "no_usage"]


def test_embeddings(fake_provider: FakeProviderServer, harness: Harness) -> None:
    response = client(fake_provider).embeddings.create(model="nomic-embed-text-v1_5", input=["a", "b"],
                                                       extra_headers=TOKENS)
    assert len(response.data) == 2
    record = harness.records[0]
    assert record.operation == "embeddings" and record.usage is not None and record.usage.input_tokens == 10000
    assert record.cost.status == "unpriced"  # genai-prices has no Groq embedding model


async def test_async_chat_stream_and_embeddings(fake_provider: FakeProviderServer, harness: Harness) -> None:
    async_client = groq.AsyncGroq(api_key="x", base_url=fake_provider.url, max_retries=0)
    with llmledger.customer("c-async"):
        await async_client.chat.completions.create(model=LLAMA, messages=MESSAGES, extra_headers=TOKENS)
        stream = await async_client.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True,
                                                            extra_headers=TOKENS)
        assert isinstance(stream, groq.AsyncStream)
        async with stream:
            chunks = [chunk async for chunk in stream]
        await async_client.embeddings.create(model="nomic-embed-text-v1_5", input="a")
    assert chunks[-1].x_groq is not None and chunks[-1].x_groq.usage is not None
    assert [r.cost.total for r in harness.records[:2]] == [LLAMA_COST, LLAMA_COST]
    assert [r.operation for r in harness.records] == ["chat", "chat", "embeddings"]
    assert {s.attributes["customer.id"] for s in harness.spans()} == {"c-async"}
