"""Google GenAI through the real SDK against the fake provider: generate_content, embed_content and
chats, sync and async, on the Gemini API and Vertex AI."""

from __future__ import annotations

import logging

import pytest
from google.genai import errors, types

import llmledger

# In OTel meaning: 1000 input (300 of them cached, 20 of them tool-use prompt), 200 output (50 of them
# thoughts). The fake reports Gemini's accounting: prompt 980 (cache included), tool use 20,
# candidates 150, thoughts 50.
USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300",
         "x-fake-reasoning-tokens": "50", "x-fake-tool-use-tokens": "20"}
# gemini-2.5-flash ($0.30 in, $0.03 cache read, $2.50 out per MTok; thoughts bill as output):
# 700*0.30 + 300*0.03 + 200*2.50 = 210 + 9 + 500 = $719/M = 0.000719
COST = 0.000719
MODEL = "gemini-2.5-flash"


def config(headers: dict[str, str] | None = None, **fields) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(headers=headers or USAGE), **fields)


def _assert_priced(harness, provider: str, response, port: int, operation: str = "generate_content"):
    span = harness.span()
    attrs = dict(span.attributes)
    assert span.name == f"{operation} {MODEL}"
    assert span.status.status_code.name == "UNSET"
    assert attrs["gen_ai.operation.name"] == operation
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == MODEL
    assert attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.response.id"] == response.response_id
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attrs["server.address"], attrs["server.port"]) == ("127.0.0.1", port)
    assert attrs["gen_ai.usage.input_tokens"] == 1000  # prompt 980 (cache inside) + tool use 20
    assert attrs["gen_ai.usage.output_tokens"] == 200  # candidates 150 + thoughts 50
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 50
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "pro"
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1",
                          gen_ai__provider__name=provider) == pytest.approx(COST)
    assert harness.sum_of("llmledger.customer.tokens", customer__id="c1", gen_ai__token__type="reasoning") == 50


@pytest.mark.parametrize(("platform", "provider", "model"), [
    ("gemini", "gcp.gemini", MODEL), ("gemini", "gcp.gemini", f"models/{MODEL}"),
    ("genai_vertex", "gcp.vertex_ai", MODEL), ("genai_vertex", "gcp.vertex_ai", f"publishers/google/models/{MODEL}")])
def test_generate_content(request, harness, fake_provider, platform, provider, model):
    client = request.getfixturevalue(platform)
    with llmledger.customer("c1", plan="pro"):
        response = client.models.generate_content(model=model, contents="Plan my trip.", config=config())
    assert response.text == "Hello from the fake provider."
    assert response.usage_metadata.prompt_token_count == 980  # the SDK's own object is untouched
    _assert_priced(harness, provider, response, fake_provider.port)


@pytest.mark.parametrize(("platform", "provider"), [("gemini", "gcp.gemini"), ("genai_vertex", "gcp.vertex_ai")])
async def test_async_generate_content(request, harness, fake_provider, platform, provider):
    client = request.getfixturevalue(platform)
    with llmledger.customer("c1", plan="pro"):
        response = await client.aio.models.generate_content(model=MODEL, contents="Plan my trip.", config=config())
    _assert_priced(harness, provider, response, fake_provider.port)


def test_chat_send_message_is_one_span_per_turn(harness, gemini, fake_provider):
    chat = gemini.chats.create(model=MODEL, config=config())
    with llmledger.customer("c1", plan="pro"):
        response = chat.send_message("hi")
    _assert_priced(harness, "gcp.gemini", response, fake_provider.port)
    harness.clear()
    with llmledger.customer("c1", plan="pro"):
        chat.send_message("and again")
    assert len(harness.spans()) == 1
    assert len(chat.get_history()) == 4


async def test_async_chat(harness, gemini, fake_provider):
    chat = gemini.aio.chats.create(model=MODEL, config=config())
    with llmledger.customer("c1", plan="pro"):
        response = await chat.send_message("hi")
    _assert_priced(harness, "gcp.gemini", response, fake_provider.port)


