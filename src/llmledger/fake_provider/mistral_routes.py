"""Mistral wire format: chat, FIM and agents completions (JSON and SSE), embeddings, the Azure
``/models/chat/completions`` endpoint and Vertex AI's ``publishers/mistralai/...:rawPredict``.

Mistral shares OpenAI's ``/v1/chat/completions`` path, so its clients point at ``{url}/mistral``
(and Azure's at the same prefix): these anchored routes are listed before ``openai_routes``.
Streams carry usage on their final chunk without opt-in; cached prompt tokens come as the
undeclared ``usage.prompt_tokens_details.cached_tokens`` (inside ``prompt_tokens``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from llmledger.fake_provider.controls import Script, scripted
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

AGENT_MODEL = "mistral-medium-2508"
"""The model the fake's agents run on (an agents request names an agent, not a model)."""


def error_response(status: int) -> FakeResponse:
    return FakeResponse.json({"object": "error", "message": f"fake error {status}", "type": "fake_error",
                              "param": None, "code": str(status)}, status=status)


def mistral_usage(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":
        return {"prompt_tokens": -4, "completion_tokens": 2, "total_tokens": 0}
    usage: dict[str, Any] = {"prompt_tokens": script.input_tokens, "completion_tokens": script.output_tokens,
                             "total_tokens": script.input_tokens + script.output_tokens}
    if script.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": script.cached_tokens}
    if script.service_tier:
        usage["service_tier"] = script.service_tier
    return usage


def _model(request: FakeRequest, body: dict[str, Any], script: Script) -> str:
    if script.model:
        return script.model
    if request.match is not None and request.match.groupdict().get("model"):
        return request.match.group("model")
    return str(body.get("model") or AGENT_MODEL)


def _sample(schema: Any, text: str) -> Any:
    """A value that fits a (simple, strict) JSON schema, so that ``chat.parse`` has JSON to parse."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind == "object":
        return {name: _sample(sub, text) for name, sub in (schema.get("properties") or {}).items()}
    return {"string": text, "integer": 1, "number": 1.5, "boolean": True, "array": []}.get(str(kind))


def _content(body: dict[str, Any], script: Script) -> str:
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return json.dumps(_sample(response_format["json_schema"]["schema"], script.text))
    return script.text


@scripted(error_response, "max_tokens")
def _completion(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = _model(request, body, script)
    ident = uuid.uuid4().hex
    if body.get("stream"):
        return FakeResponse.event_stream(_chunks(script, model, ident), script.fail_after)
    # Mistral's non-streamed responses always carry usage ("omit" sends an empty object).
    usage = {} if script.usage_mode == "omit" else mistral_usage(script)
    return FakeResponse.json({
        "id": ident, "object": "chat.completion", "model": model, "created": int(time.time()), "usage": usage,
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": _content(body, script), "tool_calls": None}}],
    })


def _chunks(script: Script, model: str, ident: str) -> Iterator[tuple[str | None, Any]]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield None, chunk({"role": "assistant", "content": ""}, None)
    for piece in script.pieces():
        yield None, chunk({"content": piece}, None)
    last = chunk({"content": ""}, "stop")
    if script.usage_mode != "omit":
        last["usage"] = mistral_usage(script)
    yield None, last
    yield None, "[DONE]"


@scripted(error_response)
def _embeddings(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    usage = {} if script.usage_mode == "omit" else {**mistral_usage(script), "completion_tokens": 0}
    return FakeResponse.json({
        "id": uuid.uuid4().hex, "object": "list", "model": _model(request, body, script), "usage": usage,
        "data": [{"object": "embedding", "index": i, "embedding": [0.1, -0.2, 0.3]} for i in range(count)],
    })


ROUTES: list[Route] = [
    ("POST", r"^/mistral/v1/chat/completions$", _completion),
    ("POST", r"^/mistral/v1/fim/completions$", _completion),
    ("POST", r"^/mistral/v1/agents/completions$", _completion),
    ("POST", r"^/mistral/v1/embeddings$", _embeddings),
    ("POST", r"^/mistral/models/chat/completions$", _completion),
    ("POST", r"/publishers/mistralai/models/(?P<model>[^/:]+):(?:rawPredict|streamRawPredict)$", _completion),
]
