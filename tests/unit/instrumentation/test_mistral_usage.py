"""The Mistral adapter's usage mapping and stream handler, on real mistralai model objects."""

from __future__ import annotations

import pytest
from mistralai.client.models import CompletionEvent, UsageInfo

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo
from llmledger.instrumentation.providers.mistral import ADAPTER, MistralStreamHandler, mistral_usage
from llmledger.usage import Usage

REQUEST = RequestInfo(provider="mistral_ai", model="mistral-large-2512", stream=True)


def test_cached_tokens_from_the_undeclared_extra() -> None:
    usage = UsageInfo.model_validate({"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107,
                                      "prompt_tokens_details": {"cached_tokens": 60}})
    assert mistral_usage(usage) == Usage(input_tokens=100, output_tokens=7, cache_read_tokens=60)


def test_usage_without_counts_is_missing_not_zero() -> None:
    empty = UsageInfo.model_validate({})
    assert (empty.prompt_tokens, empty.completion_tokens) == (0, 0)  # the SDK's defaults
    assert mistral_usage(empty) is None
    assert mistral_usage(None) is None
    assert mistral_usage(UsageInfo.model_validate({"prompt_tokens": 0})) == Usage()  # a real zero


def test_negative_count_is_malformed() -> None:
    with pytest.raises(MalformedUsage):
        mistral_usage(UsageInfo.model_validate({"prompt_tokens": -4, "completion_tokens": 2}))


def event(**data: object) -> CompletionEvent:
    return CompletionEvent.model_validate({"data": {"id": "cmpl-1", "model": "mistral-large-2512", **data}})


def test_stream_handler() -> None:
    handler = MistralStreamHandler(REQUEST)
    handler.on_chunk(event(choices=[{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]))
    handler.on_chunk(event(choices=[{"index": 0, "delta": {"content": ""}, "finish_reason": "length"}],
                           usage={"prompt_tokens": 9, "completion_tokens": 3, "service_tier": "priority",
                                  "prompt_tokens_details": {"cached_tokens": 4}}))
    info = handler.result()
    assert info.usage == Usage(input_tokens=9, output_tokens=3, cache_read_tokens=4)
    assert (info.response_model, info.response_id, info.finish_reasons) == ("mistral-large-2512", "cmpl-1",
                                                                           ("length",))
    assert info.modifiers is not None and info.modifiers.service_tier == "priority"


def test_stream_handler_without_final_chunk() -> None:
    handler = MistralStreamHandler(REQUEST)
    handler.on_chunk(event(choices=[{"index": 0, "delta": {"content": "a"}, "finish_reason": None}]))
    assert handler.result().usage is None


def test_targets_cover_every_client_class() -> None:
    modules = {target.module for target in ADAPTER.targets}
    assert modules == {"mistralai.client.chat", "mistralai.client.fim", "mistralai.client.agents",
                       "mistralai.client.embeddings", "mistralai.azure.client.chat",
                       "mistralai.gcp.client.chat", "mistralai.gcp.client.fim"}
    streams = [t for t in ADAPTER.targets if t.kind == "stream"]
    assert {t.qualname.rsplit(".", 1)[1] for t in streams} == {"stream", "stream_async"}
