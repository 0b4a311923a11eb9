"""AWS Bedrock Runtime wire format: Converse (JSON), ConverseStream and InvokeModelWithResponseStream
(binary AWS event-stream, see ``aws_eventstream``), InvokeModel (model-native JSON bodies, token
counts in ``x-amzn-bedrock-*`` headers).

Claude model ids (``.../anthropic.claude...``) on ``/model/{id}/invoke*`` are served by
``anthropic_routes`` (listed first). Every other InvokeModel id lands here and is dispatched on the
body: ``anthropic_version`` -> Anthropic Messages (e.g. an application inference profile ARN in
front of Claude), an ``amazon.nova`` model -> Nova, anything else -> Llama-style. Converse is
model-independent and served here for every model.

Bedrock's own counts (Converse ``usage``, the invoke headers, ``amazon-bedrock-invocationMetrics``)
report input WITHOUT cache reads/writes; the script's OTel input total is converted here. Extra
control: ``x-fake-stream-error: <exception type>`` ends a stream with that in-stream exception
(e.g. ``modelStreamErrorException``) after ``x-fake-fail-after`` events, instead of cutting it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from llmledger.fake_provider import aws_eventstream
from llmledger.fake_provider.controls import Script, script_for
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

_ERRORS = {400: "ValidationException", 403: "AccessDeniedException", 404: "ResourceNotFoundException",
           429: "ThrottlingException", 500: "InternalServerException", 503: "ServiceUnavailableException"}


def error_response(status: int) -> FakeResponse:
    code = _ERRORS.get(status, "InternalServerException")
    return FakeResponse.json({"message": f"fake {code}"}, status=status,
                             headers={"x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/"})


def uncached_input(script: Script) -> int:
    return max(script.input_tokens - script.cached_tokens - script.cache_write_tokens, 0)


def converse_usage(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":  # botocore parses these as integers: only a sign can be wrong
        return {"inputTokens": -5, "outputTokens": 3, "totalTokens": -2}
    usage: dict[str, Any] = {"inputTokens": uncached_input(script), "outputTokens": script.output_tokens,
                             "totalTokens": script.input_tokens + script.output_tokens}
    if script.cached_tokens or script.cache_write_tokens:
        usage["cacheReadInputTokens"] = script.cached_tokens
        usage["cacheWriteInputTokens"] = script.cache_write_tokens
    if script.cache_write_tokens:  # by TTL, 1h before 5m, as Bedrock sorts them
        details = [("1h", script.cache_write_1h_tokens),
                   ("5m", script.cache_write_tokens - script.cache_write_1h_tokens)]
        usage["cacheDetails"] = [{"ttl": ttl, "inputTokens": count} for ttl, count in details if count]
    return usage


def token_headers(script: Script) -> dict[str, str]:
    if script.usage_mode == "omit":
        return {}
    if script.usage_mode == "malformed":
        return {"x-amzn-bedrock-input-token-count": "lots", "x-amzn-bedrock-output-token-count": "-1"}
    return {"x-amzn-bedrock-input-token-count": str(uncached_input(script)),
            "x-amzn-bedrock-output-token-count": str(script.output_tokens),
            "x-amzn-bedrock-cache-read-input-token-count": str(script.cached_tokens),
            "x-amzn-bedrock-cache-write-input-token-count": str(script.cache_write_tokens),
            "x-amzn-bedrock-invocation-latency": "42"}


def invocation_metrics(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":
        return {"inputTokenCount": "lots", "outputTokenCount": None}
    return {"inputTokenCount": uncached_input(script), "outputTokenCount": script.output_tokens,
            "invocationLatency": 42, "firstByteLatency": 7,
            "cacheReadInputTokenCount": script.cached_tokens,
            "cacheWriteInputTokenCount": script.cache_write_tokens}


def _tier(request: FakeRequest, script: Script) -> str | None:
    if script.service_tier:
        return script.service_tier
    body = request.json
    requested = body.get("serviceTier") if isinstance(body, dict) else None
    if isinstance(requested, dict):  # Converse: {"type": ...}; InvokeModel sends it as a header
        return requested.get("type")
    return request.header("x-amzn-bedrock-service-tier")


def _max_tokens(request: FakeRequest) -> int | None:
    body = request.json
    if not isinstance(body, dict):
        return None
    return (body.get("inferenceConfig") or {}).get("maxTokens") or body.get("max_tokens")


def _stream_response(request: FakeRequest, script: Script, frames: Iterator[bytes],
                     headers: dict[str, str]) -> FakeResponse:
    kind = request.header("x-fake-stream-error")
    if kind:
        kept = list(frames)[: script.fail_after if script.fail_after is not None else 2]
        error = aws_eventstream.exception_frame(kind, f"fake {kind}")
        return FakeResponse(200, [*kept, error], headers)
    return FakeResponse(200, frames, headers, fail_after=script.fail_after)


def _converse(request: FakeRequest) -> FakeResponse:
    script = script_for(request, _max_tokens(request))
    if script.status:
        return error_response(script.status)
    payload: dict[str, Any] = {
        "output": {"message": {"role": "assistant", "content": [{"text": script.text}]}},
        "stopReason": "end_turn", "metrics": {"latencyMs": 42}}
    if script.usage_mode != "omit":
        payload["usage"] = converse_usage(script)
    tier = _tier(request, script)
    if tier:
        payload["serviceTier"] = {"type": tier}
    return FakeResponse.json(payload, headers={"x-amzn-requestid": str(uuid.uuid4())})


def _converse_stream(request: FakeRequest) -> FakeResponse:
    script = script_for(request, _max_tokens(request))
    if script.status:
        return error_response(script.status)
    tier = _tier(request, script)

    def frames() -> Iterator[bytes]:
        event = aws_eventstream.event_frame
        yield event("messageStart", {"role": "assistant"})
        for piece in script.pieces():
            yield event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": piece}})
        yield event("contentBlockStop", {"contentBlockIndex": 0})
        yield event("messageStop", {"stopReason": "end_turn"})
        metadata: dict[str, Any] = {"metrics": {"latencyMs": 42}}
        if script.usage_mode != "omit":
            metadata["usage"] = converse_usage(script)
        if tier:
            metadata["serviceTier"] = {"type": tier}
        yield event("metadata", metadata)

    return _stream_response(request, script, frames(), {"content-type": aws_eventstream.CONTENT_TYPE})


def _family(body: Any, model: str) -> str:
    if isinstance(body, dict) and "anthropic_version" in body:
        return "anthropic"
    return "nova" if "amazon.nova" in model else "llama"


def _anthropic_message(script: Script) -> dict[str, Any]:
    written, written_1h = script.cache_write_tokens, script.cache_write_1h_tokens
    return {"id": f"msg_bdrk_{uuid.uuid4().hex[:20]}", "type": "message", "role": "assistant",
            "model": "claude", "stop_reason": "end_turn", "stop_sequence": None,
            "content": [{"type": "text", "text": script.text}],
            "usage": {"input_tokens": uncached_input(script), "output_tokens": script.output_tokens,
                      "cache_read_input_tokens": script.cached_tokens, "cache_creation_input_tokens": written,
                      "cache_creation": {"ephemeral_5m_input_tokens": written - written_1h,
                                         "ephemeral_1h_input_tokens": written_1h}}}


def _invoke_body(family: str, script: Script) -> dict[str, Any]:
    if family == "anthropic":
        return _anthropic_message(script)
    if family == "nova":
        return {"output": {"message": {"role": "assistant", "content": [{"text": script.text}]}},
                "stopReason": "end_turn",
                "usage": {"inputTokens": uncached_input(script), "outputTokens": script.output_tokens,
                          "totalTokens": script.input_tokens + script.output_tokens,
                          "cacheReadInputTokenCount": script.cached_tokens,
                          "cacheWriteInputTokenCount": script.cache_write_tokens}}
    return {"generation": script.text, "prompt_token_count": script.input_tokens,
            "generation_token_count": script.output_tokens, "stop_reason": "stop"}


def _stream_chunks(family: str, script: Script) -> Iterator[dict[str, Any]]:
    """Model-native stream chunks; the last one carries ``amazon-bedrock-invocationMetrics``."""
    pieces = script.pieces()
    last: dict[str, Any]
    if family == "anthropic":
        start = _anthropic_message(script)
        start.update(content=[], stop_reason=None)
        start["usage"]["output_tokens"] = 1
        yield {"type": "message_start", "message": start}
        yield {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        for piece in pieces:
            yield {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
        yield {"type": "content_block_stop", "index": 0}
        yield {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
               "usage": {"output_tokens": script.output_tokens}}
        last = {"type": "message_stop"}
    elif family == "nova":
        yield {"messageStart": {"role": "assistant"}}
        for piece in pieces:
            yield {"contentBlockDelta": {"delta": {"text": piece}, "contentBlockIndex": 0}}
        yield {"contentBlockStop": {"contentBlockIndex": 0}}
        last = {"messageStop": {"stopReason": "end_turn"}}
    else:
        for piece in pieces[:-1]:
            yield {"generation": piece, "prompt_token_count": None, "generation_token_count": None,
                   "stop_reason": None}
        last = {"generation": pieces[-1], "prompt_token_count": script.input_tokens,
                "generation_token_count": script.output_tokens, "stop_reason": "stop"}
    if script.usage_mode != "omit":
        last["amazon-bedrock-invocationMetrics"] = invocation_metrics(script)
    yield last


def _invoke(request: FakeRequest) -> FakeResponse:
    script = script_for(request, _max_tokens(request))
    if script.status:
        return error_response(script.status)
    assert request.match is not None
    family = _family(request.json, unquote(request.match.group("model")))
    headers = {"x-amzn-requestid": str(uuid.uuid4())}
    tier = _tier(request, script)
    if tier:
        headers["x-amzn-bedrock-service-tier"] = tier
    if request.match.group("op") == "invoke":
        return FakeResponse.json(_invoke_body(family, script), headers={**headers, **token_headers(script)})
    frames = (aws_eventstream.chunk_frame(chunk) for chunk in _stream_chunks(family, script))
    headers.update({"content-type": aws_eventstream.CONTENT_TYPE,
                    "x-amzn-bedrock-content-type": "application/json"})
    return _stream_response(request, script, frames, headers)


ROUTES: list[Route] = [
    ("POST", r"/model/(?P<model>[^/]+)/converse$", _converse),
    ("POST", r"/model/(?P<model>[^/]+)/converse-stream$", _converse_stream),
    ("POST", r"/model/(?P<model>[^/]+)/(?P<op>invoke|invoke-with-response-stream)$", _invoke),
]
