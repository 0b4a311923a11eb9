"""OpenAI streams: usage without asking, transparency, helpers, early exit, failures."""

from __future__ import annotations

import asyncio
import gc
import importlib

import openai
import pytest

import llmledger
from harness import instrumented
from llmledger.fake_provider.transport import http_library

HTTP = http_library(openai)  # the SDK's HTTP library: httpx2, or httpx before openai 3
STREAM_ERRORS_WRAPPED = "APIConnectionError" in vars(importlib.import_module("openai._streaming"))

MSG = [{"role": "user", "content": "Write a haiku."}]
USAGE = {"x-fake-input-tokens": "2000", "x-fake-output-tokens": "300"}
# gpt-4o: 2_000 * $2.50/M + 300 * $10/M = 0.005 + 0.003 = 0.008
COST = 0.008


def _dump(chunks):
    return [c.model_dump(exclude={"id", "created"}) for c in chunks]


def test_stream_without_include_usage_is_priced_and_transparent(openai_client, fake_provider):
    baseline = list(openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                          extra_headers=USAGE))
    assert "stream_options" not in fake_provider.requests[-1].json  # nothing patched yet
    with instrumented() as h, llmledger.customer("cust-s", plan="pro"):
        chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                            extra_headers=USAGE))
        # the user sees exactly the chunks of an uninstrumented stream: no usage-only chunk
        assert _dump(chunks) == _dump(baseline)
        assert all(c.choices for c in chunks)
        # ... although llmledger asked for usage on the wire
        assert fake_provider.requests[-1].json["stream_options"] == {"include_usage": True}
        attrs = dict(h.span().attributes)
        assert attrs["gen_ai.request.stream"] is True
        assert attrs["gen_ai.usage.input_tokens"] == 2_000
        assert attrs["gen_ai.usage.output_tokens"] == 300
        assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
        assert attrs["customer.id"] == "cust-s"
        assert attrs["gen_ai.response.time_to_first_chunk"] > 0
        assert h.points("gen_ai.client.operation.time_to_first_chunk")


def test_user_who_asked_for_usage_still_gets_the_usage_chunk(harness, openai_client):
    chunks = list(openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                        stream_options={"include_usage": True}, extra_headers=USAGE))
    assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 2_000
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(COST)


def test_stream_helper_with_final_completion(harness, openai_client):
    with openai_client.chat.completions.stream(model="gpt-4o", messages=MSG, extra_headers=USAGE) as stream:
        events = [e.type for e in stream]
        final = stream.get_final_completion()
    assert "content.done" in events
    assert final.choices[0].message.content == "Hello from the"
    assert final.usage is None  # as unpatched: the user did not ask for usage
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(COST)


def test_context_manager_stream_closed_early_ends_span_once(harness, openai_client):
    with openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                               extra_headers=USAGE) as stream:
        first = next(stream)
        assert first.choices[0].delta.role == "assistant"
    span = harness.span()
    assert span.attributes["llmledger.cost.status"] == "no_usage"
    assert "error.type" not in span.attributes
    stream.close()  # closing again does not end a second span
    assert len(harness.spans()) == 1


def test_abandoned_stream_is_finished_by_gc(harness, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True, extra_headers=USAGE)
    for _chunk in stream:
        break
    del stream, _chunk
    gc.collect()
    assert len(harness.spans()) == 1


def test_stream_failing_midway_reraises_sdk_error_and_marks_span(harness, openai_client):
    headers = {**USAGE, "x-fake-fail-after": "2"}
    # openai 3 wraps a stream cut in APIConnectionError; openai 1 and 2 raise the httpx error itself
    expected = openai.APIConnectionError if STREAM_ERRORS_WRAPPED else HTTP.RemoteProtocolError
    with pytest.raises(expected) as raised, llmledger.customer("cust-f"):
        for _ in openai_client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                       extra_headers=headers):
            pass
    if STREAM_ERRORS_WRAPPED:
        assert isinstance(raised.value.__cause__, HTTP.RemoteProtocolError)  # the SDK's own chain
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == expected.__qualname__
    assert harness.sum_of("llmledger.customer.calls", customer__id="cust-f",
                          error__type=expected.__qualname__) == 1


def test_async_stream_and_usage(harness, openai_aclient):
    async def run():
        with llmledger.customer("cust-as"):
            stream = await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                                  extra_headers=USAGE)
            return [c async for c in stream]
    chunks = asyncio.run(run())
    assert all(c.choices for c in chunks)
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["customer.id"] == "cust-as"


def test_async_stream_context_manager(harness, openai_aclient):
    async def run():
        stream = await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                              extra_headers=USAGE)
        async with stream as s:
            assert s is stream
            return [c async for c in s]
    assert len(asyncio.run(run())) == 5
    assert len(harness.spans()) == 1


def test_responses_stream_usage_from_completed_event(harness, openai_client):
    with llmledger.customer("cust-r"):
        events = list(openai_client.responses.create(model="gpt-4o", input="hi", stream=True, extra_headers=USAGE))
    assert events[-1].type == "response.completed"
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.usage.cost"] == pytest.approx(COST)
    assert attrs["gen_ai.response.model"] == "gpt-4o"


def test_responses_stream_helper(harness, openai_client):
    with openai_client.responses.stream(model="gpt-4o", input="hi", extra_headers=USAGE) as stream:
        text = "".join(e.delta for e in stream if e.type == "response.output_text.delta")
        final = stream.get_final_response()
    assert text == "Hello from the"
    assert final.usage.input_tokens == 2_000
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(COST)


def test_legacy_completion_stream(harness, openai_client):
    chunks = list(openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi", stream=True,
                                                   extra_headers=USAGE))
    assert all(c.choices for c in chunks)
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.operation.name"] == "text_completion"
    # gpt-3.5-turbo-instruct: 2_000 * $1.50/M + 300 * $2/M = 0.003 + 0.0006 = 0.0036
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0036)
