"""Groq wire format (OpenAI-compatible under ``/openai/v1``): chat completions (JSON and SSE) and
embeddings. Streams carry their usage on the final chunk in ``x_groq.usage`` without any opt-in;
``stream_options.include_usage`` adds OpenAI's extra usage-only chunk on top.

The patterns are anchored at ``/openai/v1`` and this module is listed before ``openai_routes`` in
``ROUTE_MODULES``: OpenAI's ``/v1/chat/completions$`` would match Groq's paths as well.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from llmledger.fake_provider.controls import Script, scripted
from llmledger.fake_provider.openai_routes import error_response, include_usage
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route


def groq_usage(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":
        return {"prompt_tokens": "lots", "completion_tokens": -2, "total_tokens": None}
    usage: dict[str, Any] = {
        "queue_time": 0.01,
        "prompt_tokens": script.input_tokens,
        "prompt_time": 0.02,
        "completion_tokens": script.output_tokens,
        "completion_time": 0.03,
        "total_tokens": script.input_tokens + script.output_tokens,
        "total_time": 0.05,
    }
    if script.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": script.cached_tokens}
    if script.reasoning_tokens:
        usage["completion_tokens_details"] = {"reasoning_tokens": script.reasoning_tokens}
    return usage


@scripted(error_response, "max_completion_tokens", "max_tokens")
def _chat(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    model = script.model or str(body.get("model"))
    ident = f"chatcmpl-{uuid.uuid4()}"
    request_id = f"req_{uuid.uuid4().hex[:26]}"
    tier = script.service_tier or body.get("service_tier") or "on_demand"
    if body.get("stream"):
        return FakeResponse.event_stream(_chunks(script, model, ident, request_id, include_usage(body)),
                                         script.fail_after)
    payload: dict[str, Any] = {
        "id": ident,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": script.text},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "system_fingerprint": "fp_fake",
        "service_tier": tier,
        "x_groq": {"id": request_id, "usage": {"dram_cached_tokens": 0, "sram_cached_tokens": 0}},
    }
    if script.usage_mode != "omit":
        payload["usage"] = groq_usage(script)
    return FakeResponse.json(payload)


def _chunks(
    script: Script, model: str, ident: str, request_id: str, include_usage: bool
) -> Iterator[tuple[str | None, Any]]:
    created = int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None, x_groq: dict[str, Any] | None) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "id": ident,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": "fp_fake",
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if x_groq is not None:
            payload["x_groq"] = x_groq
        return payload

    yield None, chunk({"role": "assistant", "content": ""}, None, {"id": request_id})
    for piece in script.pieces():
        yield None, chunk({"content": piece}, None, None)
    final_x_groq: dict[str, Any] = {"id": request_id}
    if script.usage_mode != "omit":
        final_x_groq["usage"] = groq_usage(script)
    yield None, chunk({}, "stop", final_x_groq)
    if include_usage and script.usage_mode != "omit":
        yield None, {**chunk({}, None, None), "choices": [], "usage": groq_usage(script)}
    yield None, "[DONE]"


@scripted(error_response)
def _embeddings(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    inputs = body.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    payload: dict[str, Any] = {
        "object": "list",
        "model": script.model or str(body.get("model")),
        "data": [{"object": "embedding", "index": i, "embedding": [0.1, -0.2, 0.3]} for i in range(count)],
    }
    if script.usage_mode != "omit":
        payload["usage"] = {"prompt_tokens": script.input_tokens, "total_tokens": script.input_tokens}
    return FakeResponse.json(payload)


ROUTES: list[Route] = [
    ("POST", r"^/openai/v1/chat/completions$", _chat),
    ("POST", r"^/openai/v1/embeddings$", _embeddings),
]
