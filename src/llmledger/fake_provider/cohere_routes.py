"""Cohere v2 wire format: ``/v2/chat`` (JSON, or SSE when the body says ``"stream": true``) and
``/v2/embed``. Counts are floats, as Cohere sends them. ``billed_units`` is what Cohere bills;
``tokens`` (the raw count, chat template included) is reported a little higher, as the real API
does, so a test can tell which one was used. Cached tokens are reported inside the billed input.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from llmledger.fake_provider.controls import Script, scripted
from llmledger.fake_provider.server import FakeRequest, FakeResponse, Route

TEMPLATE_TOKENS = 7
"""Tokens the chat template adds to the raw count (``usage.tokens``); not billed."""


def error_response(status: int) -> FakeResponse:
    return FakeResponse.json({"id": uuid.uuid4().hex, "message": f"fake error {status}"}, status=status)


def cohere_usage(script: Script) -> dict[str, Any]:
    if script.usage_mode == "malformed":
        return {"billed_units": {"input_tokens": "lots", "output_tokens": 2.5}}
    usage: dict[str, Any] = {
        "billed_units": {"input_tokens": float(script.input_tokens),
                         "output_tokens": float(script.output_tokens)},
        "tokens": {"input_tokens": float(script.input_tokens + TEMPLATE_TOKENS),
                   "output_tokens": float(script.output_tokens)},
    }
    if script.cached_tokens:
        usage["cached_tokens"] = float(script.cached_tokens)
    return usage


@scripted(error_response, "max_tokens")
def _chat(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    ident = str(uuid.uuid4())
    if body.get("stream"):
        return FakeResponse.event_stream(_events(script, ident), script.fail_after)
    payload: dict[str, Any] = {
        "id": ident, "finish_reason": "COMPLETE",
        "message": {"role": "assistant", "content": [{"type": "text", "text": script.text}]},
    }
    if script.usage_mode != "omit":
        payload["usage"] = cohere_usage(script)
    return FakeResponse.json(payload)


def _events(script: Script, ident: str) -> Iterator[tuple[str | None, Any]]:
    yield "message-start", {"type": "message-start", "id": ident,
                            "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "",
                                                  "tool_calls": [], "citations": []}}}
    yield "content-start", {"type": "content-start", "index": 0,
                            "delta": {"message": {"content": {"type": "text", "text": ""}}}}
    for piece in script.pieces():
        yield "content-delta", {"type": "content-delta", "index": 0,
                                "delta": {"message": {"content": {"text": piece}}}}
    yield "content-end", {"type": "content-end", "index": 0}
    end: dict[str, Any] = {"finish_reason": "COMPLETE"}
    if script.usage_mode != "omit":
        end["usage"] = cohere_usage(script)
    yield "message-end", {"type": "message-end", "delta": end}


@scripted(error_response)
def _embed(request: FakeRequest, body: dict[str, Any], script: Script) -> FakeResponse:
    texts = body.get("texts") or []
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()), "response_type": "embeddings_by_type", "texts": texts,
        "embeddings": {"float": [[0.1, -0.2, 0.3] for _ in texts]},
    }
    meta: dict[str, Any] = {"api_version": {"version": "2"}}
    if script.usage_mode == "malformed":
        meta["billed_units"] = {"input_tokens": -1.0}
    elif script.usage_mode != "omit":
        meta["billed_units"] = {"input_tokens": float(script.input_tokens)}
    payload["meta"] = meta
    return FakeResponse.json(payload)


ROUTES: list[Route] = [
    ("POST", r"/v2/chat$", _chat),
    ("POST", r"/v2/embed$", _embed),
]
