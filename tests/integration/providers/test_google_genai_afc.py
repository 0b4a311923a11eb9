"""Automatic function calling: one ``generate_content`` with a Python callable as a tool makes two
HTTP requests (the model asks for the function, then answers with its result) while the SDK returns
only the last request's usage. The cost must be the sum of both, in exactly one span."""

from __future__ import annotations

import pytest
from google.genai import errors, types

import llmledger
from harness import instrumented

MODEL = "gemini-2.5-flash"
# hop 1 (answers with a functionCall): 1000 in / 40 out; hop 2 (the text answer): 1500 in / 200 out
HOPS = {"x-fake-hop-input-tokens": "1000,1500", "x-fake-hop-output-tokens": "40,200"}
# gemini-2.5-flash, $0.30 in / $2.50 out per MTok:
#   hop 1: 1000*0.30 + 40*2.50 = 300 + 100 = $400/M; hop 2: 1500*0.30 + 200*2.50 = 450 + 500 = $950/M
#   call: 0.0004 + 0.00095 = 0.00135
COST = 0.00135
HOP_1_COST = 0.0004

calls: list[str] = []


def get_weather(city: str) -> str:
    """Returns the weather of a city."""
    calls.append(city)
    return f"Sunny in {city}"


def config(headers: dict[str, str] | None = None, **fields) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(headers=headers or HOPS),
                                       tools=[get_weather], **fields)


@pytest.fixture()
def client(gemini):
    calls.clear()
    return gemini


def _hops(fake_provider, since: int) -> list[str]:
    return [r.path.rsplit(":", 1)[1] for r in fake_provider.requests[since:]]


def _assert_summed(harness, span=None) -> None:
    span = span or harness.span()
    attrs = dict(span.attributes)
    assert attrs["gen_ai.usage.input_tokens"] == 2500
    assert attrs["gen_ai.usage.output_tokens"] == 240
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "pro"
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(COST)


def test_two_hops_one_span_summed_cost(harness, client, fake_provider):
    before = len(fake_provider.requests)
    with llmledger.customer("c1", plan="pro"):
        response = client.models.generate_content(model=MODEL, contents="Weather in Paris?", config=config())
    assert _hops(fake_provider, before) == ["generateContent", "generateContent"]
    assert calls == ["Paris"]
    assert response.text == "Hello from the fake provider."
    assert response.usage_metadata.prompt_token_count == 1500  # what the SDK returns: the last hop only
    assert len(response.automatic_function_calling_history) == 3
    _assert_summed(harness)


async def test_async_two_hops(harness, client, fake_provider):
    before = len(fake_provider.requests)
    with llmledger.customer("c1", plan="pro"):
        response = await client.aio.models.generate_content(model=MODEL, contents="Weather?", config=config())
    assert len(_hops(fake_provider, before)) == 2
    assert response.usage_metadata.prompt_token_count == 1500
    _assert_summed(harness)


def test_stream_two_hops_transparent_and_summed(client, fake_provider):
    baseline = list(client.models.generate_content_stream(model=MODEL, contents="Weather?", config=config()))
    before = len(fake_provider.requests)
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        chunks = list(client.models.generate_content_stream(model=MODEL, contents="Weather?", config=config()))
        assert _hops(fake_provider, before) == ["streamGenerateContent", "streamGenerateContent"]
        dump = [c.model_dump(exclude={"response_id", "sdk_http_response"}) for c in chunks]
        assert dump == [c.model_dump(exclude={"response_id", "sdk_http_response"}) for c in baseline]
        assert chunks[0].candidates[0].content.parts[0].function_call.name == "get_weather"
        assert chunks[-1].usage_metadata.prompt_token_count == 1500
        _assert_summed(h)


async def test_async_stream_two_hops(harness, client, fake_provider):
    before = len(fake_provider.requests)
    with llmledger.customer("c1", plan="pro"):
        stream = await client.aio.models.generate_content_stream(model=MODEL, contents="Weather?",
                                                                 config=config())
        chunks = [c async for c in stream]
    assert len(_hops(fake_provider, before)) == 2
    assert len(chunks) == 4  # the function call, then three text chunks
    _assert_summed(harness)


