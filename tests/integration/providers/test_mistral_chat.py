"""mistralai chat ``complete``/``stream`` (sync and async) against the fake provider."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from mistralai.client import Mistral, httpclient
from mistralai.client.errors import SDKError
from mistralai.client.utils.eventstreaming import EventStream, EventStreamAsync

import llmledger
from harness import Harness, instrumented

HTTP = vars(httpclient)["httpx"]  # the SDK's HTTP library: httpx2 (mistralai 3) or httpx (mistralai 2)
MODEL = "mistral-large-2512"
MESSAGES = [{"role": "user", "content": "hi"}]
CACHED_CALL = {"x-fake-input-tokens": "10000", "x-fake-cached-tokens": "4000", "x-fake-output-tokens": "1000"}
# mistral-large-2512 ($0.5 in, $1.5 out, $0.05 cache read per MTok):
# (10000-4000)*0.5 = 0.003 + 4000*0.05 = 0.0002 + 1000*1.5 = 0.0015 -> 0.0047
CACHED_CALL_COST = Decimal("0.0047")


def comparable(events: list[Any]) -> list[dict[str, Any]]:
    """Stream events without the fields that differ per call (id, timestamps)."""
    return [event.data.model_dump(exclude={"id", "created"}) for event in events]


def test_complete_tokens_cost_customer(mistral: Callable[[], Mistral], harness: Harness) -> None:
    with llmledger.customer("c1", plan="pro", feature="chat"):
        response = mistral().chat.complete(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL)
    assert response.usage.prompt_tokens == 10000
    attrs = harness.span().attributes
    assert attrs["gen_ai.provider.name"] == "mistral_ai"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.response.model"] == MODEL
    assert attrs["gen_ai.response.id"] == response.id
    assert attrs["gen_ai.usage.input_tokens"] == 10000
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4000
    assert attrs["gen_ai.usage.output_tokens"] == 1000
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["customer.id"] == "c1" and attrs["app.feature"] == "chat"
    assert harness.records[0].cost.total == CACHED_CALL_COST
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(0.0047)


def test_stream_same_events_usage_on_last(mistral: Callable[[], Mistral]) -> None:
    plain = list(mistral().chat.stream(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL))
    with instrumented() as harness:
        stream = mistral().chat.stream(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL)
        assert isinstance(stream, EventStream)
        events = list(stream)
    assert comparable(events) == comparable(plain)
    record = harness.records[0]
    assert record.stream and record.first_chunk_time_ns is not None
    assert record.response_id == events[0].data.id
    assert record.cost.total == CACHED_CALL_COST


def test_stream_as_context_manager(mistral: Callable[[], Mistral], harness: Harness) -> None:
    with mistral().chat.stream(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL) as stream:
        texts = [event.data.choices[0].delta.content for event in stream]
    assert "".join(t for t in texts if isinstance(t, str)) == "Hello from the"
    assert harness.records[0].cost.total == CACHED_CALL_COST


def test_stream_break_early_then_close(mistral: Callable[[], Mistral], harness: Harness) -> None:
    stream = mistral().chat.stream(model=MODEL, messages=MESSAGES)
    for _ in stream:
        break
    assert harness.records == []
    stream.close()
    record = harness.records[0]
    assert record.error_type is None and record.cost.status == "no_usage"


def test_client_created_before_instrumentation(mistral: Callable[[], Mistral]) -> None:
    client = mistral()
    client.chat.complete(model=MODEL, messages=MESSAGES)  # sub-SDKs are created lazily: create it now
    with instrumented() as harness:
        client.chat.complete(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL)
        list(client.chat.stream(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL))
    assert [r.cost.total for r in harness.records] == [CACHED_CALL_COST, CACHED_CALL_COST]


async def test_async_complete_and_stream(mistral: Callable[[], Mistral], harness: Harness) -> None:
    client = mistral()
    with llmledger.customer("c-async"):
        await client.chat.complete_async(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL)
        stream = await client.chat.stream_async(model=MODEL, messages=MESSAGES, http_headers=CACHED_CALL)
        assert isinstance(stream, EventStreamAsync)
        events = [event async for event in stream]
        async with await client.chat.stream_async(model=MODEL, messages=MESSAGES) as managed:
            async for _ in managed:
                break
    assert events[-1].data.usage is not None
    assert [r.stream for r in harness.records] == [False, True, True]
    assert [r.cost.total for r in harness.records[:2]] == [CACHED_CALL_COST, CACHED_CALL_COST]
    assert harness.records[2].cost.status == "no_usage"  # left before its last chunk
    assert {s.attributes["customer.id"] for s in harness.spans()} == {"c-async"}


def test_error_passes_unchanged(mistral: Callable[[], Mistral], harness: Harness) -> None:
    with pytest.raises(SDKError) as raised:
        mistral().chat.complete(model=MODEL, messages=MESSAGES, http_headers={"x-fake-status": "429"})
    assert raised.value.status_code == 429
    assert harness.records[0].error_type == "SDKError"
    assert harness.span().status.status_code.name == "ERROR"


def test_stream_cut_midway(mistral: Callable[[], Mistral], harness: Harness) -> None:
    stream = mistral().chat.stream(model=MODEL, messages=MESSAGES, http_headers={"x-fake-fail-after": "2"})
    received = []
    with pytest.raises(HTTP.RemoteProtocolError):
        for event in stream:
            received.append(event)
    assert len(received) == 2
    assert harness.records[0].error_type == "RemoteProtocolError"


@pytest.mark.parametrize("mode", ["omit", "malformed"])
def test_usage_missing_or_malformed(mistral: Callable[[], Mistral], harness: Harness, mode: str) -> None:
    client = mistral()
    response = client.chat.complete(model=MODEL, messages=MESSAGES, http_headers={"x-fake-usage": mode})
    list(client.chat.stream(model=MODEL, messages=MESSAGES, http_headers={"x-fake-usage": mode}))
    assert response.choices[0].message.content
    # "omit": UsageInfo defaults to zeros; recorded as no usage, not as a $0 call.
    assert [r.cost.status for r in harness.records] == ["no_usage", "no_usage"]


def test_service_tier_from_usage(mistral: Callable[[], Mistral], harness: Harness) -> None:
    mistral().chat.complete(model=MODEL, messages=MESSAGES, service_tier="auto",
                            http_headers={"x-fake-service-tier": "priority"})
    assert harness.records[0].modifiers.service_tier == "priority"


def test_parse_is_counted_once(mistral: Callable[[], Mistral], harness: Harness) -> None:
    from pydantic import BaseModel

    class Answer(BaseModel):
        text: str

    parsed = mistral().chat.parse(response_format=Answer, model=MODEL, messages=MESSAGES,
                                  http_headers=CACHED_CALL)
    assert parsed.choices[0].message.parsed == Answer(text="Hello from the fake provider.")
    assert len(harness.records) == 1 and harness.records[0].cost.total == CACHED_CALL_COST
