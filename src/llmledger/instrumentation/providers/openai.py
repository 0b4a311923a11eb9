"""OpenAI SDK (openai 1.x from 1.109, 2.x and 3.x: the same patch targets in all three), including
AzureOpenAI and BedrockOpenAI clients.

Chat completions (``create``/``parse``), Responses (``create``/``parse``), embeddings and legacy
completions, sync and async. ``parse`` bypasses ``create`` in the SDK, so both are patched; the
``.stream()`` helpers go through ``create(stream=True)`` and are covered by it.

The provider is the one the client's base URL points to (:mod:`llmledger.endpoints`: DeepSeek,
OpenRouter, xAI, Azure ... or ``openai_compatible``, unpriced, for endpoints it cannot name). Streamed
chat from OpenAI reports usage only when asked (``stream_options.include_usage``): for endpoints known
to honour that, llmledger asks on the user's behalf and hides the extra usage-only chunk, so the user
sees exactly the chunks they would have seen; elsewhere it reads the usage the server sends.
Raw-response calls (``with_raw_response``/``with_streaming_response``) are sent exactly as the user
made them; reading their body records them (``instrumentation/raw_responses.py``). A
regional-processing host (``eu.api.openai.com``) is a price modifier (``region``).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from llmledger.endpoints import Endpoint, EndpointResolver
from llmledger.instrumentation.adapter import (
    RESPONSE_LOST,
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
)
from llmledger.instrumentation.providers._common import (
    ChatChunksHandler,
    RawResponses,
    chat_completion_info,
    chat_usage,
    int_field,
    raw_mode,
    reported_tier,
    usage_fields,
)
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

logger = logging.getLogger("llmledger.instrumentation.openai")

_CHAT = "openai.resources.chat.completions.completions"
_RESPONSES = "openai.resources.responses.responses"
_EMBEDDINGS = "openai.resources.embeddings"
_LEGACY = "openai.resources.completions"
_REGIONAL_SUFFIX = ".api.openai.com"


def _targets() -> tuple[PatchTarget, ...]:
    targets = []
    for prefix, style in (("", "sync"), ("Async", "async")):
        targets += [
            PatchTarget(_CHAT, f"{prefix}Completions.create", "chat", style, "chat"),  # type: ignore[arg-type]
            PatchTarget(_CHAT, f"{prefix}Completions.parse", "chat", style, "chat"),  # type: ignore[arg-type]
            PatchTarget(_RESPONSES, f"{prefix}Responses.create", "chat", style, "responses"),  # type: ignore[arg-type]
            PatchTarget(_RESPONSES, f"{prefix}Responses.parse", "chat", style, "responses"),  # type: ignore[arg-type]
            PatchTarget(_EMBEDDINGS, f"{prefix}Embeddings.create", "embeddings", style, "embeddings"),  # type: ignore[arg-type]
            PatchTarget(_LEGACY, f"{prefix}Completions.create", "text_completion", style, "completions"),  # type: ignore[arg-type]
        ]
    return tuple(targets)


def processing_region(host: str | None) -> str | None:
    """The region of an OpenAI regional-processing host (``eu.api.openai.com`` -> ``eu``), else None."""
    if host is None or not host.endswith(_REGIONAL_SUFFIX):
        return None
    region = host[: -len(_REGIONAL_SUFFIX)]
    return region if region.isalpha() else None


def responses_usage(usage: Any) -> Usage | None:
    """Responses API usage: cached tokens are inside ``input_tokens``."""
    if usage_fields(usage, "input_tokens", "output_tokens") is None:
        return None
    inputs = getattr(usage, "input_tokens_details", None)
    outputs = getattr(usage, "output_tokens_details", None)
    return Usage(
        input_tokens=int_field(usage, "input_tokens"),
        output_tokens=int_field(usage, "output_tokens"),
        cache_read_tokens=int_field(inputs, "cached_tokens"),
        cache_write_tokens=int_field(inputs, "cache_write_tokens"),
        reasoning_tokens=int_field(outputs, "reasoning_tokens"),
    )


def _responses_info(response: Any, request: RequestInfo) -> ResponseInfo:
    statuses = getattr(response, "status", None)
    usage = getattr(response, "usage", None)
    return _with_provider_cost(ResponseInfo(
        usage=responses_usage(usage),
        response_model=getattr(response, "model", None),
        response_id=getattr(response, "id", None),
        finish_reasons=(statuses,) if isinstance(statuses, str) else (),
        modifiers=reported_tier(getattr(response, "service_tier", None), request.modifiers),
    ), request, usage)


def _with_provider_cost(info: ResponseInfo, request: RequestInfo, usage: Any) -> ResponseInfo:
    """The provider's own bill, for endpoints whose responses carry it."""
    endpoint: Endpoint | None = request.state.get("endpoint")
    if endpoint is not None and endpoint.reported_cost is not None and usage is not None:
        info.provider_cost = endpoint.reported_cost(usage)
    return info