def test_chat_with_tools_is_a_span_per_round_and_adds_up(harness, client):
    # Chat.send_message runs the AFC loop itself: each round is a public generate_content call
    # of its own (with AFC off), so each gets a span with its own request's usage.
    chat = client.chats.create(model=MODEL, config=config())
    with llmledger.customer("c1", plan="pro"):
        chat.send_message("Weather in Paris?")
    assert calls == ["Paris"]
    rounds = harness.spans()
    assert [(s.attributes["gen_ai.usage.input_tokens"], s.attributes["gen_ai.usage.output_tokens"])
            for s in rounds] == [(1000, 40), (1500, 200)]
    assert sum(s.attributes["gen_ai.usage.cost"] for s in rounds) == pytest.approx(COST)
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(COST)


async def test_async_chat_stream_with_tools_adds_up(harness, client):
    chat = client.aio.chats.create(model=MODEL, config=config())
    with llmledger.customer("c1", plan="pro"):
        chunks = [c async for c in await chat.send_message_stream("Weather in Paris?")]
    assert calls == ["Paris"] and len(chunks) == 4
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(COST)
    assert harness.sum_of("llmledger.customer.tokens", customer__id="c1", gen_ai__token__type="input") == 2500


def test_afc_disabled_is_one_hop(harness, client, fake_provider):
    before = len(fake_provider.requests)
    response = client.models.generate_content(
        model=MODEL, contents="Weather?",
        config=config(automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True)))
    assert len(_hops(fake_provider, before)) == 1 and calls == []
    assert response.function_calls[0].name == "get_weather"
    attrs = harness.span().attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1000, 40)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(HOP_1_COST)


def test_a_gemini_call_inside_a_tool_is_its_own_span(harness, client):
    inner = {"x-fake-input-tokens": "10", "x-fake-output-tokens": "4"}

    def research(topic: str) -> str:
        """Researches a topic."""
        answer = client.models.generate_content(
            model="gemini-2.5-pro", contents=topic,
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=inner)))
        return answer.text

    with llmledger.customer("c1", plan="pro"):
        client.models.generate_content(
            model=MODEL, contents="Research Paris.",
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=HOPS), tools=[research]))
    inner_span, outer_span = harness.spans()  # the inner one ends first
    assert inner_span.parent.span_id == outer_span.context.span_id
    assert inner_span.attributes["gen_ai.request.model"] == "gemini-2.5-pro"
    assert (inner_span.attributes["gen_ai.usage.input_tokens"],
            inner_span.attributes["gen_ai.usage.output_tokens"]) == (10, 4)
    # the outer call counts its own two requests, not the inner one
    assert outer_span.attributes["gen_ai.usage.input_tokens"] == 2500
    assert outer_span.attributes["gen_ai.usage.output_tokens"] == 240
    assert outer_span.attributes["gen_ai.usage.cost"] == pytest.approx(COST)


def test_a_failed_gemini_call_inside_a_tool_does_not_disturb_the_enclosing_sum(harness, client):
    def flaky(topic: str) -> str:
        """Looks a topic up."""
        try:
            client.models.generate_content(
                model=MODEL, contents=topic,
                config=types.GenerateContentConfig(http_options=types.HttpOptions(headers={"x-fake-status": "429"})))
        except errors.ClientError:
            return "unavailable"
        return "found"

    with llmledger.customer("c1", plan="pro"):
        client.models.generate_content(
            model=MODEL, contents="Look Paris up.",
            config=types.GenerateContentConfig(http_options=types.HttpOptions(headers=HOPS), tools=[flaky]))
    failed, outer = harness.spans()
    assert failed.attributes["error.type"] == "ClientError"
    assert outer.attributes["gen_ai.usage.input_tokens"] == 2500
    assert outer.attributes["gen_ai.usage.cost"] == pytest.approx(COST)


def test_hooks_add_no_span_and_do_nothing_outside_a_call(harness, client):
    from google.genai import models

    client.models.generate_content(model=MODEL, contents="Weather?", config=config())
    assert len(harness.spans()) == 1
    harness.instrumentor.uninstrument()
    # the private per-request methods stay hooked (see the report) but are inert
    response = client.models.generate_content(model=MODEL, contents="Weather?", config=config())
    assert response.usage_metadata.prompt_token_count == 1500
    assert len(harness.spans()) == 1
    assert models.Models.generate_content.__qualname__ == "Models.generate_content"
