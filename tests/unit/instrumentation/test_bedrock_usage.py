"""The Bedrock adapter's pure parts: usage mapping, stream handlers, the call filter, body re-reading."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo
from llmledger.instrumentation.providers.bedrock import (
    ADAPTER,
    _reread_one_hour_writes,
)
from llmledger.instrumentation.providers.bedrock_usage import (
    ConverseStreamHandler,
    InvokeStreamHandler,
    anthropic_one_hour_writes,
    converse_usage,
    header_usage,
    metrics_usage,
    tier_modifiers,
)
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

REQUEST = RequestInfo(provider="aws.bedrock", model="m")


def test_converse_input_adds_cache_reads_and_writes() -> None:
    usage = converse_usage({"inputTokens": 5000, "outputTokens": 500, "totalTokens": 10500,
                            "cacheReadInputTokens": 2000, "cacheWriteInputTokens": 3000,
                            "cacheDetails": [{"ttl": "1h", "inputTokens": 1000}, {"ttl": "5m", "inputTokens": 2000}]})
    assert usage == Usage(input_tokens=10000, output_tokens=500, cache_read_tokens=2000,
                          cache_write_tokens=3000, cache_write_1h_tokens=1000)


def test_converse_cache_writes_from_details_alone() -> None:
    usage = converse_usage({"inputTokens": 10, "outputTokens": 1, "cacheDetails": [{"ttl": "1h", "inputTokens": 40}]})
    assert usage is not None
    assert (usage.input_tokens, usage.cache_write_tokens, usage.cache_write_1h_tokens) == (50, 40, 40)


@pytest.mark.parametrize("usage", [None, {}, {"totalTokens": 3}, "5"])
def test_converse_without_counts_is_no_usage(usage: Any) -> None:
    assert converse_usage(usage) is None


def test_converse_negative_count_is_malformed() -> None:
    with pytest.raises(MalformedUsage):
        converse_usage({"inputTokens": -5, "outputTokens": 3})


def test_header_usage() -> None:
    headers = {"x-amzn-bedrock-input-token-count": "600", "x-amzn-bedrock-output-token-count": "100",
               "x-amzn-bedrock-cache-read-input-token-count": "400",
               "x-amzn-bedrock-cache-write-input-token-count": "0"}
    assert header_usage(headers) == Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=400)
    assert header_usage({"x-amzn-bedrock-output-token-count": "7"}) == Usage(output_tokens=7)
    assert header_usage({"content-type": "application/json"}) is None
    assert header_usage(None) is None


@pytest.mark.parametrize("value", ["lots", "-1", "1.5"])
def test_header_usage_malformed(value: str) -> None:
    with pytest.raises(MalformedUsage):
        header_usage({"x-amzn-bedrock-input-token-count": value})


def test_metrics_usage_one_hour_writes_bounded_by_writes() -> None:
    metrics = {"inputTokenCount": 10, "outputTokenCount": 2, "cacheReadInputTokenCount": 5,
               "cacheWriteInputTokenCount": 20, "invocationLatency": 9}
    assert metrics_usage(metrics, write_1h=50) == Usage(input_tokens=35, output_tokens=2, cache_read_tokens=5,
                                                        cache_write_tokens=20, cache_write_1h_tokens=20)
    assert metrics_usage(None) is None
    with pytest.raises(MalformedUsage):
        metrics_usage({"inputTokenCount": "lots"})


def test_anthropic_one_hour_writes() -> None:
    usage = {"cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 8}}
    assert anthropic_one_hour_writes({"type": "message", "usage": usage}) == 8
    assert anthropic_one_hour_writes({"type": "message_start", "message": {"usage": usage}}) == 8
    assert anthropic_one_hour_writes({"output": {}}) == 0


def test_tier_modifiers() -> None:
    assert tier_modifiers({"type": "flex"}, NO_MODIFIERS).service_tier == "flex"
    assert tier_modifiers("priority", NO_MODIFIERS).service_tier == "priority"
    requested = PriceModifiers(service_tier="priority")
    assert tier_modifiers(None, requested) is requested


def test_converse_stream_handler() -> None:
    handler = ConverseStreamHandler(REQUEST)
    events = [{"messageStart": {"role": "assistant"}}, {"contentBlockDelta": {"delta": {"text": "x"}}},
              {"messageStop": {"stopReason": "max_tokens"}},
              {"metadata": {"usage": {"inputTokens": 3, "outputTokens": 4, "cacheReadInputTokens": 2},
                            "serviceTier": {"type": "flex"}}}]
    assert not any(handler.on_chunk(event) for event in events)
    info = handler.result()
    assert info.usage == Usage(input_tokens=5, output_tokens=4, cache_read_tokens=2)
    assert info.finish_reasons == ("max_tokens",)
    assert info.modifiers is not None and info.modifiers.service_tier == "flex"


def test_converse_stream_handler_without_metadata() -> None:
    handler = ConverseStreamHandler(REQUEST)
    handler.on_chunk({"messageStart": {"role": "assistant"}})
    assert handler.result().usage is None


def chunk(payload: Any) -> dict[str, Any]:
    return {"chunk": {"bytes": payload if isinstance(payload, bytes) else json.dumps(payload).encode()}}


def test_invoke_stream_handler_anthropic() -> None:
    handler = InvokeStreamHandler(REQUEST, response_tier="flex")
    start = {"type": "message_start", "message": {"usage": {
        "input_tokens": 1, "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 30}}}}
    handler.on_chunk(chunk(start))
    handler.on_chunk(chunk(b"not json, and nothing llmledger looks for"))  # never parsed
    handler.on_chunk(chunk({"type": "message_delta", "delta": {"stop_reason": "end_turn"}}))
    handler.on_chunk(chunk({"type": "message_stop", "amazon-bedrock-invocationMetrics": {
        "inputTokenCount": 1, "outputTokenCount": 9, "cacheWriteInputTokenCount": 30}}))
    info = handler.result()
    assert info.usage == Usage(input_tokens=31, output_tokens=9, cache_write_tokens=30, cache_write_1h_tokens=30)
    assert info.finish_reasons == ("end_turn",)
    assert info.modifiers is not None and info.modifiers.service_tier == "flex"


def test_invoke_stream_handler_llama_reason_on_last_chunk() -> None:
    handler = InvokeStreamHandler(REQUEST)
    handler.on_chunk(chunk({"generation": "a", "stop_reason": None}))
    handler.on_chunk(chunk({"generation": "b", "stop_reason": "length",
                            "amazon-bedrock-invocationMetrics": {"inputTokenCount": 4, "outputTokenCount": 5}}))
    info = handler.result()
    assert info.usage == Usage(input_tokens=4, output_tokens=5) and info.finish_reasons == ("length",)


def test_request_info_refuses_other_services_and_operations() -> None:
    kwargs = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    s3 = boto3.client("s3", **kwargs)
    runtime = boto3.client("bedrock-runtime", **kwargs)
    target = ADAPTER.targets[0]
    assert ADAPTER.request_info(target, s3, ("ListBuckets", {}), {}) is None
    assert ADAPTER.request_info(target, runtime, ("CountTokens", {"modelId": "m"}), {}) is None
    params = {"modelId": "us.x", "serviceTier": {"type": "flex"}}
    request = ADAPTER.request_info(target, runtime, ("Converse", params), {})
    assert (request.provider, request.model, request.stream) == ("aws.bedrock", "us.x", False)
    assert request.modifiers.service_tier == "flex"
    assert request.server_address == "bedrock-runtime.us-east-1.amazonaws.com" and request.server_port == 443
    stream = ADAPTER.request_info(target, runtime, ("InvokeModelWithResponseStream",
                                                    {"modelId": "m", "serviceTier": "priority"}), {})
    assert stream.stream and stream.modifiers.service_tier == "priority"


def test_reread_gives_the_caller_an_equivalent_body() -> None:
    data = json.dumps({"usage": {"cache_creation": {"ephemeral_1h_input_tokens": 6}}}).encode()
    result: dict[str, Any] = {"body": StreamingBody(io.BytesIO(data), len(data))}
    usage = _reread_one_hour_writes(result, Usage(input_tokens=20, cache_write_tokens=10))
    assert usage.cache_write_1h_tokens == 6
    assert result["body"].read() == data


class _BrokenStream(io.RawIOBase):
    def read(self, *args: Any) -> bytes:
        raise ConnectionResetError("peer went away")


def test_reread_failure_fails_the_callers_read_the_same_way() -> None:
    result: dict[str, Any] = {"body": StreamingBody(_BrokenStream(), 10)}
    with pytest.raises(ConnectionResetError):
        _reread_one_hour_writes(result, Usage(input_tokens=20, cache_write_tokens=10))
    with pytest.raises(ConnectionResetError, match="peer went away"):
        result["body"].read()
