"""Anthropic streams through the real SDK: raw ``create(stream=True)`` streams and the
``messages.stream()`` helper (text_stream, get_final_message, until_done), sync and async, on the
first-party API (SSE), Bedrock (AWS event-stream) and Vertex; early exits, abandonment, failures."""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import pytest

import llmledger
from harness import instrumented
from llmledger.fake_provider.transport import http_library

BEDROCK_VALUE_ERROR = anthropic.__version__.startswith("0.")
HTTP = http_library(anthropic)  # the SDK's HTTP library: httpx2, or httpx before anthropic 2

MSG = [{"role": "user", "content": "Tell me a story."}]
USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300",
         "x-fake-cache-write-tokens": "100", "x-fake-cache-write-1h-tokens": "40",
         "x-fake-reasoning-tokens": "50"}
# claude-haiku-4-5: 600*$1 + 300*$0.10 + 60*$1.25 + 40*$2 + 200*$5 per MTok
#   = 600 + 30 + 75 + 80 + 1000 = $1785/M = 0.001785
COST = 0.001785
# Bedrock regional claude-haiku-4-5: 600*1.1 + 300*0.11 + 60*1.375 + 40*2.2 + 200*5.5 = 0.0019635
BEDROCK_COST = 0.0019635
MODEL = "claude-haiku-4-5"
BEDROCK_MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
VERTEX_MODEL = "claude-haiku-4-5@20251001"


@pytest.fixture()
def client(fake_provider):
    return anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0)


@pytest.fixture()
def aclient(fake_provider):
    return anthropic.AsyncAnthropic(api_key="x", base_url=fake_provider.url, max_retries=0)


@pytest.fixture()
def bedrock(fake_provider):
    return anthropic.AnthropicBedrock(aws_access_key="a", aws_secret_key="b", aws_region="us-east-1",
                                      base_url=fake_provider.url, max_retries=0)


@pytest.fixture()
def vertex(fake_provider):
    return anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t",
                                     base_url=fake_provider.url + "/v1", max_retries=0)


def _plain(value: Any) -> Any:
    """An event as data, without the per-request message id."""
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "id"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _events(events: list[Any]) -> list[tuple[str, Any]]:
    return [(type(event).__name__, _plain(event)) for event in events]


def _assert_priced(harness, cost: float = COST, customer: str | None = "c1") -> dict[str, Any]:
    span = harness.span()
    attrs = dict(span.attributes)
    assert span.status.status_code.name == "UNSET"
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.output_tokens"] == 200
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 50
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost)
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    if customer:
        assert attrs["customer.id"] == customer and attrs["customer.plan"] == "pro"
    return attrs


# ---- raw streams -------------------------------------------------------------------------------
@pytest.mark.parametrize(("platform", "model", "cost"), [
    ("client", MODEL, COST), ("bedrock", BEDROCK_MODEL, BEDROCK_COST), ("vertex", VERTEX_MODEL, COST)])
def test_raw_stream_is_transparent_and_priced(request, platform, model, cost):
    sdk = request.getfixturevalue(platform)
    baseline = list(sdk.messages.create(model=model, max_tokens=512, messages=MSG, stream=True,
                                        extra_headers=USAGE))
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        stream = sdk.messages.create(model=model, max_tokens=512, messages=MSG, stream=True,
                                     extra_headers=USAGE)
        assert isinstance(stream, anthropic.Stream)
        events = list(stream)
        assert _events(events) == _events(baseline)
        _assert_priced(h, cost)


async def test_async_raw_stream_is_transparent_and_priced(aclient):
    baseline = [e async for e in await aclient.beta.messages.create(model=MODEL, max_tokens=512, messages=MSG,
                                                                     stream=True, extra_headers=USAGE)]
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        stream = await aclient.beta.messages.create(model=MODEL, max_tokens=512, messages=MSG, stream=True,
                                                    extra_headers=USAGE)
        async with stream as same:
            assert same is stream
            events = [e async for e in same]
        assert _events(events) == _events(baseline)
        _assert_priced(h)


def test_raw_stream_closed_early_ends_the_span_once_with_what_was_seen(harness, client):
    with client.messages.create(model=MODEL, max_tokens=512, messages=MSG, stream=True,
                                extra_headers=USAGE) as stream:
        assert next(stream).type == "message_start"
    attrs = harness.span().attributes
    # message_start carried the input side; output is message_start's placeholder of 1
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1000, 1)
    assert "error.type" not in attrs
    stream.close()
    assert len(harness.spans()) == 1


