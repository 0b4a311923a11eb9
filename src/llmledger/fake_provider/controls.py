"""The ``x-fake-*`` request headers that script the fake provider's answer.

| header | effect |
|---|---|
| ``x-fake-input-tokens`` | total input tokens reported (default: body length / 4) |
| ``x-fake-output-tokens`` | total output tokens reported (default: max_tokens or 16) |
| ``x-fake-cached-tokens`` | cache-read input tokens (inside input) |
| ``x-fake-cache-write-tokens`` | cache-write input tokens (inside input) |
| ``x-fake-cache-write-1h-tokens`` | the part of the cache writes with a one-hour TTL |
| ``x-fake-reasoning-tokens`` | reasoning/thinking output tokens (inside output) |
| ``x-fake-status`` | answer with this HTTP error status (429, 500, ...) |
| ``x-fake-usage`` | ``omit`` (no usage at all) or ``malformed`` (usage with garbage values) |
| ``x-fake-usage-json`` | non-streamed openai/anthropic: the usage value, verbatim JSON (hostile data) |
| ``x-fake-fail-after`` | streams: cut the connection after this many events |
| ``x-fake-chunks`` | streams: number of text chunks (default 3) |
| ``x-fake-model`` | model name to report (default: the requested one) |
| ``x-fake-service-tier`` | service tier to report |
| ``x-fake-raw-usage`` | JSON sent verbatim as a JSON answer's ``usage`` / ``usageMetadata`` |
| ``x-fake-usage-extra`` | OpenAI shapes: a JSON object merged into ``usage`` (e.g. ``{"cost": 0.0012}``) |
| ``x-fake-stream-usage`` | OpenAI chat streams: ``always`` sends the usage chunk even when not asked |
| ``x-fake-tool-arguments`` | OpenAI chat with ``tools``: a call to the forced (or first) tool, these JSON arguments |
| ``x-fake-finish-reason`` | non-streamed OpenAI chat: the finish reason to report (e.g. ``length``) |
Token counts follow the OTel meaning (input includes cache, output includes reasoning); each
provider's route converts them to that provider's own accounting.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmledger.fake_provider.server import FakeRequest, FakeResponse, Handler


@dataclass(frozen=True)
class Script:
    input_tokens: int
    output_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    cache_write_1h_tokens: int = 0
    reasoning_tokens: int = 0
    status: int | None = None
    usage_mode: str = "normal"
    fail_after: int | None = None
    chunks: int = 3
    model: str | None = None
    service_tier: str | None = None
    usage_extra: str | None = None
    """JSON object text merged into an OpenAI-shaped usage object (provider-reported costs)."""
    stream_usage: str | None = None
    usage_json: str | None = None
    tool_arguments: str | None = None
    """OpenAI chat: the JSON arguments of a tool call to answer with (when the request has tools)."""
    finish_reason: str | None = None

    @property
    def text(self) -> str:
        return "Hello from the fake provider."

    def pieces(self) -> list[str]:
        words = ["Hello", " from", " the", " fake", " provider", "."]
        count = max(1, self.chunks)
        return [words[i % len(words)] for i in range(count)]


def _int(request: FakeRequest, name: str, default: int | None) -> int | None:
    value = request.header(name)
    return int(value) if value not in (None, "") else default


def scripted_usage(script: Script) -> Any:
    """The usage a test scripted verbatim (``x-fake-usage-json``), or None."""
    return None if script.usage_json is None else json.loads(script.usage_json)


def count_header(request: FakeRequest, name: str, default: int = 0) -> int:
    """A token count (or other count) header; ``default`` when it is absent or empty."""
    return _int(request, name, default) or 0


def script_for(request: FakeRequest, default_output: int | None = None) -> Script:
    body = request.body
    default_input = max(1, len(body) // 4)
    return Script(
        input_tokens=count_header(request, "x-fake-input-tokens", default_input),
        output_tokens=count_header(request, "x-fake-output-tokens", default_output or 16),
        cached_tokens=count_header(request, "x-fake-cached-tokens"),
        cache_write_tokens=count_header(request, "x-fake-cache-write-tokens"),
        cache_write_1h_tokens=count_header(request, "x-fake-cache-write-1h-tokens"),
        reasoning_tokens=count_header(request, "x-fake-reasoning-tokens"),
        status=_int(request, "x-fake-status", None),
        usage_mode=request.header("x-fake-usage", "normal") or "normal",
        fail_after=_int(request, "x-fake-fail-after", None),
        chunks=_int(request, "x-fake-chunks", 3) or 3,
        model=request.header("x-fake-model"),
        service_tier=request.header("x-fake-service-tier"),
        usage_extra=request.header("x-fake-usage-extra"),
        stream_usage=request.header("x-fake-stream-usage"),
        usage_json=request.header("x-fake-usage-json"),
        tool_arguments=request.header("x-fake-tool-arguments"),
        finish_reason=request.header("x-fake-finish-reason"),
    )


ScriptedHandler = Callable[[FakeRequest, Any, Script], FakeResponse]


def scripted(error: Callable[[int], FakeResponse], *max_tokens: str) -> Callable[[ScriptedHandler], Handler]:
    """A route answered as its request's headers script it: the handler gets the request, its JSON
    body and the script, unless the script asks for an error status, which ``error`` answers in the
    provider's shape. ``max_tokens``: the body fields that default the output tokens, first set first."""

    def decorate(handler: ScriptedHandler) -> Handler:
        @functools.wraps(handler)
        def route(request: FakeRequest) -> FakeResponse:
            body = request.json
            limit = None
            for name in max_tokens:
                limit = limit or body.get(name)
            script = script_for(request, limit)
            if script.status:
                return error(script.status)
            return handler(request, body, script)

        return route

    return decorate

