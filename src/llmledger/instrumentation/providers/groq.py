"""Groq SDK (groq 0.x from 0.37 and 1.x, Stainless like openai): chat completions and embeddings, sync and async.

Streams need no opt-in: Groq puts the usage of a streamed call on its final chunk, in
``chunk.x_groq.usage`` (``chunk.usage`` too if the caller asked for ``include_usage`` via
``extra_body``), so nothing is added to the request and the user sees exactly Groq's chunks.
Token accounting is OpenAI's: cached tokens are inside ``prompt_tokens`` and reasoning tokens
inside ``completion_tokens``. Raw-response calls are recorded when their body is read
(``instrumentation/raw_responses.py``).
As with openai, a ``with_raw_response`` first accessed before instrumentation keeps the unpatched
``create`` it bound then (a Stainless ``cached_property``); clients themselves are always covered.
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
    RawResponses,
    chat_completion_info,
    chat_usage,
    client_server,
    raw_mode,
    reported_tier,
)
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

_CHAT = "groq.resources.chat.completions"
_EMBEDDINGS = "groq.resources.embeddings"

_DETAILS = frozenset({"cached_tokens", "reasoning_tokens"})
"""The detail counts Groq's ``CompletionUsage`` declares."""


def groq_usage(usage: Any) -> Usage | None:
    """``CompletionUsage`` (chat) or the embeddings ``Usage`` (``prompt_tokens`` only)."""
    return chat_usage(usage, _DETAILS)


class GroqStreamHandler(ChatChunksHandler):
    """Chat chunks: model/id from the first, finish reasons as they come, usage on the last."""

    def on_chunk(self, chunk: Any) -> bool:
        if self._model is None:
            self._model = chunk.model
            self._id = chunk.id
        for choice in chunk.choices:
            if choice.finish_reason:
                self._reasons.append(choice.finish_reason)
        x_groq = chunk.x_groq
        usage = (x_groq.usage if x_groq is not None else None) or chunk.usage
        if usage is not None:
            self._usage = usage
        return False

    def read_usage(self, usage: Any) -> Usage | None:
        return groq_usage(usage)


class GroqAdapter(RawResponses, ProviderAdapter):
    raw_parsed_mode = "raw"
    name = "groq"
    distribution = "groq"
    import_name = "groq"
    supported = ">=0.37.1,<2"  # 0.x and 1.x: scripts/matrix.sh (sdk-previous)
    targets = (
        PatchTarget(_CHAT, "Completions.create", "chat", "sync", "chat"),
        PatchTarget(_CHAT, "AsyncCompletions.create", "chat", "async", "chat"),
        PatchTarget(_EMBEDDINGS, "Embeddings.create", "embeddings", "sync", "embeddings"),
        PatchTarget(_EMBEDDINGS, "AsyncEmbeddings.create", "embeddings", "async", "embeddings"),
    )

    def request_info(
        self, target: PatchTarget, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> RequestInfo:
        address, port = client_server(getattr(getattr(instance, "_client", None), "base_url", None))
        tier = kwargs.get("service_tier")
        request = RequestInfo(
            provider="groq",
            model=kwargs.get("model"),
            stream=kwargs.get("stream") is True,
            server_address=address,
            server_port=port,
            modifiers=PriceModifiers(service_tier=tier) if isinstance(tier, str) else NO_MODIFIERS,
        )
        request.state["raw"] = raw_mode(kwargs)
        return request

    def body_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        return chat_completion_info(result, groq_usage(getattr(result, "usage", None)),
                                    reported_tier(getattr(result, "service_tier", None), request.modifiers))

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        return GroqStreamHandler(request)


ADAPTER = GroqAdapter()
