"""The Cohere adapter's usage mapping and stream handler, on real cohere model objects."""

from __future__ import annotations

import pytest
from cohere.types import ApiMeta
from cohere.types import Usage as CohereUsage
from cohere.v2.types import V2ChatStreamResponse
from pydantic import TypeAdapter

from llmledger.instrumentation.adapter import MalformedUsage
from llmledger.instrumentation.providers.cohere import CohereStreamHandler, cohere_usage
from llmledger.usage import Usage

EVENTS: TypeAdapter[V2ChatStreamResponse] = TypeAdapter(V2ChatStreamResponse)


def test_billed_units_not_raw_tokens() -> None:
    usage = CohereUsage.model_validate({"billed_units": {"input_tokens": 100.0, "output_tokens": 20.0},
                                        "tokens": {"input_tokens": 180.0, "output_tokens": 20.0},
                                        "cached_tokens": 30.0})
    assert cohere_usage(usage) == Usage(input_tokens=100, output_tokens=20, cache_read_tokens=30)


def test_cached_tokens_bounded_by_billed_input() -> None:
    usage = CohereUsage.model_validate({"billed_units": {"input_tokens": 10.0}, "cached_tokens": 50.0})
    assert cohere_usage(usage) == Usage(input_tokens=10, cache_read_tokens=10)


def test_embed_meta() -> None:
    meta = ApiMeta.model_validate({"billed_units": {"input_tokens": 12.0}, "api_version": {"version": "2"}})
    assert cohere_usage(meta) == Usage(input_tokens=12)


@pytest.mark.parametrize("usage", [None, {}, {"tokens": {"input_tokens": 5.0}},
                                   {"billed_units": {"search_units": 1.0}}])
def test_no_billed_tokens_is_no_usage(usage: object) -> None:
    value = CohereUsage.model_validate(usage) if isinstance(usage, dict) else usage
    assert cohere_usage(value) is None


def test_fractional_count_is_malformed() -> None:
    with pytest.raises(MalformedUsage):
        cohere_usage(CohereUsage.model_validate({"billed_units": {"input_tokens": 3.0, "output_tokens": 2.5}}))


def test_stream_handler() -> None:
    handler = CohereStreamHandler()
    for payload in ({"type": "message-start", "id": "abc", "delta": {"message": {"role": "assistant"}}},
                    {"type": "content-delta", "index": 0, "delta": {"message": {"content": {"text": "hi"}}}},
                    {"type": "message-end", "delta": {"finish_reason": "MAX_TOKENS", "usage": {
                        "billed_units": {"input_tokens": 8.0, "output_tokens": 3.0}}}}):
        assert handler.on_chunk(EVENTS.validate_python(payload)) is False
    info = handler.result()
    assert info.usage == Usage(input_tokens=8, output_tokens=3)
    assert (info.response_id, info.finish_reasons) == ("abc", ("MAX_TOKENS",))


def test_stream_handler_cut_before_message_end() -> None:
    handler = CohereStreamHandler()
    handler.on_chunk(EVENTS.validate_python({"type": "message-start", "id": "abc"}))
    assert handler.result().usage is None
