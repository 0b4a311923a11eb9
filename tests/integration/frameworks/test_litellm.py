"""LiteLLM through its real SDK against the fake provider: one priced, attributed span per call
for OpenAI, Anthropic and other providers; sync, async and streamed; never counted twice."""

from __future__ import annotations

import asyncio

import litellm
import openai
import pytest
from waiting import async_wait_for_spans, wait_for_spans

import llmledger
from harness import instrumented
from llmledger.config import Config

MSG = [{"role": "user", "content": "Summarise this document."}]
TEXT = "Hello from the fake provider."
OPENAI_USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
OPENAI_COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
# OTel meaning: 1000 input of which 300 cache reads and 100 cache writes (40 of them 1h), 200 output.
ANTHROPIC_USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300",
                   "x-fake-cache-write-tokens": "100", "x-fake-cache-write-1h-tokens": "40"}
# claude-haiku-4-5: 600*$1 + 300*$0.10 + 60*$1.25 + 40*$2 + 200*$5 per MTok = 0.001785 (as the SDK path)
ANTHROPIC_COST = 0.001785


def _openai(url: str) -> dict:
    return {"model": "openai/gpt-4o", "api_base": url + "/v1", "api_key": "sk-x",
            "extra_headers": OPENAI_USAGE, "num_retries": 0}


def _anthropic(url: str) -> dict:
    return {"model": "anthropic/claude-haiku-4-5", "api_base": url, "api_key": "sk-x",
            "extra_headers": ANTHROPIC_USAGE, "num_retries": 0}


MODELS = {"openai": (_openai, "gpt-4o", "openai", OPENAI_COST, 50_000),
          "anthropic": (_anthropic, "claude-haiku-4-5", "anthropic", ANTHROPIC_COST, 1000)}


def _assert_span(span, model: str, provider: str, cost: float, input_tokens: int, customer: str | None,
                 stream: bool = False) -> None:
    attrs = dict(span.attributes)
    assert span.name == f"chat {model}"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == model
    assert attrs["gen_ai.request.stream"] is stream
    assert attrs["gen_ai.usage.input_tokens"] == input_tokens
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, abs=1e-9)
    assert attrs.get("customer.id") == customer
    assert attrs["server.address"] == "127.0.0.1"


@pytest.mark.parametrize("name", MODELS)
def test_sync_completion(harness, fake_provider, spans_of, name):
    kwargs, model, provider, cost, input_tokens = MODELS[name]
    with llmledger.customer("cust-sync", plan="pro"):
        response = litellm.completion(messages=MSG, **kwargs(fake_provider.url))
    assert response.choices[0].message.content == TEXT
    spans = spans_of(1)
    assert len(spans) == 1, [s.name for s in spans]
    _assert_span(spans[0], model, provider, cost, input_tokens, "cust-sync")
    assert dict(spans[0].attributes)["customer.plan"] == "pro"


@pytest.mark.parametrize("name", MODELS)
async def test_async_completion(harness, fake_provider, name):
    kwargs, model, provider, cost, input_tokens = MODELS[name]

    async def one(customer: str) -> str:
        async with llmledger.customer(customer):
            response = await litellm.acompletion(messages=MSG, **kwargs(fake_provider.url))
        return response.choices[0].message.content

    assert await asyncio.gather(one("cust-a"), one("cust-b")) == [TEXT, TEXT]
    spans = await async_wait_for_spans(harness, 2)
    assert len(spans) == 2
    assert sorted(dict(s.attributes)["customer.id"] for s in spans) == ["cust-a", "cust-b"]
    for span in spans:
        _assert_span(span, model, provider, cost, input_tokens, dict(span.attributes)["customer.id"])


def _streamed_text(chunks) -> str:
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@pytest.mark.parametrize("name", MODELS)
def test_stream(fake_provider, name):
    kwargs, model, provider, cost, input_tokens = MODELS[name]
    extra = {"stream_options": {"include_usage": True}} if name == "openai" else {}
    plain = list(litellm.completion(messages=MSG, stream=True, **kwargs(fake_provider.url), **extra))
    with instrumented() as harness:
        with llmledger.customer("cust-stream"):
            chunks = list(litellm.completion(messages=MSG, stream=True, **kwargs(fake_provider.url), **extra))
        spans = _wait(harness, 1)
    assert _streamed_text(chunks) == _streamed_text(plain) != ""
    assert len(chunks) == len(plain)
    assert len(spans) == 1
    _assert_span(spans[0], model, provider, cost, input_tokens, "cust-stream", stream=True)


@pytest.mark.parametrize("name", MODELS)
async def test_async_stream(harness, fake_provider, name):
    kwargs, model, provider, cost, input_tokens = MODELS[name]
    extra = {"stream_options": {"include_usage": True}} if name == "openai" else {}
    async with llmledger.customer("cust-astream"):
        stream = await litellm.acompletion(messages=MSG, stream=True, **kwargs(fake_provider.url), **extra)
        chunks = [chunk async for chunk in stream]
    assert _streamed_text(chunks) != ""
    spans = await async_wait_for_spans(harness, 1)
    assert len(spans) == 1
    _assert_span(spans[0], model, provider, cost, input_tokens, "cust-astream", stream=True)


