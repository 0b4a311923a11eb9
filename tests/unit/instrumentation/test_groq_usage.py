"""The Groq adapter's usage mapping and stream handler, on real groq model objects."""

from __future__ import annotations

from typing import Any

import pytest
from groq.types import CompletionUsage
from groq.types.chat import ChatCompletionChunk

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo
from llmledger.instrumentation.providers.groq import GroqStreamHandler, groq_usage
from llmledger.usage import PriceModifiers, Usage

REQUEST = RequestInfo(provider="groq", model="llama-3.3-70b-versatile", stream=True,
                      modifiers=PriceModifiers(service_tier="flex"))
USAGE = {"prompt_tokens": 50, "completion_tokens": 9, "total_tokens": 59, "queue_time": 0.1,
         "prompt_tokens_details": {"cached_tokens": 20}, "completion_tokens_details": {"reasoning_tokens": 4}}


def test_usage_openai_accounting() -> None:
    usage = CompletionUsage.model_validate(USAGE)
    assert groq_usage(usage) == Usage(input_tokens=50, output_tokens=9, cache_read_tokens=20, reasoning_tokens=4)
    assert groq_usage(None) is None


def test_malformed_usage() -> None:
    with pytest.raises(MalformedUsage):
        groq_usage(CompletionUsage.construct(prompt_tokens="lots", completion_tokens=1, total_tokens=1))


def chunk(finish: str | None = None, **extra: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "llama-3.3-70b-versatile",
        "choices": [{"index": 0, "delta": {"content": "x"}, "finish_reason": finish}], **extra})


def test_stream_handler_reads_x_groq_usage() -> None:
    handler = GroqStreamHandler(REQUEST)
    handler.on_chunk(chunk(x_groq={"id": "req_1"}))
    handler.on_chunk(chunk("stop", x_groq={"id": "req_1", "usage": USAGE}))
    info = handler.result()
    assert info.usage == Usage(input_tokens=50, output_tokens=9, cache_read_tokens=20, reasoning_tokens=4)
    assert (info.response_model, info.response_id, info.finish_reasons) == ("llama-3.3-70b-versatile",
                                                                           "chatcmpl-1", ("stop",))
    assert info.modifiers is REQUEST.modifiers


def test_stream_handler_include_usage_chunk_is_shown() -> None:
    handler = GroqStreamHandler(REQUEST)
    usage_only = ChatCompletionChunk.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
        "usage": USAGE})
    assert handler.on_chunk(usage_only) is False  # the user asked for it: never hidden
    assert handler.result().usage == groq_usage(CompletionUsage.model_validate(USAGE))


def test_stream_handler_without_usage() -> None:
    handler = GroqStreamHandler(REQUEST)
    handler.on_chunk(chunk())
    assert handler.result().usage is None
