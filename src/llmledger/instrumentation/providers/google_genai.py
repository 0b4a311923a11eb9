"""Google GenAI SDK (google-genai 2.x from 2.34 and 3.x; 2.x drops Gemini API embedding usage, so
those are no_usage; ``from google import genai``): ``models.generate_content``,
``generate_content_stream`` and ``embed_content``, sync and async (``client.aio``), for the Gemini
API (``gcp.gemini``) and Vertex AI (``gcp.vertex_ai``, a client made with ``vertexai=True``).
Chats (``client.chats.create().send_message(_stream)``) go through these methods and are covered;
with Python tools a chat runs the function-calling loop itself, one ``generate_content`` per round,
so a chat turn is one span per round, each with its own request's usage (their sum is exact).

Usage (``usage_metadata``): ``prompt_token_count`` already includes ``cached_content_token_count``;
``tool_use_prompt_token_count`` is input too and is added; ``thoughts_token_count`` is billed as
output but is NOT inside ``candidates_token_count``, so output = candidates + thoughts and
reasoning = thoughts. Per-modality details price apart: AUDIO prompt tokens, AUDIO cached tokens
(``cache_tokens_details``) and IMAGE/AUDIO candidate tokens. ``traffic_type`` (``ON_DEMAND_FLEX``,
``ON_DEMAND_PRIORITY`` ...) is the price modifier, and the request's ``config.service_tier`` until
the response says otherwise. Streamed chunks carry running totals: the last one counts, never a sum.
Embeddings read ``usage_metadata``, or else the per-embedding ``statistics.token_count`` of Vertex
``predict``.

Automatic function calling and continuation make several HTTP requests per call while the SDK
returns only the last round's usage: ``google_genai_hops.py`` sums them, without extra spans. For
that, the request's hop log is made current around the call (``RequestInfo.around_call``) or
around each step of its stream (``stream_step``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

from llmledger.instrumentation.adapter import (
    MalformedUsage,
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
)
from llmledger.instrumentation.providers._common import client_server, field, int_field, usage_fields
from llmledger.instrumentation.providers.google_genai_hops import HOOKS, HopLog, MadeCurrent
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

_MODELS = "google.genai.models"

TARGETS = (
    PatchTarget(_MODELS, "Models.generate_content", "generate_content", "sync", "generate"),
    PatchTarget(_MODELS, "Models.generate_content_stream", "generate_content", "sync", "stream"),
    PatchTarget(_MODELS, "Models.embed_content", "embeddings", "sync", "embed"),
    PatchTarget(_MODELS, "AsyncModels.generate_content", "generate_content", "async", "generate"),
    PatchTarget(_MODELS, "AsyncModels.generate_content_stream", "generate_content", "async", "stream"),
    PatchTarget(_MODELS, "AsyncModels.embed_content", "embeddings", "async", "embed"),
    *(PatchTarget(_MODELS, qualname, "generate_content", role="hop") for qualname in HOOKS),
)

_BASE_TRAFFIC = frozenset({"ON_DEMAND", "TRAFFIC_TYPE_UNSPECIFIED"})


def _text(value: Any) -> str | None:
    """An SDK enum or a plain string, as its wire string."""
    value = getattr(value, "value", value)
    return value if isinstance(value, str) else None


def normalize_model(model: Any) -> str | None:
    """``models/gemini-2.5-flash``, ``google/gemini-2.5-flash`` or a Vertex resource name ->
    ``gemini-2.5-flash`` (the id prices are keyed on). Tuned models keep their name."""
    if not isinstance(model, str):
        return None
    if model.startswith(("models/", "google/", "publishers/", "projects/")):
        return model.rsplit("/", 1)[-1]
    return model


def _modality_tokens(details: Any, modality: str) -> int:
    if not isinstance(details, list):
        return 0
    return sum(int_field(item, "token_count") for item in details
               if _text(field(item, "modality")) == modality)


def generate_usage(meta: Any) -> Usage | None:
    """``GenerateContentResponseUsageMetadata`` (or an embedding's ``UsageMetadata``) in OTel meaning."""
    if usage_fields(meta) is None:
        return None
    prompt = int_field(meta, "prompt_token_count")
    cached = int_field(meta, "cached_content_token_count")
    if cached > prompt:
        raise MalformedUsage(f"cached_content_token_count={cached} > prompt_token_count={prompt}")
    thoughts = int_field(meta, "thoughts_token_count")
    candidates = int_field(meta, "candidates_token_count") or int_field(meta, "response_token_count")
    return Usage(
        input_tokens=prompt + int_field(meta, "tool_use_prompt_token_count"),
        output_tokens=candidates + thoughts,
        cache_read_tokens=cached,
        reasoning_tokens=thoughts,
        input_audio_tokens=_modality_tokens(field(meta, "prompt_tokens_details"), "AUDIO"),
        cache_read_audio_tokens=_modality_tokens(field(meta, "cache_tokens_details"), "AUDIO"),
        output_audio_tokens=_modality_tokens(field(meta, "candidates_tokens_details"), "AUDIO"),
        output_image_tokens=_modality_tokens(field(meta, "candidates_tokens_details"), "IMAGE"),
    )


def usage_modifiers(meta: Any, request: PriceModifiers) -> PriceModifiers | None:
    traffic = _text(field(meta, "traffic_type"))
    if traffic is None or traffic in _BASE_TRAFFIC:
        tier = _text(field(meta, "service_tier"))  # embeddings report a service tier instead
        if tier is None or tier in {"standard", "unspecified"}:
            return None
        traffic = tier
    return replace(request, service_tier=traffic)


def _sum(usages: list[Usage | None]) -> Usage | None:
    known = [usage for usage in usages if usage is not None]
    if not known:
        return None
    total = known[0]
    for usage in known[1:]:
        total = total + usage
    return total


def _finish_reasons(candidates: Any) -> tuple[str, ...]:
    reasons = []
    for candidate in candidates or ():
        reason = _text(field(candidate, "finish_reason"))
        if reason:
            reasons.append(reason.lower())
    return tuple(reasons)


def _generate_info(response: Any, usages: list[Any], request: RequestInfo) -> ResponseInfo:
    """``usages``: one ``usage_metadata`` per request/round of the call (the response's own if empty)."""
    if not usages:
        usages = [field(response, "usage_metadata")]
    return ResponseInfo(
        usage=_sum([generate_usage(meta) for meta in usages]),
        response_model=normalize_model(field(response, "model_version")),
        response_id=field(response, "response_id"),
        finish_reasons=_finish_reasons(field(response, "candidates")),
        modifiers=usage_modifiers(usages[-1], request.modifiers))


def _embed_info(response: Any, request: RequestInfo) -> ResponseInfo:
    meta = field(response, "usage_metadata")
    usage = generate_usage(meta)
    if usage is None:
        # Vertex ``predict`` embeddings: a token count per embedded text, no usage_metadata.
        statistics = [field(item, "statistics") for item in field(response, "embeddings") or ()]
        if any(field(stats, "token_count") is not None for stats in statistics):
            usage = Usage(input_tokens=sum(int_field(stats, "token_count") for stats in statistics))
    return ResponseInfo(usage=usage, modifiers=usage_modifiers(meta, request.modifiers))


class GenerateContentStreamHandler(StreamHandler):
    """Chunks carry running totals: the log keeps the last ``usage_metadata`` of each AFC round."""

    def __init__(self, request: RequestInfo, log: HopLog) -> None:
        self._request = request
        self._log = log
        self._last: Any = None
        self._reasons: tuple[str, ...] = ()

    def on_chunk(self, chunk: Any) -> bool:
        meta = chunk.usage_metadata
        if meta is not None:
            self._log.note(meta)
        self._last = chunk
        candidates = chunk.candidates
        if candidates and any(candidate.finish_reason for candidate in candidates):
            self._reasons = _finish_reasons(candidates)
        return False

    def result(self) -> ResponseInfo:
        info = _generate_info(self._last, self._log.reported(), self._request)
        info.finish_reasons = self._reasons
        return info


class GoogleGenAIAdapter(ProviderAdapter):
    name = "google_genai"
    distribution = "google-genai"
    import_name = "google.genai"
    supported = ">=2.34.0,<4"  # 2.x and 3.x: scripts/matrix.sh (sdk-previous)
    targets = TARGETS

    def hop_wrapper(self, target: PatchTarget) -> Any:
        return HOOKS[target.qualname]

    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo:
        api_client = getattr(instance, "_api_client", None)
        config = kwargs.get("config")
        base_url = field(field(config, "http_options"), "base_url") or field(
            getattr(api_client, "_http_options", None), "base_url")
        address, port = client_server(base_url)
        tier = _text(field(config, "service_tier"))
        request = RequestInfo(
            provider="gcp.vertex_ai" if getattr(api_client, "vertexai", False) else "gcp.gemini",
            model=normalize_model(kwargs.get("model")), stream=target.kind == "stream",
            server_address=address, server_port=port,
            modifiers=PriceModifiers(service_tier=tier) if tier and tier != "standard" else NO_MODIFIERS)
        if target.kind != "embed":
            log = request.state["hops"] = HopLog()
            if target.kind == "generate":
                request.around_call = MadeCurrent(log)
        return request

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        if target.kind == "embed":
            return _embed_info(result, request)
        log: HopLog = request.state["hops"]
        return _generate_info(result, log.reported() if log.intact else [], request)

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        return GenerateContentStreamHandler(request, request.state.get("hops") or HopLog())

    def stream_step(self, target: PatchTarget, request: RequestInfo) -> Any:
        log = request.state.get("hops")
        return partial(MadeCurrent, log) if log is not None else None


ADAPTER = GoogleGenAIAdapter()
