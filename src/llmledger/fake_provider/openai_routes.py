"""OpenAI wire format: chat completions (JSON and SSE), Responses (JSON and SSE), embeddings,
legacy completions, and the same under Azure's ``/openai/deployments/{name}/...`` paths."""

from __future__ import annotations

import base64
import json
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

from llmledger.fake_provider.controls import Script, scripted, scripted_usage
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

_ERRORS = {400: "invalid_request_error", 401: "authentication_error", 429: "rate_limit_exceeded",
           500: "server_error", 503: "service_unavailable"}


def error_response(status: int) -> FakeResponse:
    kind = _ERRORS.get(status, "server_error")
    return FakeResponse.json({"error": {"message": f"fake {kind}", "type": kind, "code": kind,
                                        "param": None}}, status=status)


def _model(request: FakeRequest, body: dict[str, Any], script: Script) -> str:
    if script.model:
        return script.model
    if request.match is not None and request.match.groupdict().get("deployment"):
        return str(body.get("model") or request.match.group("deployment"))
    return str(body.get("model") or "unknown-model")


def chat_usage(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":
        return {"prompt_tokens": "lots", "completion_tokens": {"n": 3}, "total_tokens": None}
    return {
        **usage_extra(script),
        "prompt_tokens": script.input_tokens,
        "completion_tokens": script.output_tokens,
        "total_tokens": script.input_tokens + script.output_tokens,
        "prompt_tokens_details": {"cached_tokens": script.cached_tokens,
                                  "cache_write_tokens": script.cache_write_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": script.reasoning_tokens, "audio_tokens": 0,
                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
    }


def usage_extra(script: Script) -> dict[str, Any]:
    """Fields some providers add to OpenAI's usage object (OpenRouter ``cost``, xAI ``cost_in_usd_ticks``)."""
    return dict(json.loads(script.usage_extra)) if script.usage_extra else {}


def include_usage(body: dict[str, Any]) -> bool:
    """Whether a streamed request asked for the usage-only chunk (``stream_options.include_usage``)."""
    return bool((body.get("stream_options") or {}).get("include_usage"))


@scripted(error_response, "max_completion_tokens", "max_tokens")
def _chat(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = _model(request, body, script)
    ident = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    tier = script.service_tier or body.get("service_tier") or "default"
    if body.get("stream"):
        usage_chunk = include_usage(body) or script.stream_usage == "always"
        return FakeResponse.event_stream(_chat_chunks(script, model, ident, created, tier, usage_chunk),
                                         script.fail_after)
    tool = _tool_call(body, script)
    message: dict[str, Any] = {"role": "assistant", "content": script.text, "refusal": None}
    if tool is not None:
        message = {"role": "assistant", "content": None, "refusal": None, "tool_calls": [tool]}
    payload: dict[str, Any] = {
        "id": ident, "object": "chat.completion", "created": created, "model": model,
        "service_tier": tier, "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "finish_reason": script.finish_reason or ("stop" if tool is None else "tool_calls"),
                     "logprobs": None, "message": message}],
    }
    if script.usage_mode != "omit":
        payload["usage"] = chat_usage(script) if script.usage_json is None else scripted_usage(script)
    return FakeResponse.json(payload)


def _tool_call(body: dict[str, Any], script: Script) -> dict[str, Any] | None:
    """A call to the tool the request forces (``tool_choice``), else its first, with the scripted
    arguments; None unless the request has tools and the script gives arguments."""
    tools = body.get("tools") or []
    if script.tool_arguments is None or not tools:
        return None
    choice = body.get("tool_choice")
    forced = choice.get("function", {}).get("name") if isinstance(choice, dict) else None
    name = forced or tools[0].get("function", {}).get("name", "tool")
    return {"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
            "function": {"name": name, "arguments": script.tool_arguments}}


def _chat_chunks(script: Script, model: str, ident: str, created: int, tier: str,
                 include_usage: bool) -> Iterator[tuple[str | None, Any]]:
    def chunk(delta: dict[str, Any], finish: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": ident, "object": "chat.completion.chunk", "created": created, "model": model,
            "service_tier": tier, "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        }
        if include_usage:
            payload["usage"] = None
        return payload

    yield None, chunk({"role": "assistant", "content": ""}, None)
    for piece in script.pieces():
        yield None, chunk({"content": piece}, None)
    yield None, chunk({}, "stop")
    if include_usage and script.usage_mode != "omit":
        yield None, {**chunk({}, None), "choices": [], "usage": chat_usage(script)}
    yield None, "[DONE]"


def _responses_usage(script: Script) -> dict[str, Any] | None:
    if script.usage_mode == "omit":
        return None
    if script.usage_mode == "malformed":
        return {"input_tokens": -5, "output_tokens": "many", "total_tokens": 0}
    return {
        **usage_extra(script),
        "input_tokens": script.input_tokens,
        "input_tokens_details": {"cached_tokens": script.cached_tokens,
                                 "cache_write_tokens": script.cache_write_tokens},
        "output_tokens": script.output_tokens,
        "output_tokens_details": {"reasoning_tokens": script.reasoning_tokens},
        "total_tokens": script.input_tokens + script.output_tokens,
    }


def _response_object(script: Script, model: str, ident: str, status: str, tier: str,
                     with_output: bool) -> dict[str, Any]:
    output = []
    if with_output:
        output = [{"type": "message", "id": f"msg_{ident[5:]}", "status": "completed",
                   "role": "assistant",
                   "content": [{"type": "output_text", "text": script.text, "annotations": [],
                                "logprobs": []}]}]
    return {
        "id": ident, "object": "response", "created_at": int(time.time()), "status": status,
        "model": model, "output": output, "parallel_tool_calls": True, "tool_choice": "auto",
        "tools": [], "service_tier": tier, "error": None, "incomplete_details": None,
        "usage": _responses_usage(script) if status == "completed" else None,
    }


@scripted(error_response, "max_output_tokens")
def _responses(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = _model(request, body, script)
    ident = f"resp_{uuid.uuid4().hex[:24]}"
    tier = script.service_tier or body.get("service_tier") or "default"
    if body.get("stream"):
        return FakeResponse.event_stream(_response_events(script, model, ident, tier), script.fail_after)
    return FakeResponse.json(_response_object(script, model, ident, "completed", tier, True))


def _response_events(script: Script, model: str, ident: str, tier: str) -> Iterator[tuple[str, Any]]:
    seq = iter(range(1_000_000))
    item_id = f"msg_{ident[5:]}"
    started = _response_object(script, model, ident, "in_progress", tier, False)
    yield "response.created", {"type": "response.created", "sequence_number": next(seq),
                               "response": started}
    yield "response.in_progress", {"type": "response.in_progress", "sequence_number": next(seq),
                                   "response": started}
    item = {"type": "message", "id": item_id, "status": "in_progress", "role": "assistant", "content": []}
    yield "response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                         "item": item, "sequence_number": next(seq)}
    part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
    yield "response.content_part.added", {"type": "response.content_part.added", "item_id": item_id,
                                          "output_index": 0, "content_index": 0, "part": part,
                                          "sequence_number": next(seq)}
    for piece in script.pieces():
        yield "response.output_text.delta", {"type": "response.output_text.delta", "item_id": item_id,
                                             "output_index": 0, "content_index": 0, "delta": piece,
                                             "logprobs": [], "sequence_number": next(seq)}
    text = "".join(script.pieces())
    yield "response.output_text.done", {"type": "response.output_text.done", "item_id": item_id,
                                        "output_index": 0, "content_index": 0, "text": text,
                                        "logprobs": [], "sequence_number": next(seq)}
    done_part = {**part, "text": text}
    yield "response.content_part.done", {"type": "response.content_part.done", "item_id": item_id,
                                         "output_index": 0, "content_index": 0, "part": done_part,
                                         "sequence_number": next(seq)}
    done_item = {**item, "status": "completed", "content": [done_part]}
    yield "response.output_item.done", {"type": "response.output_item.done", "output_index": 0,
                                        "item": done_item, "sequence_number": next(seq)}
    final = _response_object(script, model, ident, "completed", tier, False)
    final["output"] = [done_item]
    yield "response.completed", {"type": "response.completed", "sequence_number": next(seq),
                                 "response": final}


@scripted(error_response)
def _embeddings(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) and inputs and not isinstance(inputs[0], int) else 1
    vector = [0.1, -0.2, 0.3, 0.05]
    data = []
    for index in range(count):
        embedding: Any = vector
        if body.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    payload: dict[str, Any] = {"object": "list", "data": data, "model": _model(request, body, script)}
    if script.usage_mode != "omit":
        payload["usage"] = {"prompt_tokens": script.input_tokens, "total_tokens": script.input_tokens}
    return FakeResponse.json(payload)


@scripted(error_response, "max_tokens")
def _completions(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = _model(request, body, script)
    ident = f"cmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())

    def completion(choices: list[dict[str, Any]]) -> dict[str, Any]:
        return {"id": ident, "object": "text_completion", "created": created, "model": model, "choices": choices}

    def choice(text: str, finish: str | None) -> dict[str, Any]:
        return {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}

    if body.get("stream"):
        def events() -> Iterator[tuple[str | None, Any]]:
            for piece in script.pieces():
                yield None, completion([choice(piece, None)])
            yield None, completion([choice("", "stop")])
            if include_usage(body) and script.usage_mode != "omit":
                yield None, {**completion([]), "usage": chat_usage(script)}
            yield None, "[DONE]"
        return FakeResponse.event_stream(events(), script.fail_after)
    payload = completion([choice(script.text, "stop")])
    if script.usage_mode != "omit":
        payload["usage"] = chat_usage(script) if script.usage_json is None else scripted_usage(script)
    return FakeResponse.json(payload)


ROUTES: list[Route] = [
    ("POST", r"/deployments/(?P<deployment>[^/]+)/chat/completions$", _chat),
    ("POST", r"/deployments/(?P<deployment>[^/]+)/embeddings$", _embeddings),
    ("POST", r"/deployments/(?P<deployment>[^/]+)/completions$", _completions),
    ("POST", r"/v1/chat/completions$", _chat),
    ("POST", r"/v1/responses$", _responses),
    ("POST", r"/v1/embeddings$", _embeddings),
    ("POST", r"/v1/completions$", _completions),
]