class ChatStreamHandler(ChatChunksHandler):
    """Chat/legacy chunks: usage on the (last) usage chunk; hide it if llmledger asked for it."""

    def __init__(self, request: RequestInfo) -> None:
        super().__init__(request)
        self._hide_usage_chunk = bool(request.state.get("injected_include_usage"))

    def on_chunk(self, chunk: Any) -> bool:
        if self._model is None:
            self._model = getattr(chunk, "model", None)
            self._id = getattr(chunk, "id", None)
            self._tier = getattr(chunk, "service_tier", None)
        choices = chunk.choices
        if choices:
            # one choice per chunk is the rule (n > 1 streams interleave them); indexing it costs less
            # per chunk than a loop, and every chunk pays for this
            reason = choices[0].finish_reason
            if reason:
                self._reasons.append(reason)
            if len(choices) > 1:
                self._reasons.extend(choice.finish_reason for choice in choices[1:] if choice.finish_reason)
            return False
        usage = getattr(chunk, "usage", None)
        if usage is None:
            return False
        self._usage = usage
        return self._hide_usage_chunk

    def result(self) -> ResponseInfo:
        return _with_provider_cost(super().result(), self._request, self._usage)


def _asking_for_usage(kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The call's kwargs asking for the usage chunk; None when they already ask. The user's own
    ``stream_options`` is extended; otherwise the option goes in ``extra_body``, which the SDK merges
    into the request body as is (as an argument it would cost the SDK ~13 µs of type-driven
    transformation per call). Either way the request body is the same."""
    options, body = kwargs.get("stream_options"), kwargs.get("extra_body")
    in_body = body.get("stream_options") if isinstance(body, dict) else None
    if any(isinstance(asked, dict) and asked.get("include_usage") is True for asked in (options, in_body)):
        return None
    if isinstance(options, dict) or not (body is None or isinstance(body, dict)):
        return {**kwargs, "stream_options": {**(options if isinstance(options, dict) else {}), "include_usage": True}}
    extended = {**(in_body if isinstance(in_body, dict) else {}), "include_usage": True}
    return {**kwargs, "extra_body": {**(body or {}), "stream_options": extended}}


_REFUSED_COMPLETION_ERRORS = frozenset({"LengthFinishReasonError", "ContentFilterFinishReasonError"})
_PARSING_MODULES = "openai.lib._parsing"
"""Where ``parse()`` reads a received completion (``_completions.parse_chat_completion(chat_completion=...)``,
``_responses.parse_response(response=...)``): an error raised there is about a billed response."""

_RESPONSE_END_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})


class ResponsesStreamHandler(StreamHandler):
    """Responses events: the final ``response.completed`` (or incomplete/failed) carries usage."""

    def __init__(self, request: RequestInfo) -> None:
        self._final: Any = None
        self._request = request

    def on_chunk(self, chunk: Any) -> bool:
        if getattr(chunk, "type", None) in _RESPONSE_END_EVENTS:
            self._final = chunk.response
        return False

    def result(self) -> ResponseInfo:
        if self._final is None:
            return ResponseInfo()
        return _responses_info(self._final, self._request)


class OpenAIAdapter(RawResponses, ProviderAdapter):
    name = "openai"
    distribution = "openai"
    import_name = "openai"
    supported = ">=1.109.1,<4"  # 1.x, 2.x and 3.x: scripts/matrix.sh (sdk-oldest, sdk-previous)
    targets = _targets()

    def __init__(self, endpoints: EndpointResolver | None = None) -> None:
        self.endpoints = endpoints or EndpointResolver()
        """Names each client's endpoint (the config's ``endpoints:``, genai-prices' URL patterns)."""

    def configured(self, endpoints: EndpointResolver) -> OpenAIAdapter:
        return OpenAIAdapter(endpoints)

    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo:
        endpoint = self.endpoints.for_client(getattr(instance, "_client", None))
        tier = kwargs.get("service_tier")
        region = processing_region(endpoint.address) if endpoint.provider == "openai" else None
        modifiers = PriceModifiers(service_tier=tier) if isinstance(tier, str) else NO_MODIFIERS
        request = RequestInfo(
            provider=endpoint.provider, model=kwargs.get("model"),
            stream=kwargs.get("stream") is True, server_address=endpoint.address, server_port=endpoint.port,
            modifiers=modifiers if region is None else replace(modifiers, region=region))
        raw = raw_mode(kwargs)
        request.state["raw"] = raw
        request.state["endpoint"] = endpoint
        if request.stream and endpoint.stream_usage and target.kind in {"chat", "completions"} and raw is None:
            asking = _asking_for_usage(kwargs)
            if asking is not None:
                request.kwargs = asking
                request.state["injected_include_usage"] = True
        return request

    def body_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        if target.kind == "responses":
            return _responses_info(result, request)
        usage = getattr(result, "usage", None)
        info = chat_completion_info(result, chat_usage(usage),
                                    reported_tier(getattr(result, "service_tier", None), request.modifiers))
        return _with_provider_cost(info, request, usage)

    def error_result(self, target: PatchTarget, request: RequestInfo, error: BaseException) -> Any:
        """``parse()`` refusing the completion it received: ``LengthFinishReasonError`` and
        ``ContentFilterFinishReasonError`` carry it; a content that fails the response format raises
        pydantic's error inside the SDK's parsing module, whose frame holds the completion."""
        if type(error).__name__ in _REFUSED_COMPLETION_ERRORS:
            return getattr(error, "completion", None) or RESPONSE_LOST
        if not isinstance(error, ValueError):
            return None
        traceback = error.__traceback__
        while traceback is not None:
            frame = traceback.tb_frame
            if str(frame.f_globals.get("__name__", "")).startswith(_PARSING_MODULES):
                local = frame.f_locals
                return local.get("chat_completion") or local.get("response") or RESPONSE_LOST
            traceback = traceback.tb_next
        return None

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        if target.kind == "responses":
            return ResponsesStreamHandler(request)
        return ChatStreamHandler(request)


ADAPTER = OpenAIAdapter()
