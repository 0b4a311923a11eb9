"""Anthropic Messages wire format: first-party (``/v1/messages``, JSON and SSE), Claude on Bedrock
(``/model/{id}/invoke`` JSON and ``/invoke-with-response-stream`` AWS event-stream) and Claude on
Vertex (``...:rawPredict`` / ``...:streamRawPredict``).

Token counts from the ``x-fake-*`` controls are in OTel meaning and converted to Anthropic's own
accounting here: ``input_tokens`` EXCLUDES cache reads and writes. Extra controls of this module:
``x-fake-web-searches`` (server tool web search requests), ``x-fake-speed`` (``fast``), and
``x-fake-stream-error`` (a stream ends with an in-band error of that type — an SSE ``error`` event,
or a Bedrock exception frame — after ``x-fake-fail-after`` events, instead of being cut).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from llmledger.fake_provider import aws_eventstream
from llmledger.fake_provider.controls import Script, count_header, scripted, scripted_usage
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

Event = tuple[str, dict[str, Any]]

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}
_BEDROCK_ERRORS = {
    400: "ValidationException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    429: "ThrottlingException",
    500: "InternalServerException",
    503: "ServiceUnavailableException",
}


def error_response(status: int) -> FakeResponse:
    kind = _ERROR_TYPES.get(status, "api_error")
    return FakeResponse.json(
        {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}},
        status=status,
        headers={"request-id": f"req_{uuid.uuid4().hex[:24]}"},
    )


def anthropic_usage(script: Script, request: FakeRequest) -> dict[str, Any]:
    """The usage object, in Anthropic's accounting (``input_tokens`` excludes the cache)."""
    if script.usage_mode == "malformed":
        return {"input_tokens": "lots", "output_tokens": -3}
    cached, written, written_1h = (
        script.cached_tokens,
        script.cache_write_tokens,
        script.cache_write_1h_tokens,
    )
    usage: dict[str, Any] = {
        "input_tokens": max(script.input_tokens - cached - written, 0),
        "output_tokens": script.output_tokens,
        "cache_read_input_tokens": cached,
        "cache_creation_input_tokens": written,
        "cache_creation": {
            "ephemeral_5m_input_tokens": written - written_1h,
            "ephemeral_1h_input_tokens": written_1h,
        },
        "service_tier": script.service_tier or "standard",
        "speed": request.header("x-fake-speed") or "standard",
        "inference_geo": "global",
    }
    if script.reasoning_tokens:
        usage["output_tokens_details"] = {"thinking_tokens": script.reasoning_tokens}
    searches = count_header(request, "x-fake-web-searches")
    if searches:
        usage["server_tool_use"] = {"web_search_requests": searches, "web_fetch_requests": 0}
    return usage


def _sample(schema: Any) -> Any:
    """A value matching a (simple) JSON schema, so that ``messages.parse`` has something to parse."""
    if not isinstance(schema, dict):
        return None
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        return {name: _sample(sub) for name, sub in (schema.get("properties") or {}).items()}
    return {"string": "fake", "integer": 1, "number": 1.5, "boolean": True, "array": []}.get(str(kind))


def _text(body: dict[str, Any], script: Script) -> str:
    fmt = (body.get("output_config") or {}).get("format") or body.get("output_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        return json.dumps(_sample(fmt.get("schema")))
    return script.text


def _message(body: dict[str, Any], script: Script, request: FakeRequest, model: str) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": _text(body, script)}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
    }
    if script.usage_mode != "omit":
        payload["usage"] = anthropic_usage(script, request)
    if script.usage_json is not None and not body.get("stream"):
        payload["usage"] = scripted_usage(script)
    return payload


def _events(body: dict[str, Any], script: Script, request: FakeRequest, model: str) -> list[Event]:
    usage = None if script.usage_mode == "omit" else anthropic_usage(script, request)
    start_message = {**_message(body, script, request, model), "content": [], "stop_reason": None}
    if usage is not None:
        # message_start carries the input side; output is a placeholder until message_delta.
        start_message["usage"] = {**usage, "output_tokens": 1}
        start_message["usage"].pop("output_tokens_details", None)
        start_message["usage"].pop("server_tool_use", None)
    events: list[Event] = [
        ("message_start", {"type": "message_start", "message": start_message}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
        ("ping", {"type": "ping"}),
    ]
    for piece in script.pieces():
        events.append(
            (
                "content_block_delta",
                {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}},
            )
        )
    events.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
    delta: dict[str, Any] = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
    }
    if usage is not None:
        # message_delta usage is cumulative; the input side is repeated as the real API does.
        delta["usage"] = {
            key: usage[key]
            for key in (
                "output_tokens",
                "input_tokens",
                "cache_read_input_tokens",
                "cache_creation_input_tokens",
                "output_tokens_details",
                "server_tool_use",
            )
            if key in usage
        }
    events.append(("message_delta", delta))
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _with_stream_error(events: list[Event], script: Script, request: FakeRequest) -> list[Event] | None:
    kind = request.header("x-fake-stream-error")
    if not kind:
        return None
    keep = script.fail_after if script.fail_after is not None else len(events) - 2
    error = {"type": "error", "error": {"type": kind, "message": f"fake {kind}"}}
    return [*events[:keep], ("error", error)]


