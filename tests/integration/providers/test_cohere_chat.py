"""cohere v2 ``chat``, ``chat_stream`` and ``embed`` (sync and async) against the fake provider."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import cohere
import httpx
import pytest

import llmledger
from harness import Harness, instrumented
from llmledger.fake_provider import FakeProviderServer

MESSAGES = [{"role": "user", "content": "hi"}]
TOKENS = {"x-fake-input-tokens": "10000", "x-fake-output-tokens": "1000"}
# command-a ($2.5 in, $10 out per MTok): 10000*2.5 = 0.025 + 1000*10 = 0.01 -> 0.035
COMMAND_A_COST = Decimal("0.035")


def options(headers: dict[str, str]) -> Any:
    return {"additional_headers": headers}


def client_v2(fake: FakeProviderServer) -> cohere.ClientV2:
    return cohere.ClientV2(api_key="x", base_url=fake.url, max_retries=0)


def test_chat_billed_tokens_cost_customer(fake_provider: FakeProviderServer, harness: Harness) -> None:
    with llmledger.customer("c1", plan="team"):
        response = client_v2(fake_provider).chat(model="command-a", messages=MESSAGES,
                                                  request_options=options(TOKENS))
    assert response.usage is not None and response.usage.tokens is not None
    assert response.usage.tokens.input_tokens == 10007.0  # the raw count includes the chat template
    attrs = harness.span().attributes
    assert attrs["gen_ai.provider.name"] == "cohere"
    assert attrs["gen_ai.request.model"] == "command-a"
    assert "gen_ai.response.model" not in attrs  # V2ChatResponse has no model
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["gen_ai.response.finish_reasons"] == ("COMPLETE",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (10000, 1000)
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "team"
    assert harness.records[0].cost.total == COMMAND_A_COST
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(0.035)


def test_cached_tokens(fake_provider: FakeProviderServer, harness: Harness) -> None:
    headers = {**TOKENS, "x-fake-cached-tokens": "3000"}
    client_v2(fake_provider).chat(model="command-r", messages=MESSAGES, request_options=options(headers))
    assert harness.span().attributes["gen_ai.usage.cache_read.input_tokens"] == 3000
    # command-r ($0.15 in, $0.6 out; no cache rate: cached tokens bill as input):
    # 10000*0.15 = 0.0015 + 1000*0.6 = 0.0006 -> 0.0021
    assert harness.records[0].cost.total == Decimal("0.0021")


def test_chat_stream_same_events(fake_provider: FakeProviderServer) -> None:
    plain = list(client_v2(fake_provider).chat_stream(model="command-a", messages=MESSAGES,
                                                      request_options=options(TOKENS)))
    with instrumented() as harness:
        events = list(client_v2(fake_provider).chat_stream(model="command-a", messages=MESSAGES,
                                                           request_options=options(TOKENS)))
    assert [e.model_dump(exclude={"id"}) for e in events] == [e.model_dump(exclude={"id"}) for e in plain]
    record = harness.records[0]
    assert record.stream and record.response_id == events[0].id
    assert record.finish_reasons == ("COMPLETE",)
    assert record.cost.total == COMMAND_A_COST


def test_clients_created_before_instrumentation_counted_once(fake_provider: FakeProviderServer) -> None:
    v2 = client_v2(fake_provider)  # binds chat/chat_stream on the instance in __init__
    v1_v2 = cohere.Client(api_key="x", base_url=fake_provider.url).v2
    with instrumented() as harness:
        v2.chat(model="command-a", messages=MESSAGES, request_options=options(TOKENS))
        list(v2.chat_stream(model="command-a", messages=MESSAGES, request_options=options(TOKENS)))
        v1_v2.chat(model="command-a", messages=MESSAGES, request_options=options(TOKENS))
        raw = v2.with_raw_response.chat(model="command-a", messages=MESSAGES, request_options=options(TOKENS))
        assert raw.data.usage is not None
    assert [r.stream for r in harness.records] == [False, True, False, False]
    assert [r.cost.total for r in harness.records] == [COMMAND_A_COST] * 4


def test_raw_chat_stream_context_manager(fake_provider: FakeProviderServer, harness: Harness) -> None:
    raw = client_v2(fake_provider).with_raw_response
    with raw.chat_stream(model="command-a", messages=MESSAGES, request_options=options(TOKENS)) as response:
        assert response.status_code == 200
        types = [event.type for event in response.data]
    assert types[0] == "message-start" and types[-1] == "message-end"
    assert harness.records[0].cost.total == COMMAND_A_COST


def test_stream_not_iterated_makes_no_call(fake_provider: FakeProviderServer, harness: Harness) -> None:
    before = len(fake_provider.requests)
    client_v2(fake_provider).chat_stream(model="command-a", messages=MESSAGES)
    assert len(fake_provider.requests) == before and harness.records == []


def test_stream_break_early(fake_provider: FakeProviderServer, harness: Harness) -> None:
    stream = client_v2(fake_provider).chat_stream(model="command-a", messages=MESSAGES)
    for _ in stream:
        break
    stream.close()
    record = harness.records[0]
    assert record.error_type is None and record.cost.status == "no_usage"


def test_stream_cut_midway(fake_provider: FakeProviderServer, harness: Harness) -> None:
    received = []
    with pytest.raises(httpx.RemoteProtocolError):
        for event in client_v2(fake_provider).chat_stream(
                model="command-a", messages=MESSAGES, request_options=options({"x-fake-fail-after": "2"})):
            received.append(event)
    assert len(received) == 2
    assert harness.records[0].error_type == "RemoteProtocolError"
    assert harness.span().status.status_code.name == "ERROR"


def test_error_passes_unchanged(fake_provider: FakeProviderServer, harness: Harness) -> None:
    with pytest.raises(cohere.TooManyRequestsError):
        client_v2(fake_provider).chat(model="command-a", messages=MESSAGES,
                                      request_options=options({"x-fake-status": "429"}))
    with pytest.raises(cohere.TooManyRequestsError):
        list(client_v2(fake_provider).chat_stream(model="command-a", messages=MESSAGES,
                                                  request_options=options({"x-fake-status": "429"})))
    assert [r.error_type for r in harness.records] == ["TooManyRequestsError"] * 2


@pytest.mark.parametrize("mode", ["omit", "malformed"])
def test_usage_missing_or_malformed(fake_provider: FakeProviderServer, harness: Harness, mode: str) -> None:
    client = client_v2(fake_provider)
    client.chat(model="command-a", messages=MESSAGES, request_options=options({"x-fake-usage": mode}))
    list(client.chat_stream(model="command-a", messages=MESSAGES, request_options=options({"x-fake-usage": mode})))
    client.embed(model="embed-v4.0", texts=["a"], input_type="search_document", embedding_types=["float"],
                 request_options=options({"x-fake-usage": mode}))
    assert [r.cost.status for r in harness.records] == ["no_usage"] * 3


def test_embed(fake_provider: FakeProviderServer, harness: Harness) -> None:
    response = client_v2(fake_provider).embed(model="embed-v4.0", texts=["a", "b"], input_type="search_document",
                                              embedding_types=["float"], request_options=options(TOKENS))
    assert response.embeddings.float_ is not None and len(response.embeddings.float_) == 2
    attrs = harness.span().attributes
    assert attrs["gen_ai.operation.name"] == "embeddings" and attrs["gen_ai.usage.input_tokens"] == 10000
    # embed-v4.0 ($0.12 in per MTok): 10000*0.12 -> 0.0012
    assert harness.records[0].cost.total == Decimal("0.0012")


def test_unknown_model_is_unpriced(fake_provider: FakeProviderServer, harness: Harness) -> None:
    client_v2(fake_provider).chat(model="command-z-unreleased", messages=MESSAGES, request_options=options(TOKENS))
    assert harness.records[0].cost.status == "unpriced"
    assert harness.sum_of("llmledger.unpriced.calls", gen_ai__provider__name="cohere") == 1


async def test_async_client_before_instrumentation(fake_provider: FakeProviderServer) -> None:
    client = cohere.AsyncClientV2(api_key="x", base_url=fake_provider.url, max_retries=0)
    with instrumented() as harness, llmledger.customer("c-async"):
        await client.chat(model="command-a", messages=MESSAGES, request_options=options(TOKENS))
        events = [e async for e in client.chat_stream(model="command-a", messages=MESSAGES,
                                                      request_options=options(TOKENS))]
        await client.embed(model="embed-v4.0", texts=["a"], input_type="search_document",
                           embedding_types=["float"], request_options=options(TOKENS))
        spans = harness.spans()
    assert events[-1].type == "message-end"
    assert [r.stream for r in harness.records] == [False, True, False]
    assert [r.cost.total for r in harness.records] == [COMMAND_A_COST, COMMAND_A_COST, Decimal("0.0012")]
    assert {s.attributes["customer.id"] for s in spans} == {"c-async"}


async def test_async_stream_break_and_cut(fake_provider: FakeProviderServer, harness: Harness) -> None:
    client = cohere.AsyncClientV2(api_key="x", base_url=fake_provider.url, max_retries=0)
    stream = client.chat_stream(model="command-a", messages=MESSAGES)
    async for _ in stream:
        break
    await stream.aclose()
    with pytest.raises(httpx.RemoteProtocolError):
        async for _ in client.chat_stream(model="command-a", messages=MESSAGES,
                                          request_options=options({"x-fake-fail-after": "2"})):
            pass
    assert [r.error_type for r in harness.records] == [None, "RemoteProtocolError"]
