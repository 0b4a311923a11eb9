"""Mistral SDK (mistralai 2.x from 2.10 and 3.x, Speakeasy; ``from mistralai.client import Mistral``).

Chat, FIM and agents completions (``complete``/``stream`` and their ``*_async`` twins), embeddings,
and the separate chat/FIM classes of ``MistralAzure`` and ``MistralGCP``. ``parse*`` helpers call
``complete``/``stream`` and are covered by them. Streams report usage on their final chunk without
opt-in (``event.data.usage``).

Usage: ``UsageInfo`` fields default to 0, so a usage object that carries no count at all is treated
as missing (never a fake $0). Cached prompt tokens arrive as the undeclared extra
``prompt_tokens_details.cached_tokens``; Mistral bills them at a discount of the input price, i.e.
they are part of ``prompt_tokens`` (OpenAI's accounting).

Calls through Azure and Vertex AI are billed by those clouds, so they are recorded under the
provider names ``azure.ai.inference`` and ``gcp.vertex_ai`` (OTel GenAI names), not ``mistral_ai``.
"""

from __future__ import annotations

from typing import Any

from llmledger.instrumentation.adapter import (
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
)
from llmledger.instrumentation.providers._common import (
    ChatChunksHandler,
    chat_completion_info,
    chat_usage,
    client_server,
    field,
    reported_tier,
)
from llmledger.usage import Usage


def _provider(module: str) -> str:
    if module.startswith("mistralai.azure."):
        return "azure.ai.inference"
    if module.startswith("mistralai.gcp."):
        return "gcp.vertex_ai"
    return "mistral_ai"


def _completion_targets(module: str, cls: str, operation: str) -> list[PatchTarget]:
    return [
        PatchTarget(module, f"{cls}.complete", operation, "sync", "complete"),
        PatchTarget(module, f"{cls}.complete_async", operation, "async", "complete"),
        PatchTarget(module, f"{cls}.stream", operation, "sync", "stream"),
        PatchTarget(module, f"{cls}.stream_async", operation, "async", "stream"),
    ]


def _targets() -> tuple[PatchTarget, ...]:
    return (
        *_completion_targets("mistralai.client.chat", "Chat", "chat"),
        *_completion_targets("mistralai.client.fim", "Fim", "text_completion"),
        *_completion_targets("mistralai.client.agents", "Agents", "chat"),
        PatchTarget("mistralai.client.embeddings", "Embeddings.create", "embeddings", "sync", "embeddings"),
        PatchTarget("mistralai.client.embeddings", "Embeddings.create_async", "embeddings", "async",
                    "embeddings"),
        *_completion_targets("mistralai.azure.client.chat", "Chat", "chat"),
        *_completion_targets("mistralai.gcp.client.chat", "Chat", "chat"),
        *_completion_targets("mistralai.gcp.client.fim", "Fim", "text_completion"),
    )


_COUNTS = frozenset({"prompt_tokens", "completion_tokens"})
_DETAILS = frozenset({"cached_tokens"})
"""The only detail count Mistral reports (an undeclared ``prompt_tokens_details`` extra)."""


def mistral_usage(usage: Any) -> Usage | None:
    """``UsageInfo``; None when it carries no count (its fields default to 0 when absent)."""
    if usage is None:
        return None
    present = getattr(usage, "model_fields_set", None)
    if present is not None and not (present & _COUNTS):
        return None
    return chat_usage(usage, _DETAILS)


class MistralStreamHandler(ChatChunksHandler):
    """``CompletionEvent``s: model/id from the first chunk, usage (and the tier in it) from the last
    one that has it."""

    def on_chunk(self, chunk: Any) -> bool:
        data = chunk.data
        if self._model is None:
            self._model = data.model
            self._id = data.id
        for choice in data.choices:
            if choice.finish_reason:
                self._reasons.append(str(choice.finish_reason))
        if data.usage is not None:
            self._usage = data.usage
            self._tier = field(data.usage, "service_tier")
        return False

    def read_usage(self, usage: Any) -> Usage | None:
        return mistral_usage(usage)


def _server(instance: Any, kwargs: dict[str, Any]) -> tuple[str | None, int | None]:
    url = kwargs.get("server_url")
    if url is None:
        url = instance.sdk_configuration.get_server_details()[0]
    return client_server(url)


class MistralAdapter(ProviderAdapter):
    name = "mistral"
    distribution = "mistralai"
    import_name = "mistralai.client"
    supported = ">=2.10.1,<4"  # 2.x and 3.x: scripts/matrix.sh (sdk-previous)
    targets = _targets()

    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo:
        # The request's ``service_tier`` ("auto", "standard_only") is a routing wish; the tier that
        # was used (and priced) is the one the response reports in ``usage.service_tier``.
        address, port = _server(instance, kwargs)
        return RequestInfo(provider=_provider(target.module), model=kwargs.get("model"),
                           stream=target.kind == "stream", server_address=address, server_port=port)

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        usage = getattr(result, "usage", None)
        return chat_completion_info(result, mistral_usage(usage),
                                    reported_tier(field(usage, "service_tier"), request.modifiers))

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        return MistralStreamHandler(request)


ADAPTER = MistralAdapter()
