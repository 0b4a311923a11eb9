"""Small helpers shared by the provider adapters: robust field reading from SDK objects, the
Stainless raw-response marker, response-reported service tiers, and the OpenAI chat-completion
shapes that openai, groq and mistral share (same fields, same token accounting)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from llmledger.instrumentation.adapter import (
    RAW_BODY,
    STREAM_IS_RESULT,
    MalformedUsage,
    PatchTarget,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
    StreamPlace,
)
from llmledger.instrumentation.raw_responses import read_body
from llmledger.usage import PriceModifiers, Usage

__all__ = [
    "OPENAI_DETAILS", "RAW_RESPONSE_HEADER", "ChatChunksHandler", "MalformedUsage", "RawResponses",
    "chat_completion_info", "chat_usage", "client_server", "field", "finish_reasons", "int_field",
    "raw_mode", "reported_tier", "usage_fields",
]

RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"


def field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``; None when absent (SDK models, dicts and None alike)."""
    if obj is None:
        return None
    if type(obj) is dict:  # the common cases first: ABC isinstance checks cost on every call
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        if isinstance(obj, Mapping):
            return obj.get(name)
        extra = getattr(obj, "model_extra", None)  # pydantic models keep undeclared fields here
        if type(extra) is dict:
            return extra.get(name)
    return value


def int_field(obj: Any, name: str) -> int:
    """A token count: 0 when absent; MalformedUsage when present but not a count."""
    return _count(field(obj, name), name) or 0


def _count(value: Any, name: str) -> int | None:
    """``value`` as a token count; None when absent; MalformedUsage when it is not a count."""
    if value is None:
        return None
    if type(value) is int:
        if value < 0:
            raise MalformedUsage(f"{name}={value!r}")
        return value
    if isinstance(value, bool):
        raise MalformedUsage(f"{name}={value!r}")
    if isinstance(value, int) and value >= 0:  # an int subclass (not bool)
        return int(value)
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise MalformedUsage(f"{name}={value!r}")


_NOT_A_USAGE = (str, bytes, bytearray, bool, int, float, list, tuple, set, frozenset)


def usage_fields(usage: Any, *required: str) -> Any:
    """``usage`` when it is an object with fields (a mapping or an SDK model) holding every count in
    ``required`` (those the provider always sends); MalformedUsage otherwise. A usage of ``"lots"``
    or ``[1, 2]``, or one without its input count, is not a usage of zero tokens (issue 18)."""
    if usage is None:
        return None
    if isinstance(usage, _NOT_A_USAGE):
        raise MalformedUsage(f"usage={usage!r:.80}")
    for name in required:
        if field(usage, name) is None:
            raise MalformedUsage(f"usage without {name}")
    return usage


def client_server(base_url: Any) -> tuple[str | None, int | None]:
    """(host, port) of a client's base URL, for ``server.address``/``server.port``."""
    if base_url is None:
        return None, None
    return _host_port(str(base_url))


@functools.lru_cache(maxsize=256)
def _host_port(url: str) -> tuple[str | None, int | None]:
    # A client's base URL hardly ever changes: parse it once, not on every call.
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
        return parts.hostname, port
    except ValueError:
        return None, None


def finish_reasons(choices: Any) -> tuple[str, ...]:
    if not choices:
        return ()
    reasons = []
    for choice in choices:
        reason = field(choice, "finish_reason")
        if isinstance(reason, str):
            reasons.append(reason)
    return tuple(reasons)


def raw_mode(kwargs: dict[str, Any]) -> str | None:
    """The ``X-Stainless-Raw-Response`` value that ``with_raw_response`` (``"true"`` in openai, ``"raw"``
    in anthropic and groq) or ``with_streaming_response`` (``"stream"``) put in ``extra_headers``."""
    headers = kwargs.get("extra_headers")
    mode = headers.get(RAW_RESPONSE_HEADER) if isinstance(headers, Mapping) else None
    return mode if isinstance(mode, str) else None


def _async_parse(result: Any) -> bool:
    return inspect.iscoroutinefunction(getattr(result, "parse", None))