def test_abandoned_raw_stream_is_finished_by_gc(harness, client):
    stream = client.messages.create(model=MODEL, max_tokens=512, messages=MSG, stream=True,
                                    extra_headers=USAGE)
    for _event in stream:
        break
    del stream, _event
    gc.collect()
    assert len(harness.spans()) == 1


def test_raw_stream_cut_midway_reraises_and_marks_the_span(harness, client):
    with pytest.raises(HTTP.RemoteProtocolError), llmledger.customer("c-cut"):
        for _ in client.messages.create(model=MODEL, max_tokens=512, messages=MSG, stream=True,
                                        extra_headers={**USAGE, "x-fake-fail-after": "3"}):
            pass
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "RemoteProtocolError"
    assert span.attributes["gen_ai.usage.input_tokens"] == 1000  # message_start arrived
    assert harness.sum_of("llmledger.customer.calls", customer__id="c-cut", error__type="RemoteProtocolError") == 1


@pytest.mark.parametrize("platform", ["client", "bedrock"])
def test_in_band_stream_error_reaches_the_caller_unchanged(request, harness, platform):
    sdk = request.getfixturevalue(platform)
    model = BEDROCK_MODEL if platform == "bedrock" else MODEL
    kind = "throttlingException" if platform == "bedrock" else "overloaded_error"
    # anthropic < 1's Bedrock event decoder raises a plain ValueError for an in-band exception event
    errors = (anthropic.APIStatusError, ValueError) if BEDROCK_VALUE_ERROR and platform == "bedrock" \
        else anthropic.APIStatusError
    with pytest.raises(errors) as raised:
        list(sdk.messages.create(model=model, max_tokens=512, messages=MSG, stream=True,
                                 extra_headers={**USAGE, "x-fake-stream-error": kind, "x-fake-fail-after": "4"}))
    assert kind in str(raised.value)
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == type(raised.value).__qualname__


# ---- the messages.stream() helper ----------------------------------------------------------------
def test_helper_text_stream_is_transparent_and_priced(client):
    with client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        baseline_text = list(stream.text_stream)
        baseline = stream.get_final_message()
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        manager = client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE)
        assert isinstance(manager, anthropic.MessageStreamManager)
        with manager as stream:
            assert type(stream) is anthropic.MessageStream  # the SDK's own object
            assert list(stream.text_stream) == baseline_text == ["Hello", " from", " the"]
            final = stream.get_final_message()
        assert _plain(final) == _plain(baseline)
        assert final.usage.input_tokens == 600
        attrs = _assert_priced(h)
        assert attrs["gen_ai.response.id"] == final.id


def test_helper_events_are_the_same(client):
    with client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        baseline = list(stream)
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        with client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
            events = list(stream)
        assert _events(events) == _events(baseline)
        assert "text" in {e.type for e in events}  # the helper's own derived events are there
        _assert_priced(h)