def test_embed_content_on_the_gemini_api(harness, gemini):
    with llmledger.customer("c1", plan="pro"):
        result = gemini.models.embed_content(
            model="gemini-embedding-001", contents=["first", "second"],
            config=types.EmbedContentConfig(http_options=types.HttpOptions(headers={"x-fake-input-tokens": "4000"})))
    assert len(result.embeddings) == 2
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.request.model"] == "gemini-embedding-001"
    if "usage_metadata" not in types.EmbedContentResponse.model_fields:
        # google-genai 2's response model drops the body's usageMetadata: no usage, never a fake $0
        assert attrs["llmledger.cost.status"] == "no_usage" and "gen_ai.usage.cost" not in attrs
        return
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (4000, 0)
    # gemini-embedding-001: 4000 * $0.15/M = 0.0006
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0006)
    assert attrs["customer.id"] == "c1"


async def test_async_embed_content_on_vertex(harness, genai_vertex):
    await genai_vertex.aio.models.embed_content(
        model="gemini-embedding-001", contents=["only one"],
        config=types.EmbedContentConfig(http_options=types.HttpOptions(headers={"x-fake-input-tokens": "4000"})))
    attrs = harness.span().attributes
    assert attrs["gen_ai.provider.name"] == "gcp.vertex_ai"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0006)  # 4000 * $0.15/M


def test_vertex_predict_embeddings_count_the_statistics(harness, genai_vertex, fake_provider):
    result = genai_vertex.models.embed_content(
        model="text-embedding-005", contents=["a", "b", "c"],
        config=types.EmbedContentConfig(http_options=types.HttpOptions(headers={"x-fake-input-tokens": "31"})))
    assert fake_provider.requests[-1].path.endswith("text-embedding-005:predict")
    assert getattr(result, "usage_metadata", None) is None  # google-genai 2 has no such field
    assert sum(e.statistics.token_count for e in result.embeddings) == 31
    attrs = harness.span().attributes
    assert attrs["gen_ai.usage.input_tokens"] == 31
    assert attrs["llmledger.cost.status"] == "unpriced"  # no list price for it: never a fake $0
    assert "gen_ai.usage.cost" not in attrs


@pytest.mark.parametrize(("status", "error"), [(429, errors.ClientError), (503, errors.ServerError)])
def test_sdk_errors_pass_unchanged_and_mark_the_span(harness, gemini, status, error):
    with pytest.raises(error) as raised, llmledger.customer("c-err"):
        gemini.models.generate_content(model=MODEL, contents="hi", config=config({"x-fake-status": str(status)}))
    assert type(raised.value) is error and raised.value.code == status
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == error.__name__
    assert harness.sum_of("llmledger.customer.calls", customer__id="c-err", error__type=error.__name__) == 1


async def test_async_error_passes_unchanged(harness, genai_vertex):
    with pytest.raises(errors.ClientError):
        await genai_vertex.aio.models.embed_content(
            model="gemini-embedding-001", contents=["x"],
            config=types.EmbedContentConfig(http_options=types.HttpOptions(headers={"x-fake-status": "400"})))
    assert harness.span().attributes["error.type"] == "ClientError"


def test_usage_omitted_is_no_usage(harness, gemini):
    gemini.models.generate_content(model=MODEL, contents="hi", config=config({"x-fake-usage": "omit"}))
    attrs = harness.span().attributes
    assert attrs["llmledger.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost" not in attrs


def test_malformed_usage_is_no_usage_and_warned(harness, gemini, caplog):
    with caplog.at_level(logging.WARNING, logger="llmledger"):
        response = gemini.models.generate_content(model="gemini-2.5-pro", contents="hi",
                                                   config=config({"x-fake-usage": "malformed"}))
    assert response.usage_metadata.prompt_token_count == -5
    assert harness.span().attributes["llmledger.cost.status"] == "no_usage"
    assert "usage it cannot read" in caplog.text


def test_traffic_type_and_requested_tier_are_price_modifiers(harness, genai_vertex, gemini):
    genai_vertex.models.generate_content(model=MODEL, contents="hi",
                                         config=config({**USAGE, "x-fake-service-tier": "ON_DEMAND_PRIORITY"}))
    gemini.models.generate_content(model=MODEL, contents="hi", config=config(service_tier="flex"))
    reported, requested = harness.records
    assert reported.modifiers.service_tier == "ON_DEMAND_PRIORITY"
    assert requested.modifiers.service_tier == "flex"
    for record in (reported, requested):  # never silently billed at the standard rate
        assert record.cost.status != "priced" or float(record.cost.total) != pytest.approx(COST)