class RawResponses:
    """For Stainless SDKs (openai, anthropic, groq): ``with_raw_response``/``with_streaming_response``
    calls return the HTTP response, whose body is the user's. ``request_info`` stores
    ``raw_mode(kwargs)`` in ``request.state["raw"]``; adapters implement ``body_info`` (a parsed
    body) and this mixin answers the rest: a ``with_raw_response`` body the SDK has already read and
    parsed (sync, not streamed) is read at once from its cached ``parse()``; any other raw response
    is observed until the user reads its body (``RAW_BODY``)."""

    raw_parsed_mode = "true"
    """The header value of the SDK's ``with_raw_response`` (its parsed body is cached)."""

    def _read_now(self, request: RequestInfo, result: Any) -> bool:
        return request.state["raw"] == self.raw_parsed_mode and not request.stream and not _async_parse(result)

    def stream_place(self, target: PatchTarget, request: RequestInfo, result: Any) -> StreamPlace | None:
        if not request.state.get("raw"):
            return STREAM_IS_RESULT if request.stream else None
        return None if self._read_now(request, result) else RAW_BODY

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        if request.state.get("raw"):
            try:
                result = result.parse()  # cached by the SDK: the user's parse() returns the same object
            except Exception:
                # The SDK's structured-output parser refused the content (invalid JSON for the schema,
                # LengthFinishReasonError ...): the user's parse() raises it too, but the tokens were
                # billed. Read the usage from the JSON body the SDK has already read.
                body = read_body(result)
                if body is None:
                    raise
                result = body
        return self.body_info(target, request, result)

    def body_info(self, target: PatchTarget, request: RequestInfo, body: Any) -> ResponseInfo:
        raise NotImplementedError


def reported_tier(tier: Any, fallback: PriceModifiers) -> PriceModifiers:
    """The request's modifiers, with the service tier the response reports when it names another."""
    if isinstance(tier, str) and tier and tier != fallback.service_tier:
        return replace(fallback, service_tier=tier)
    return fallback


# ---- OpenAI chat completions, as openai, groq and mistral return them -----------------------------
OPENAI_DETAILS = frozenset({"cached_tokens", "cache_write_tokens", "audio_tokens", "reasoning_tokens"})
"""The counts of ``prompt_tokens_details`` / ``completion_tokens_details`` that OpenAI reports."""


def chat_usage(usage: Any, details: frozenset[str] = OPENAI_DETAILS) -> Usage | None:
    """Chat / legacy completions usage: cached tokens are inside ``prompt_tokens``, reasoning tokens
    inside ``completion_tokens``. ``details``: the detail counts the provider documents; no other is
    read (each one prices differently). The details may be SDK models or (mistral) undeclared dicts.
    ``prompt_tokens`` is always sent; ``completion_tokens`` too, except by embeddings, whose
    ``total_tokens`` equals their prompt tokens."""
    if usage_fields(usage) is None:
        return None
    prompt_tokens = _count(field(usage, "prompt_tokens"), "prompt_tokens")
    if prompt_tokens is None:
        raise MalformedUsage("usage without prompt_tokens")
    completion_tokens = _count(field(usage, "completion_tokens"), "completion_tokens")
    if completion_tokens is None and field(usage, "total_tokens") != prompt_tokens:
        raise MalformedUsage("usage without completion_tokens")
    prompt = field(usage, "prompt_tokens_details")
    completion = field(usage, "completion_tokens_details")
    # Detail objects are read only when present, each count only when the provider documents it.
    cached = written = input_audio = reasoning = output_audio = 0
    if prompt is not None:
        if "cached_tokens" in details:
            cached = int_field(prompt, "cached_tokens")
        if "cache_write_tokens" in details:
            written = int_field(prompt, "cache_write_tokens")
        if "audio_tokens" in details:
            input_audio = int_field(prompt, "audio_tokens")
    if completion is not None:
        if "reasoning_tokens" in details:
            reasoning = int_field(completion, "reasoning_tokens")
        if "audio_tokens" in details:
            output_audio = int_field(completion, "audio_tokens")
    return Usage(
        input_tokens=prompt_tokens, output_tokens=completion_tokens or 0, cache_read_tokens=cached,
        cache_write_tokens=written, input_audio_tokens=input_audio, reasoning_tokens=reasoning,
        output_audio_tokens=output_audio,
    )


def chat_completion_info(response: Any, usage: Usage | None, modifiers: PriceModifiers) -> ResponseInfo:
    """A non-streamed chat completion: model, id and finish reasons, with the usage and modifiers read
    where the SDK keeps them."""
    return ResponseInfo(
        usage=usage,
        response_model=getattr(response, "model", None),
        response_id=getattr(response, "id", None),
        finish_reasons=finish_reasons(getattr(response, "choices", None)),
        modifiers=modifiers,
    )


class ChatChunksHandler(StreamHandler):
    """What a chat-completion stream handler keeps, and the ResponseInfo it makes of it. Subclasses
    read their chunks in ``on_chunk``: each SDK puts the model, usage and tier somewhere else."""

    def __init__(self, request: RequestInfo) -> None:
        self._request = request
        self._usage: Any = None
        self._model: str | None = None
        self._id: str | None = None
        self._reasons: list[str] = []
        self._tier: Any = None

    def read_usage(self, usage: Any) -> Usage | None:
        return chat_usage(usage)

    def result(self) -> ResponseInfo:
        return ResponseInfo(
            usage=self.read_usage(self._usage), response_model=self._model, response_id=self._id,
            finish_reasons=tuple(self._reasons), modifiers=reported_tier(self._tier, self._request.modifiers))
