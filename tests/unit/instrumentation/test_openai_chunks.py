"""The OpenAI adapter's chat stream handler, on real openai chunk objects."""

from __future__ import annotations

from typing import Any

from openai.types.chat import ChatCompletionChunk

from llmledger.instrumentation.adapter import RequestInfo
from llmledger.instrumentation.providers.openai import ChatStreamHandler
from llmledger.usage import Usage

REQUEST = RequestInfo(provider="openai", model="gpt-4o", stream=True)


def chunk(*finishes: str | None, **extra: Any) -> ChatCompletionChunk:
    return ChatCompletionChunk.model_validate({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": i, "delta": {"content": "x"}, "finish_reason": finish}
                    for i, finish in enumerate(finishes)], **extra})


def test_one_choice_per_chunk() -> None:
    handler = ChatStreamHandler(REQUEST)
    for finish in (None, None, "stop"):
        assert handler.on_chunk(chunk(finish)) is False
    assert handler.on_chunk(chunk(usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8})) is False
    info = handler.result()
    assert info.finish_reasons == ("stop",)
    assert (info.response_model, info.response_id) == ("gpt-4o-2024-08-06", "chatcmpl-1")
    assert info.usage == Usage(input_tokens=5, output_tokens=3)


def test_several_choices_in_one_chunk() -> None:
    handler = ChatStreamHandler(REQUEST)
    handler.on_chunk(chunk(None, None, None))
    handler.on_chunk(chunk("stop", None, "length"))
    handler.on_chunk(chunk(None, "content_filter"))
    assert handler.result().finish_reasons == ("stop", "length", "content_filter")


def test_interleaved_choices_of_an_n_2_stream() -> None:
    handler = ChatStreamHandler(REQUEST)
    first = chunk(None)
    second = ChatCompletionChunk.model_validate({**chunk(None).model_dump(), "choices": [
        {"index": 1, "delta": {"content": "y"}, "finish_reason": "length"}]})
    for each in (first, second, chunk("stop")):
        handler.on_chunk(each)
    assert handler.result().finish_reasons == ("length", "stop")