def _wait(harness, count: int) -> list:
    return wait_for_spans(harness, count)


def test_other_providers_get_their_own_name_and_price(harness, fake_provider, spans_of):
    with llmledger.customer("cust-groq"):
        litellm.completion(model="groq/llama-3.3-70b-versatile", messages=MSG, api_key="x",
                           api_base=fake_provider.url + "/openai/v1", num_retries=0,
                           extra_headers={"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"})
    spans = spans_of(1)
    assert len(spans) == 1
    attrs = dict(spans[0].attributes)
    assert attrs["gen_ai.provider.name"] == "groq"
    # llama-3.3-70b-versatile on Groq: 1000 * $0.59/M + 200 * $0.79/M = 0.000748
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.000748, abs=1e-12)
    assert attrs["customer.id"] == "cust-groq"


def test_embedding(harness, fake_provider, spans_of):
    with llmledger.customer("cust-emb"):
        result = litellm.embedding(model="openai/text-embedding-3-small", input=["a"], api_key="x",
                                   api_base=fake_provider.url + "/v1",
                                   extra_headers={"x-fake-input-tokens": "1000"})
    assert len(result.data) == 1
    spans = spans_of(1)
    assert len(spans) == 1
    attrs = dict(spans[0].attributes)
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(1000 * 0.02 / 1e6, abs=1e-12)  # $0.02/MTok


def test_azure_through_the_instrumented_openai_sdk_is_counted_once(harness, fake_provider, spans_of,
                                                                 openai_client):
    # LiteLLM sends Azure calls through openai's resource methods, which llmledger patches too.
    with llmledger.customer("cust-azure"):
        litellm.completion(model="azure/gpt-4o", messages=MSG, api_key="x", api_base=fake_provider.url,
                           api_version="2024-10-21", extra_headers=OPENAI_USAGE, num_retries=0)
    spans = spans_of(1)
    assert len(spans) == 1, [s.name for s in spans]
    assert dict(spans[0].attributes)["gen_ai.provider.name"] == "azure.ai.openai"
    assert dict(spans[0].attributes)["customer.id"] == "cust-azure"
    harness.clear()
    # Outside LiteLLM the SDK patch records again: the skip lasts only as long as LiteLLM's call.
    with llmledger.customer("cust-direct"):
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=OPENAI_USAGE)
    assert [dict(s.attributes)["customer.id"] for s in harness.spans()] == ["cust-direct"]


def test_failed_call_is_an_error_span_and_the_exception_is_litellms(harness, fake_provider, spans_of):
    with pytest.raises(litellm.exceptions.InternalServerError), llmledger.customer("cust-err"):
        litellm.completion(messages=MSG, **{**_openai(fake_provider.url),
                                            "extra_headers": {"x-fake-status": "500"}})
    spans = spans_of(1)
    assert len(spans) == 1
    attrs = dict(spans[0].attributes)
    assert spans[0].status.status_code.name == "ERROR"
    assert attrs["customer.id"] == "cust-err"
    assert attrs["llmledger.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost" not in attrs


def test_customer_from_litellm_user_only_when_configured(fake_provider):
    for source, expected in (("none", None), ("user", "end-user-9")):
        with instrumented(Config(litellm_customer_from=source)) as harness:
            litellm.completion(messages=MSG, user="end-user-9", **_openai(fake_provider.url))
            spans = _wait(harness, 1)
        assert [dict(s.attributes).get("customer.id") for s in spans] == [expected]


def test_customer_from_litellm_metadata_when_configured(fake_provider):
    with instrumented(Config(litellm_customer_from="metadata")) as harness:
        litellm.completion(messages=MSG, metadata={"customer_id": "cust-meta", "customer_plan": "team"},
                           **_openai(fake_provider.url))
        with llmledger.customer("cust-scope"):  # an explicit scope wins over LiteLLM's field
            litellm.completion(messages=MSG, metadata={"customer_id": "cust-meta"}, **_openai(fake_provider.url))
        spans = _wait(harness, 2)
    assert sorted((dict(s.attributes)["customer.id"], dict(s.attributes).get("customer.plan"))
                  for s in spans) == [("cust-meta", "team"), ("cust-scope", None)]


def test_uninstrument_removes_the_callback_and_the_entry_point_wrappers():
    original = litellm.completion
    with instrumented():
        assert litellm.completion is not original
        assert any(type(cb).__name__ == "LLMLedgerLiteLLMCallback" for cb in litellm.callbacks)
    assert litellm.completion is original
    assert not any(type(cb).__name__ == "LLMLedgerLiteLLMCallback" for cb in litellm.callbacks)
    assert openai.OpenAI  # the SDK import is untouched