@scripted(error_response, "max_tokens")
def _first_party(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = script.model or str(body.get("model") or "unknown-model")
    headers = {"request-id": f"req_{uuid.uuid4().hex[:24]}"}
    if not body.get("stream"):
        return FakeResponse.json(_message(body, script, request, model), headers=headers)
    events = _events(body, script, request, model)
    errored = _with_stream_error(events, script, request)
    return FakeResponse.event_stream(errored or events, None if errored else script.fail_after, headers)


# ---- Claude on Bedrock -------------------------------------------------------------------------
_BEDROCK_PREFIX = re.compile(r"^(?:global|us|eu|apac|au|jp|us-gov)\.")
_BEDROCK_VERSION = re.compile(r"-v\d+(?::\d+)?$")


def bedrock_response_model(model_id: str) -> str:
    """What Bedrock reports as ``model`` for an inference profile or model id:
    ``us.anthropic.claude-sonnet-4-5-20250929-v1:0`` -> ``claude-sonnet-4-5-20250929``."""
    base = _BEDROCK_PREFIX.sub("", model_id)
    base = base.removeprefix("anthropic.")
    return _BEDROCK_VERSION.sub("", base)


def _bedrock_error(status: int) -> FakeResponse:
    kind = _BEDROCK_ERRORS.get(status, "InternalServerException")
    return FakeResponse.json(
        {"message": f"fake {kind}"},
        status=status,
        headers={"x-amzn-errortype": f"{kind}:http://internal.amazon.com/coral/"},
    )


def _bedrock_metrics(script: Script) -> dict[str, Any] | None:
    if script.usage_mode == "omit":
        return None
    if script.usage_mode == "malformed":
        return {"inputTokenCount": "lots", "outputTokenCount": None}
    return {
        "inputTokenCount": max(script.input_tokens - script.cached_tokens - script.cache_write_tokens, 0),
        "outputTokenCount": script.output_tokens,
        "invocationLatency": 120,
        "firstByteLatency": 40,
        "cacheReadInputTokenCount": script.cached_tokens,
        "cacheWriteInputTokenCount": script.cache_write_tokens,
    }


def _bedrock_headers(script: Script, request: FakeRequest, metrics: dict[str, Any] | None) -> dict[str, str]:
    """Bedrock's own response headers: request id, service tier, and (InvokeModel) token counts,
    which use Bedrock's accounting (input WITHOUT the cache, like Anthropic's)."""
    headers = {"x-amzn-requestid": str(uuid.uuid4())}
    tier = script.service_tier or request.header("x-amzn-bedrock-service-tier")
    if tier:
        headers["x-amzn-bedrock-service-tier"] = tier
    if metrics is not None:
        headers.update(
            {
                "x-amzn-bedrock-input-token-count": str(metrics["inputTokenCount"]),
                "x-amzn-bedrock-output-token-count": str(metrics["outputTokenCount"]),
                "x-amzn-bedrock-invocation-latency": "120",
            }
        )
        if script.usage_mode == "normal":
            headers.update(
                {
                    "x-amzn-bedrock-cache-read-input-token-count": str(script.cached_tokens),
                    "x-amzn-bedrock-cache-write-input-token-count": str(script.cache_write_tokens),
                }
            )
    return headers


@scripted(_bedrock_error, "max_tokens")
def _bedrock(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    assert request.match is not None
    model = script.model or bedrock_response_model(unquote(request.match.group("model")))
    metrics = _bedrock_metrics(script)
    if request.match.group("op") == "invoke":
        return FakeResponse.json(
            _message(body, script, request, model), headers=_bedrock_headers(script, request, metrics)
        )
    events = _events(body, script, request, model)
    if metrics is not None:
        events[-1][1]["amazon-bedrock-invocationMetrics"] = metrics
    errored = _with_stream_error(events, script, request)
    headers = {
        "content-type": aws_eventstream.CONTENT_TYPE,
        "x-amzn-bedrock-content-type": "application/json",
        **_bedrock_headers(script, request, None),
    }
    return FakeResponse(
        200, _bedrock_frames(errored or events), headers, fail_after=None if errored else script.fail_after
    )


def _bedrock_frames(events: list[Event]) -> Iterator[bytes]:
    for name, payload in events:
        if name == "error":
            yield aws_eventstream.exception_frame(payload["error"]["type"], payload["error"]["message"])
        else:
            yield aws_eventstream.chunk_frame(payload)


# ---- Claude on Vertex AI -----------------------------------------------------------------------
@scripted(error_response, "max_tokens")
def _vertex(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    assert request.match is not None
    model = unquote(request.match.group("model")).replace("@", "-")
    body = {**body, "model": model, "stream": request.match.group("op") == "streamRawPredict"}
    model = script.model or model
    if not body["stream"]:
        return FakeResponse.json(_message(body, script, request, model))
    events = _events(body, script, request, model)
    errored = _with_stream_error(events, script, request)
    return FakeResponse.event_stream(errored or events, None if errored else script.fail_after)


ROUTES: list[Route] = [
    ("POST", r"/v1/messages$", _first_party),
    # Only Claude model ids: other Bedrock models' InvokeModel bodies are another route module's.
    (
        "POST",
        r"/model/(?P<model>[^/]*(?:anthropic|claude)[^/]*)/(?P<op>invoke|invoke-with-response-stream)$",
        _bedrock,
    ),
    (
        "POST",
        r"/projects/[^/]+/locations/[^/]+/publishers/anthropic/models/(?P<model>[^/:]+)"
        r":(?P<op>rawPredict|streamRawPredict)$",
        _vertex,
    ),
]