@pytest.mark.parametrize("helper", ["get_final_message", "get_final_text", "until_done"])
def test_helper_consumers_are_priced(harness, client, helper):
    with llmledger.customer("c1", plan="pro"), client.messages.stream(
            model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        result = getattr(stream, helper)()
    if helper == "get_final_text":
        assert result == "Hello from the"
    _assert_priced(harness)


def test_beta_helper_on_bedrock_event_stream(harness, bedrock):
    with llmledger.customer("c1", plan="pro"), bedrock.beta.messages.stream(
            model=BEDROCK_MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        assert "".join(stream.text_stream) == "Hello from the"
    attrs = _assert_priced(harness, BEDROCK_COST)
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert "gen_ai.response.model" not in attrs  # priced by the inference profile called


def test_helper_on_vertex(harness, vertex):
    with llmledger.customer("c1", plan="pro"), vertex.messages.stream(
            model=VERTEX_MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        stream.until_done()
    assert _assert_priced(harness)["gen_ai.provider.name"] == "gcp.vertex_ai"


async def test_async_helper_text_stream_and_final_message(aclient):
    async with aclient.messages.stream(model=MODEL, max_tokens=512, messages=MSG,
                                       extra_headers=USAGE) as stream:
        baseline = [t async for t in stream.text_stream]
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        manager = aclient.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE)
        assert isinstance(manager, anthropic.AsyncMessageStreamManager)
        async with manager as stream:
            assert type(stream) is anthropic.AsyncMessageStream
            assert [t async for t in stream.text_stream] == baseline
            final = await stream.get_final_message()
        assert final.usage.output_tokens == 200
        _assert_priced(h)


@pytest.mark.parametrize("api", ["messages", "beta"])
async def test_async_helper_until_done(harness, aclient, api):
    resource = aclient.beta.messages if api == "beta" else aclient.messages
    with llmledger.customer("c1", plan="pro"):
        async with resource.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
            await stream.until_done()
    _assert_priced(harness)


def test_helper_left_early_ends_the_span_at_exit(harness, client):
    with client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        for _text in stream.text_stream:
            break
        assert harness.spans() == []  # still open while the user holds the stream
    attrs = harness.span().attributes
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert "error.type" not in attrs


def test_abandoned_helper_stream_is_finished_by_gc(harness, client):
    stream = client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE).__enter__()
    assert next(stream.text_stream) == "Hello"
    del stream
    gc.collect()
    assert len(harness.spans()) == 1


def test_helper_cut_midway_reraises_and_marks_the_span(harness, client):
    with pytest.raises(HTTP.RemoteProtocolError), llmledger.customer("c1", plan="pro"), \
            client.messages.stream(model=MODEL, max_tokens=512, messages=MSG,
                                   extra_headers={**USAGE, "x-fake-fail-after": "4"}) as stream:
        stream.get_final_message()
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "RemoteProtocolError"
    assert span.attributes["customer.id"] == "c1"


async def test_async_helper_cut_midway_reraises_and_marks_the_span(harness, aclient):
    with pytest.raises(HTTP.RemoteProtocolError):
        async with aclient.messages.stream(model=MODEL, max_tokens=512, messages=MSG,
                                           extra_headers={**USAGE, "x-fake-fail-after": "4"}) as stream:
            async for _text in stream.text_stream:
                pass
    assert harness.span().attributes["error.type"] == "RemoteProtocolError"


def test_helper_request_failing_at_enter(harness, client):
    manager = client.messages.stream(model=MODEL, max_tokens=512, messages=MSG,
                                     extra_headers={"x-fake-status": "429"})
    with pytest.raises(anthropic.RateLimitError), manager:
        pytest.fail("the block must not run")
    span = harness.span()
    assert span.attributes["error.type"] == "RateLimitError"


def test_an_error_in_the_users_block_is_not_the_calls(harness, client):
    with pytest.raises(KeyError), client.messages.stream(
            model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        stream.until_done()
        raise KeyError("the user's own bug")
    span = harness.span()
    assert span.status.status_code.name == "UNSET"
    assert span.attributes["llmledger.cost.status"] == "priced"


def test_helper_exited_before_any_event_is_no_usage(harness, client):
    with client.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE):
        pass
    attrs = harness.span().attributes
    assert attrs["llmledger.cost.status"] == "no_usage"
    assert "error.type" not in attrs


@pytest.fixture()
def no_raw_stream_hook(monkeypatch):
    """As if a future SDK no longer kept the raw stream where llmledger expects it."""
    from llmledger.instrumentation.adapter import StreamPlace
    from llmledger.instrumentation.providers import anthropic

    monkeypatch.setattr(anthropic, "STREAM_HELPER_PLACE", StreamPlace("manager", "_no_such_stream"))


def test_helper_falls_back_to_the_message_snapshot(harness, client, no_raw_stream_hook):
    with llmledger.customer("c1", plan="pro"), client.messages.stream(
            model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE) as stream:
        assert list(stream.text_stream) == ["Hello", " from", " the"]
        assert harness.spans() == []
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)


async def test_async_helper_fallback_without_any_event(harness, aclient, no_raw_stream_hook):
    # current_message_snapshot asserts when nothing arrived: guarded, the call is simply no_usage
    async with aclient.messages.stream(model=MODEL, max_tokens=512, messages=MSG, extra_headers=USAGE):
        pass
    assert harness.span().attributes["llmledger.cost.status"] == "no_usage"
