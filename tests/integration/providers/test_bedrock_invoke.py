"""boto3 ``bedrock-runtime`` InvokeModel and InvokeModelWithResponseStream against the fake provider.

Claude model ids are answered by the fake's ``anthropic_routes`` (Anthropic-on-Bedrock), other ids
by ``bedrock_routes``: both speak Bedrock's wire format (token headers, invocation metrics).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import botocore.exceptions
import pytest
import urllib3.exceptions
from botocore.eventstream import EventStream
from botocore.response import StreamingBody

import llmledger
from harness import Harness, instrumented

HAIKU = "global.anthropic.claude-haiku-4-5-20251001-v1:0"
NOVA = "amazon.nova-pro-v1:0"
LLAMA = "meta.llama3-3-70b-instruct-v1:0"
PROFILE_ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3"
ANTHROPIC_BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 200,
                             "messages": [{"role": "user", "content": "hi"}]})
NOVA_BODY = json.dumps({"messages": [{"role": "user", "content": [{"text": "hi"}]}]})
LLAMA_BODY = json.dumps({"prompt": "hi", "max_gen_len": 300})
CACHE_WRITE_CALL = {"x-fake-input-tokens": "4000", "x-fake-cache-write-tokens": "2000",
                    "x-fake-cache-write-1h-tokens": "2000", "x-fake-output-tokens": "200"}
# global.anthropic.claude-haiku-4-5 ($1 in, $5 out, $2 1h cache write per MTok):
# uncached 4000-2000 = 2000*1 = 0.002; 1h write 2000*2 = 0.004; output 200*5 = 0.001 -> 0.007
CACHE_WRITE_COST = Decimal("0.007")
# (priced as 5-minute writes, $1.25, it would be 0.002 + 0.0025 + 0.001 = 0.0055)


def test_invoke_usage_from_headers_leaves_body_unread(bedrock_runtime: Callable[..., Any],
                                                      harness: Harness) -> None:
    headers = {"x-fake-input-tokens": "1000", "x-fake-cached-tokens": "400", "x-fake-output-tokens": "100"}
    with llmledger.customer("c1", plan="pro"):
        response = bedrock_runtime(headers).invoke_model(modelId=NOVA, body=NOVA_BODY)
    body = response["body"]
    assert type(body) is StreamingBody and body._amount_read == 0  # still the SDK's own, unread
    assert json.loads(body.read())["usage"]["cacheReadInputTokenCount"] == 400
    record = harness.records[0]
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.cache_read_tokens, record.usage.output_tokens) == (1000, 400, 100)
    # amazon.nova-pro ($0.8 in, $3.2 out, $0.2 cache read): 600*0.8 + 400*0.2 + 100*3.2 = 0.00088
    assert record.cost.total == Decimal("0.00088")
    assert harness.span().attributes["customer.plan"] == "pro"


def test_invoke_cache_writes_read_ttl_split(bedrock_runtime: Callable[..., Any]) -> None:
    plain = json.loads(bedrock_runtime(CACHE_WRITE_CALL).invoke_model(
        modelId=HAIKU, body=ANTHROPIC_BODY)["body"].read())
    with instrumented() as harness:
        response = bedrock_runtime(CACHE_WRITE_CALL).invoke_model(modelId=HAIKU, body=ANTHROPIC_BODY)
        body = response["body"]
        assert isinstance(body, StreamingBody)
        data = json.loads(body.read())
    data.pop("id"), plain.pop("id")
    assert data == plain  # the caller reads the same body
    record = harness.records[0]
    assert record.usage is not None and record.usage.cache_write_1h_tokens == 2000
    assert record.cost.total == CACHE_WRITE_COST


def test_invoke_streaming_body_helpers_still_work(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    response = bedrock_runtime(CACHE_WRITE_CALL).invoke_model(modelId=HAIKU, body=ANTHROPIC_BODY)
    lines = list(response["body"].iter_lines())
    assert len(lines) == 1 and json.loads(lines[0])["type"] == "message"
    assert harness.records[0].cost.total == CACHE_WRITE_COST


def test_invoke_llama_and_service_tier(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    headers = {"x-fake-input-tokens": "2000", "x-fake-output-tokens": "300"}
    response = bedrock_runtime(headers).invoke_model(modelId=LLAMA, body=LLAMA_BODY, serviceTier="priority")
    assert response["serviceTier"] == "priority"
    assert json.loads(response["body"].read())["generation"]
    record = harness.records[0]
    assert record.modifiers.service_tier == "priority"
    assert record.usage is not None and (record.usage.input_tokens, record.usage.output_tokens) == (2000, 300)


def test_invoke_llama_cost(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    headers = {"x-fake-input-tokens": "2000", "x-fake-output-tokens": "300"}
    bedrock_runtime(headers).invoke_model(modelId=LLAMA, body=LLAMA_BODY)
    # meta.llama3-3-70b-instruct ($0.72 in and out): 2000*0.72 + 300*0.72 = 0.00144 + 0.000216 = 0.001656
    assert harness.records[0].cost.total == Decimal("0.001656")


def test_invoke_application_profile_arn(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    response = bedrock_runtime(CACHE_WRITE_CALL).invoke_model(modelId=PROFILE_ARN, body=ANTHROPIC_BODY)
    assert json.loads(response["body"].read())["type"] == "message"
    record = harness.records[0]
    assert record.request_model == PROFILE_ARN
    assert record.usage is not None and record.usage.input_tokens == 4000
    assert record.usage.cache_write_1h_tokens == 2000
    assert record.cost.status == "unpriced"  # an application profile does not name its model


@pytest.mark.parametrize("mode", ["omit", "malformed"])
def test_invoke_usage_missing_or_malformed(bedrock_runtime: Callable[..., Any], harness: Harness,
                                           mode: str) -> None:
    response = bedrock_runtime({"x-fake-usage": mode}).invoke_model(modelId=NOVA, body=NOVA_BODY)
    assert json.loads(response["body"].read())["output"]
    assert harness.records[0].usage is None and harness.records[0].cost.status == "no_usage"


def test_invoke_error_passes_unchanged(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        bedrock_runtime({"x-fake-status": "400"}).invoke_model(modelId=NOVA, body=NOVA_BODY)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert harness.records[0].error_type == "ValidationException"


@pytest.mark.parametrize("model, body", [(NOVA, NOVA_BODY), (LLAMA, LLAMA_BODY), (HAIKU, ANTHROPIC_BODY)])
def test_invoke_stream_same_chunks(bedrock_runtime: Callable[..., Any], model: str, body: str) -> None:
    plain = list(bedrock_runtime().invoke_model_with_response_stream(modelId=model, body=body)["body"])
    with instrumented() as harness:
        stream = bedrock_runtime().invoke_model_with_response_stream(modelId=model, body=body)["body"]
        assert isinstance(stream, EventStream)
        chunks = list(stream)
    assert [json.loads(c["chunk"]["bytes"]).keys() for c in chunks] == \
        [json.loads(c["chunk"]["bytes"]).keys() for c in plain]
    assert len(harness.records) == 1 and harness.records[0].stream
    assert harness.records[0].usage is not None


def test_invoke_stream_anthropic_usage_and_ttl(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    stream = bedrock_runtime(CACHE_WRITE_CALL).invoke_model_with_response_stream(
        modelId=HAIKU, body=ANTHROPIC_BODY)["body"]
    for _ in stream:
        pass
    record = harness.records[0]
    assert record.usage is not None
    assert (record.usage.input_tokens, record.usage.output_tokens) == (4000, 200)
    assert record.usage.cache_write_tokens == record.usage.cache_write_1h_tokens == 2000
    assert record.finish_reasons == ("end_turn",)
    assert record.cost.total == CACHE_WRITE_COST


def test_invoke_stream_nova_cost(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    headers = {"x-fake-input-tokens": "1000", "x-fake-cached-tokens": "400", "x-fake-output-tokens": "100"}
    list(bedrock_runtime(headers).invoke_model_with_response_stream(modelId=NOVA, body=NOVA_BODY)["body"])
    record = harness.records[0]
    assert record.finish_reasons == ("end_turn",)
    assert record.cost.total == Decimal("0.00088")  # as the non-streamed Nova call above


def test_invoke_stream_client_before_instrumentation(bedrock_runtime: Callable[..., Any]) -> None:
    client = bedrock_runtime({"x-fake-input-tokens": "2000", "x-fake-output-tokens": "300"})
    with instrumented() as harness:
        list(client.invoke_model_with_response_stream(modelId=LLAMA, body=LLAMA_BODY)["body"])
    assert harness.records[0].cost.total == Decimal("0.001656")  # as test_invoke_llama_cost


def test_invoke_stream_cut(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    stream = bedrock_runtime({"x-fake-fail-after": "2"}).invoke_model_with_response_stream(
        modelId=NOVA, body=NOVA_BODY)["body"]
    with pytest.raises(urllib3.exceptions.ProtocolError):
        list(stream)
    record = harness.records[0]
    assert record.error_type == "ProtocolError" and record.usage is None


def test_invoke_stream_exception_event(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    headers = {"x-fake-fail-after": "3", "x-fake-stream-error": "throttlingException"}
    stream = bedrock_runtime(headers).invoke_model_with_response_stream(
        modelId=LLAMA, body=LLAMA_BODY)["body"]
    received = []
    with pytest.raises(botocore.exceptions.EventStreamError):
        for chunk in stream:
            received.append(chunk)
    assert len(received) == 3
    assert harness.records[0].error_type == "EventStreamError"
    assert harness.span().status.status_code.name == "ERROR"


def test_invoke_stream_usage_missing(bedrock_runtime: Callable[..., Any], harness: Harness) -> None:
    list(bedrock_runtime({"x-fake-usage": "omit"}).invoke_model_with_response_stream(
        modelId=LLAMA, body=LLAMA_BODY)["body"])
    assert harness.records[0].cost.status == "no_usage"
