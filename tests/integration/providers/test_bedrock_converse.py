"""boto3 ``bedrock-runtime`` Converse and ConverseStream, real botocore against the fake provider."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import botocore.exceptions
import pytest
import urllib3.exceptions
from botocore.eventstream import EventStream

import llmledger
from harness import Harness, instrumented

SONNET = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
NOVA = "amazon.nova-pro-v1:0"
MESSAGES = [{"role": "user", "content": [{"text": "hi"}]}]
CACHED_CALL = {"x-fake-input-tokens": "10000", "x-fake-cached-tokens": "2000",
               "x-fake-cache-write-tokens": "3000", "x-fake-cache-write-1h-tokens": "1000",
               "x-fake-output-tokens": "500"}
# us.anthropic.claude-sonnet-4-5 (regional: $3.3 in, $16.5 out, $0.33 cache read, $4.125 5m write,
# $6.6 1h write per MTok): uncached 10000-2000-3000 = 5000*3.3 = 0.0165; read 2000*0.33 = 0.00066;
# 5m write 2000*4.125 = 0.00825; 1h write 1000*6.6 = 0.0066; output 500*16.5 = 0.00825 -> 0.04026
CACHED_CALL_COST = Decimal("0.04026")


def test_converse_tokens_cost_and_customer(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    client = bedrock_runtime(CACHED_CALL)
    with llmledger.customer("c1", plan="pro", feature="summarize"):
        response = client.converse(modelId=SONNET, messages=MESSAGES)

    assert response["usage"]["inputTokens"] == 5000  # Bedrock's own count leaves the cache out
    span = harness.span()
    attrs = span.attributes
    assert span.name == f"chat {SONNET}"
    assert attrs["gen_ai.provider.name"] == "aws.bedrock"
    assert attrs["gen_ai.request.model"] == SONNET
    assert attrs["gen_ai.usage.input_tokens"] == 10000
    assert attrs["gen_ai.usage.output_tokens"] == 500
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 2000
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 3000
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "pro"
    assert attrs["app.feature"] == "summarize"
    record = harness.records[0]
    assert record.usage is not None and record.usage.cache_write_1h_tokens == 1000
    assert record.cost.status == "priced" and record.cost.total == CACHED_CALL_COST
    assert attrs["gen_ai.usage.cost"] == pytest.approx(float(CACHED_CALL_COST))
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(0.04026)


def test_converse_service_tier_from_response(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    client = bedrock_runtime({"x-fake-service-tier": "flex"})
    client.converse(modelId=NOVA, messages=MESSAGES, serviceTier={"type": "priority"})
    assert harness.records[0].modifiers.service_tier == "flex"  # what served the call wins


def test_converse_request_service_tier(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    client = bedrock_runtime()
    client.converse(modelId=NOVA, messages=MESSAGES, serviceTier={"type": "priority"})
    assert harness.records[0].modifiers.service_tier == "priority"


def test_converse_stream_same_events_and_usage(bedrock_runtime: Callable[..., Any]) -> None:
    headers = {"x-fake-input-tokens": "1000", "x-fake-cached-tokens": "400", "x-fake-output-tokens": "100"}
    plain = list(bedrock_runtime(headers).converse_stream(modelId=NOVA, messages=MESSAGES)["stream"])
    with instrumented() as harness, llmledger.customer("c2"):
        response = bedrock_runtime(headers).converse_stream(modelId=NOVA, messages=MESSAGES)
        stream = response["stream"]
        assert isinstance(stream, EventStream)
        events = list(stream)
        assert events == plain
        assert events[-1]["metadata"]["usage"]["inputTokens"] == 600
        record = harness.records[0]
        attrs = harness.span().attributes
    assert record.stream and record.first_chunk_time_ns is not None
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens, record.usage.cache_read_tokens) == (1000, 100, 400)
    # amazon.nova-pro ($0.8 in, $3.2 out, $0.2 cache read per MTok):
    # 600*0.8 = 0.00048 + 400*0.2 = 0.00008 + 100*3.2 = 0.00032 -> 0.00088
    assert record.cost.total == Decimal("0.00088")
    assert attrs["customer.id"] == "c2"
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)


def test_client_created_before_instrumentation(bedrock_runtime: Callable[..., Any]) -> None:
    client = bedrock_runtime(CACHED_CALL)
    with instrumented() as harness:
        client.converse(modelId=SONNET, messages=MESSAGES)
        list(client.converse_stream(modelId=SONNET, messages=MESSAGES)["stream"])
        assert [r.cost.total for r in harness.records] == [CACHED_CALL_COST, CACHED_CALL_COST]
    assert harness.records[1].stream


def test_other_aws_calls_pass_through(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    s3 = bedrock_runtime(service="s3")
    with pytest.raises(botocore.exceptions.ClientError):
        s3.list_buckets()  # the fake has no S3 route: a 404, raised by botocore as usual
    assert harness.spans() == [] and harness.records == []


def test_uninstrument_restores_botocore(bedrock_runtime: Callable[..., Any]) -> None:
    with instrumented() as harness:
        pass
    bedrock_runtime().converse(modelId=NOVA, messages=MESSAGES)
    assert harness.records == []


def test_error_status_passes_unchanged(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    client = bedrock_runtime({"x-fake-status": "429"})
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        client.converse(modelId=NOVA, messages=MESSAGES)
    assert raised.value.response["Error"]["Code"] == "ThrottlingException"
    record = harness.records[0]
    assert record.error_type == "ThrottlingException"
    assert record.cost.status == "no_usage"
    assert harness.span().status.status_code.name == "ERROR"


def test_stream_cut_midway(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    response = bedrock_runtime({"x-fake-fail-after": "3"}).converse_stream(modelId=NOVA, messages=MESSAGES)
    seen = []
    with pytest.raises(urllib3.exceptions.ProtocolError):
        for event in response["stream"]:
            seen.append(event)
    assert len(seen) == 3
    record = harness.records[0]
    assert record.error_type == "ProtocolError" and record.cost.status == "no_usage"
    assert harness.span().status.status_code.name == "ERROR"


def test_stream_exception_event(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    headers = {"x-fake-fail-after": "2", "x-fake-stream-error": "modelStreamErrorException"}
    response = bedrock_runtime(headers).converse_stream(modelId=NOVA, messages=MESSAGES)
    with pytest.raises(botocore.exceptions.EventStreamError) as raised:
        list(response["stream"])
    assert raised.value.response["Error"]["Code"] == "modelStreamErrorException"
    assert harness.records[0].error_type == "EventStreamError"


def test_break_early_then_close(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    stream = bedrock_runtime().converse_stream(modelId=NOVA, messages=MESSAGES)["stream"]
    for _ in stream:
        break
    assert harness.records == []  # still open: the caller may go on reading
    stream.close()
    record = harness.records[0]
    assert record.error_type is None and record.usage is None and record.cost.status == "no_usage"


def test_abandoned_stream_is_recorded(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    response = bedrock_runtime().converse_stream(modelId=NOVA, messages=MESSAGES)
    next(iter(response["stream"]))
    del response
    assert len(harness.records) == 1 and harness.records[0].stream


@pytest.mark.parametrize("mode", ["omit", "malformed"])
def test_usage_missing_or_malformed(bedrock_runtime: Callable[..., Any], harness: Harness, mode: str) -> None:
    client = bedrock_runtime({"x-fake-usage": mode})
    response = client.converse(modelId=NOVA, messages=MESSAGES)
    events = list(client.converse_stream(modelId=NOVA, messages=MESSAGES)["stream"])
    assert response["output"]["message"]["content"][0]["text"]
    assert events[-1].keys() == {"metadata"}
    assert [r.cost.status for r in harness.records] == ["no_usage", "no_usage"]
    assert [r.usage for r in harness.records] == [None, None]


def test_arn_model_id_is_recorded_as_given(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    arn = f"arn:aws:bedrock:us-east-1::foundation-model/{NOVA}"
    bedrock_runtime({"x-fake-input-tokens": "1000", "x-fake-output-tokens": "100"}).converse(
        modelId=arn, messages=MESSAGES)
    record = harness.records[0]
    assert record.request_model == arn
    # amazon.nova-pro: 1000*0.8 = 0.0008 + 100*3.2 = 0.00032 -> 0.00112
    assert record.cost.total == Decimal("0.00112")


def test_unknown_model_is_unpriced(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    bedrock_runtime().converse(modelId="cohere.command-r-v1:0", messages=MESSAGES)
    record = harness.records[0]
    assert record.usage is not None and record.usage.input_tokens > 0
    assert record.cost.status == "unpriced" and record.cost.total is None
    assert "gen_ai.usage.cost" not in harness.span().attributes
