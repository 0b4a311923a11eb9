"""Google GenAI streams (``generate_content_stream``, chat ``send_message_stream``), sync and async:
same chunks as uninstrumented, last running total (never a sum), early exit, abandonment, failures."""

from __future__ import annotations

import gc

import httpx
import httpx2
import pytest
from google.genai import errors, types

import llmledger
from harness import instrumented

USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300",
         "x-fake-reasoning-tokens": "50", "x-fake-tool-use-tokens": "20", "x-fake-chunks": "4"}
# gemini-2.5-flash: 700*$0.30 + 300*$0.03 + 200*$2.50 per MTok = 210 + 9 + 500 = 0.000719
COST = 0.000719
MODEL = "gemini-2.5-flash"
CUT_ERRORS = (httpx2.RemoteProtocolError, httpx.RemoteProtocolError)  # google-genai 3 uses httpx2, 2 httpx


def config(headers: dict[str, str] | None = None) -> types.GenerateContentConfig:
    return types.GenerateContentConfig(http_options=types.HttpOptions(headers=headers or USAGE))


def _dump(chunks) -> list:
    return [chunk.model_dump(exclude={"response_id", "sdk_http_response"}) for chunk in chunks]


def _assert_priced(harness, provider: str = "gcp.gemini") -> dict:
    span = harness.span()
    attrs = dict(span.attributes)
    assert span.status.status_code.name == "UNSET"
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.stream"] is True
    # the last chunk's running total (a sum of the 4 chunks' totals would be far more)
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.output_tokens"] == 200
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.response.time_to_first_chunk"] > 0
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "pro"
    return attrs


@pytest.mark.parametrize(("platform", "provider"), [("gemini", "gcp.gemini"), ("genai_vertex", "gcp.vertex_ai")])
def test_stream_is_transparent_and_priced(request, platform, provider):
    client = request.getfixturevalue(platform)
    baseline = list(client.models.generate_content_stream(model=MODEL, contents="hi", config=config()))
    assert len(baseline) == 4
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        stream = client.models.generate_content_stream(model=MODEL, contents="hi", config=config())
        chunks = list(stream)
        assert _dump(chunks) == _dump(baseline)
        assert [c.usage_metadata.candidates_token_count for c in chunks] == [37, 75, 112, 150]
        attrs = _assert_priced(h, provider)
        assert attrs["gen_ai.response.id"] == chunks[-1].response_id


async def test_async_stream_is_transparent_and_priced(gemini):
    baseline = [c async for c in await gemini.aio.models.generate_content_stream(
        model=MODEL, contents="hi", config=config())]
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        stream = await gemini.aio.models.generate_content_stream(model=MODEL, contents="hi", config=config())
        chunks = [c async for c in stream]
        assert _dump(chunks) == _dump(baseline)
        _assert_priced(h)


def test_chat_stream(gemini):
    plain = gemini.chats.create(model=MODEL, config=config())
    baseline = [chunk.text for chunk in plain.send_message_stream("hi")]
    with instrumented() as h, llmledger.customer("c1", plan="pro"):
        chat = gemini.chats.create(model=MODEL, config=config())
        assert [chunk.text for chunk in chat.send_message_stream("hi")] == baseline
        _assert_priced(h)
    # the chat kept the same history as without llmledger
    assert [c.model_dump() for c in chat.get_history()] == [c.model_dump() for c in plain.get_history()]


async def test_async_chat_stream(harness, genai_vertex):
    chat = genai_vertex.aio.chats.create(model=MODEL, config=config())
    with llmledger.customer("c1", plan="pro"):
        chunks = [c async for c in await chat.send_message_stream("hi")]
    assert len(chunks) == 4
    _assert_priced(harness, "gcp.vertex_ai")


def test_nothing_happens_until_the_stream_is_read(harness, gemini, fake_provider):
    before = len(fake_provider.requests)
    stream = gemini.models.generate_content_stream(model=MODEL, contents="hi", config=config())
    assert len(fake_provider.requests) == before  # a lazy generator, as unpatched
    next(stream)
    assert len(fake_provider.requests) == before + 1
    stream.close()
    assert len(harness.spans()) == 1


def test_stream_left_early_ends_the_span_once_with_what_was_seen(harness, gemini):
    stream = gemini.models.generate_content_stream(model=MODEL, contents="hi", config=config())
    for chunk in stream:
        assert chunk.usage_metadata.candidates_token_count == 37
        break
    stream.close()
    attrs = harness.span().attributes
    # the first chunk's running total: prompt 980 + tool use 20 in, 37 candidates out (no thoughts yet)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (1000, 37)
    assert "error.type" not in attrs
    stream.close()
    assert len(harness.spans()) == 1


def test_abandoned_stream_is_finished_by_gc(harness, gemini):
    stream = gemini.models.generate_content_stream(model=MODEL, contents="hi", config=config())
    next(stream)
    del stream
    gc.collect()
    assert len(harness.spans()) == 1


async def test_async_stream_left_early(harness, gemini):
    stream = await gemini.aio.models.generate_content_stream(model=MODEL, contents="hi", config=config())
    async for _chunk in stream:
        break
    await stream.aclose()
    assert harness.span().attributes["gen_ai.usage.output_tokens"] == 37


def test_stream_cut_midway_reraises_and_marks_the_span(harness, gemini):
    with pytest.raises(CUT_ERRORS), llmledger.customer("c1", plan="pro"):
        for _ in gemini.models.generate_content_stream(model=MODEL, contents="hi",
                                                        config=config({**USAGE, "x-fake-fail-after": "2"})):
            pass
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == "RemoteProtocolError"
    assert span.attributes["gen_ai.usage.output_tokens"] == 75  # the running total of chunk 2
    assert harness.sum_of("llmledger.customer.calls", customer__id="c1", error__type="RemoteProtocolError") == 1


def _async_cut_error() -> tuple[type[BaseException], ...]:
    """google-genai's async client uses aiohttp when it is installed (LiteLLM brings it), else httpx2
    (google-genai 3) or httpx (google-genai 2)."""
    try:
        import aiohttp
    except ImportError:
        return CUT_ERRORS
    return (aiohttp.ClientPayloadError,)


async def test_async_stream_cut_midway(harness, genai_vertex):
    stream = await genai_vertex.aio.models.generate_content_stream(
        model=MODEL, contents="hi", config=config({**USAGE, "x-fake-fail-after": "1"}))
    expected = _async_cut_error()
    with pytest.raises(expected) as raised:
        async for _ in stream:
            pass
    assert harness.span().attributes["error.type"] == type(raised.value).__qualname__


def test_stream_request_refused(harness, gemini):
    with pytest.raises(errors.ClientError):
        list(gemini.models.generate_content_stream(model=MODEL, contents="hi",
                                                   config=config({"x-fake-status": "429"})))
    assert harness.span().attributes["error.type"] == "ClientError"


async def test_async_stream_request_refused(harness, gemini):
    with pytest.raises(errors.ServerError):
        stream = await gemini.aio.models.generate_content_stream(model=MODEL, contents="hi",
                                                                 config=config({"x-fake-status": "500"}))
        async for _ in stream:
            pass
    assert harness.span().attributes["error.type"] == "ServerError"
