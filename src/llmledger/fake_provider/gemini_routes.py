"""Gemini wire format, for the Gemini API (``/v1beta/models/{m}:...``, also ``/v1/``) and Vertex AI
(``/v1beta1/projects/{p}/locations/{l}/publishers/google/models/{m}:...``): ``generateContent``
(JSON), ``streamGenerateContent?alt=sse`` (SSE), ``embedContent``, ``batchEmbedContents`` and
Vertex ``predict`` (text-embedding models).

Token counts from the ``x-fake-*`` controls are in OTel meaning and converted to Gemini's
accounting here: ``promptTokenCount`` includes cached tokens but not ``toolUsePromptTokenCount``;
``thoughtsTokenCount`` is NOT inside ``candidatesTokenCount``; ``x-fake-service-tier`` is reported
as ``trafficType``. Extra controls of this module: ``x-fake-tool-use-tokens`` (input tokens spent
on tool results), and ``x-fake-hop-input-tokens`` / ``x-fake-hop-output-tokens`` (comma-separated
per automatic-function-calling hop: hop N is the request whose contents hold N function responses).

When the request declares functions and no function response is in its contents yet, the answer is
a ``functionCall`` of the first declared function (what the SDK's automatic function calling then
runs and answers); otherwise it is text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import unquote

from llmledger.fake_provider.controls import Script, count_header, script_for, scripted
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

_STATUSES = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
             429: "RESOURCE_EXHAUSTED", 500: "INTERNAL", 503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}
_VECTOR = [0.1, -0.2, 0.3, 0.05]


def error_response(status: int) -> FakeResponse:
    name = _STATUSES.get(status, "INTERNAL")
    return FakeResponse.json({"error": {"code": status, "message": f"fake {name}", "status": name}},
                             status=status)


def _function_responses(body: dict[str, Any]) -> int:
    return sum(1 for content in body.get("contents") or [] for part in content.get("parts") or []
               if "functionResponse" in part)


def _hop_script(request: FakeRequest, body: dict[str, Any]) -> Script:
    """The script, with the per-hop token counts of the AFC hop this request is, if scripted."""
    generation = body.get("generationConfig") or {}
    script = script_for(request, generation.get("maxOutputTokens"))
    hop = _function_responses(body)

    def for_hop(header: str, default: int) -> int:
        values = [int(v) for v in (request.header(header) or "").split(",") if v.strip()]
        return values[min(hop, len(values) - 1)] if values else default

    return replace(script, input_tokens=for_hop("x-fake-hop-input-tokens", script.input_tokens),
                   output_tokens=for_hop("x-fake-hop-output-tokens", script.output_tokens))


def gemini_usage(script: Script, request: FakeRequest, final: bool = True,
                 output_so_far: int | None = None) -> dict[str, Any]:
    """``usageMetadata`` in Gemini's accounting. Non-final stream chunks carry a running total
    without the cached/thought counts, as the real API does."""
    if script.usage_mode == "malformed":
        # Values the SDK's pydantic models accept (ints) but that are not token counts.
        return {"promptTokenCount": -5, "candidatesTokenCount": -2, "totalTokenCount": -7}
    tool_use = count_header(request, "x-fake-tool-use-tokens")
    prompt = max(script.input_tokens - tool_use, 0)
    candidates = max(script.output_tokens - script.reasoning_tokens, 0)
    if output_so_far is not None:
        candidates = output_so_far
    usage: dict[str, Any] = {"promptTokenCount": prompt, "candidatesTokenCount": candidates,
                             "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}
    thoughts = script.reasoning_tokens if final else 0
    if final and script.cached_tokens:
        usage["cachedContentTokenCount"] = script.cached_tokens
    if thoughts:
        usage["thoughtsTokenCount"] = thoughts
    if tool_use:
        usage["toolUsePromptTokenCount"] = tool_use
    if final and script.service_tier:
        usage["trafficType"] = script.service_tier
    usage["totalTokenCount"] = prompt + candidates + thoughts + tool_use
    return usage


def _sample(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return None
    kind = str(schema.get("type") or "").lower()
    if kind == "object":
        return {name: _sample(sub) for name, sub in (schema.get("properties") or {}).items()}
    return {"string": "Paris", "integer": 3, "number": 1.5, "boolean": True, "array": []}.get(kind)


def _function_call(body: dict[str, Any]) -> dict[str, Any] | None:
    if _function_responses(body):
        return None
    for tool in body.get("tools") or []:
        for declaration in tool.get("functionDeclarations") or []:
            schema = (declaration.get("parameters") or declaration.get("parametersJsonSchema")
                      or declaration.get("parameters_json_schema"))
            return {"functionCall": {"name": declaration["name"], "args": _sample(schema) or {}}}
    return None


def _model(request: FakeRequest, script: Script) -> str:
    assert request.match is not None
    return script.model or unquote(request.match.group("model"))


def _response(parts: list[dict[str, Any]], model: str, ident: str, finish: str | None,
              usage: dict[str, Any] | None) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    payload: dict[str, Any] = {"candidates": [candidate], "modelVersion": model, "responseId": ident}
    if usage is not None:
        payload["usageMetadata"] = usage
    return payload


def _generate(request: FakeRequest) -> FakeResponse:
    body = request.json
    script = _hop_script(request, body)
    if script.status:
        return error_response(script.status)
    model = _model(request, script)
    ident = uuid.uuid4().hex[:22]
    call = _function_call(body)
    usage = None if script.usage_mode == "omit" else gemini_usage(script, request)
    assert request.match is not None
    if request.match.group("op") == "generateContent":
        parts = [call] if call else [{"text": script.text}]
        return FakeResponse.json(_response(parts, model, ident, "STOP", usage))
    return FakeResponse.event_stream(_chunks(script, request, model, ident, call), script.fail_after)


def _chunks(script: Script, request: FakeRequest, model: str, ident: str,
            call: dict[str, Any] | None) -> Iterator[tuple[str | None, Any]]:
    omit = script.usage_mode == "omit"
    if call:
        yield None, _response([call], model, ident, "STOP", None if omit else gemini_usage(script, request))
        return
    pieces = script.pieces()
    candidates = max(script.output_tokens - script.reasoning_tokens, 0)
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        running = candidates * (index + 1) // len(pieces)
        usage = None if omit else gemini_usage(script, request, final=last, output_so_far=running)
        yield None, _response([{"text": piece}], model, ident, "STOP" if last else None, usage)


def _embed_usage(script: Script) -> dict[str, Any] | None:
    if script.usage_mode == "omit":
        return None
    if script.usage_mode == "malformed":
        return {"promptTokenCount": -5, "totalTokenCount": -5}
    return {"promptTokenCount": script.input_tokens, "totalTokenCount": script.input_tokens}


@scripted(error_response)
def _embed(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    assert request.match is not None
    op = request.match.group("op")
    usage = _embed_usage(script)
    payload: dict[str, Any]
    if op == "embedContent":
        payload = {"embedding": {"values": _VECTOR}, "truncated": False}
    elif op == "batchEmbedContents":
        payload = {"embeddings": [{"values": _VECTOR} for _ in body.get("requests") or [None]]}
    else:  # Vertex ``predict`` (text-embedding-*): per-instance token counts, no usageMetadata
        instances = body.get("instances") or [None]
        share = [script.input_tokens // len(instances)] * len(instances)
        share[0] += script.input_tokens - sum(share)
        predictions = [{"embeddings": {"values": _VECTOR, "statistics": {"token_count": count,
                                                                         "truncated": False}}}
                       for count in share]
        if script.usage_mode == "omit":
            for prediction in predictions:
                del prediction["embeddings"]["statistics"]
        metadata = {"billableCharacterCount": 4 * script.input_tokens}
        return FakeResponse.json({"predictions": predictions, "metadata": metadata})
    if usage is not None:
        payload["usageMetadata"] = usage
    return FakeResponse.json(payload)


_PREFIX = r"(?:/v1[a-z0-9]*/models|/publishers/google/models)/(?P<model>[^/:]+)"

ROUTES: list[Route] = [
    ("POST", _PREFIX + r":(?P<op>generateContent|streamGenerateContent)$", _generate),
    ("POST", _PREFIX + r":(?P<op>embedContent|batchEmbedContents|predict)$", _embed),
]
