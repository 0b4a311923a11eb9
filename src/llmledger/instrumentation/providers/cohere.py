"""Cohere SDK (cohere 7.x, Fern): v2 ``chat``, ``chat_stream`` and ``embed``, sync and async.

Patch layer: the raw client (``cohere.v2.raw_client.RawV2Client`` / ``AsyncRawV2Client``), and
only it. ``cohere.Client.__init__`` binds ``chat``/``chat_stream`` onto each instance, so patching
``V2Client`` would miss every client built before instrumentation; every ``V2Client`` method goes
through the raw client (looked up at call time, also via ``ClientV2``'s combined raw client), which
covers those clients, ``with_raw_response``, and counts each call exactly once.

The raw ``chat``/``embed`` return an ``HttpResponse`` whose ``.data`` is the parsed body. The raw
``chat_stream`` is a context manager: the request starts at ``__enter__``, whose ``HttpResponse.data``
(a property over ``_data``) is the event generator; the generic call wrapper observes it there, so ``.data``
yields the same events through a traced generator.

Usage is ``billed_units`` (what Cohere bills; ``tokens`` also counts the chat template), floats in
the SDK. ``cached_tokens`` is read as a part of the billed input. ``V2ChatResponse`` has no model
field: the request's model stands.
"""

from __future__ import annotations

from typing import Any

from llmledger.instrumentation.adapter import (
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
    StreamPlace,
)
from llmledger.instrumentation.providers._common import client_server, field, int_field, usage_fields
from llmledger.usage import Usage

_RAW = "cohere.v2.raw_client"
_IN_ENTERED_RESPONSE = StreamPlace("manager", "_data")
"""``chat_stream``'s events: the ``_data`` behind the entered ``HttpResponse.data``."""


def cohere_usage(usage: Any) -> Usage | None:
    """A v2 ``Usage`` or an embed ``ApiMeta``: both hold ``billed_units`` and ``cached_tokens``."""
    billed = field(usage_fields(usage), "billed_units")
    if field(billed, "input_tokens") is None and field(billed, "output_tokens") is None:
        return None
    input_tokens = int_field(billed, "input_tokens")
    # Whether Cohere bills cached tokens inside input_tokens is undocumented; reading them as a part
    # of it never bills a token twice (and genai-prices has no Cohere cache rate to apply anyway).
    return Usage(input_tokens=input_tokens, output_tokens=int_field(billed, "output_tokens"),
                 cache_read_tokens=min(int_field(usage, "cached_tokens"), input_tokens))


class CohereStreamHandler(StreamHandler):
    """v2 events: ``message-start`` carries the id, ``message-end`` the finish reason and usage."""

    def __init__(self) -> None:
        self._id: str | None = None
        self._usage: Any = None
        self._reasons: tuple[str, ...] = ()

    def on_chunk(self, chunk: Any) -> bool:
        kind = chunk.type
        if kind == "message-start":
            self._id = chunk.id
        elif kind == "message-end" and chunk.delta is not None:
            self._usage = chunk.delta.usage
            reason = chunk.delta.finish_reason
            self._reasons = (reason,) if isinstance(reason, str) else ()
        return False

    def result(self) -> ResponseInfo:
        return ResponseInfo(usage=cohere_usage(self._usage), response_id=self._id,
                            finish_reasons=self._reasons)


class CohereAdapter(ProviderAdapter):
    name = "cohere"
    distribution = "cohere"
    import_name = "cohere"
    supported = ">=7.3.1,<8"
    targets = (
        PatchTarget(_RAW, "RawV2Client.chat", "chat", "sync", "chat"),
        PatchTarget(_RAW, "RawV2Client.chat_stream", "chat", "sync", "chat_stream"),
        PatchTarget(_RAW, "RawV2Client.embed", "embeddings", "sync", "embed"),
        PatchTarget(_RAW, "AsyncRawV2Client.chat", "chat", "async", "chat"),
        # An asynccontextmanager: calling it is synchronous, the request starts at __aenter__.
        PatchTarget(_RAW, "AsyncRawV2Client.chat_stream", "chat", "sync", "async_chat_stream"),
        PatchTarget(_RAW, "AsyncRawV2Client.embed", "embeddings", "async", "embed"),
    )

    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo:
        address, port = client_server(instance._client_wrapper.get_base_url())
        return RequestInfo(provider="cohere", model=kwargs.get("model"),
                           stream=target.kind.endswith("chat_stream"),
                           server_address=address, server_port=port)

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        data = result.data
        if target.kind == "embed":
            return ResponseInfo(usage=cohere_usage(data.meta), response_id=data.id)
        reason = data.finish_reason
        return ResponseInfo(usage=cohere_usage(data.usage), response_id=data.id,
                            finish_reasons=(reason,) if isinstance(reason, str) else ())

    def stream_place(self, target: PatchTarget, request: RequestInfo, result: Any) -> StreamPlace | None:
        return _IN_ENTERED_RESPONSE if request.stream else None

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        return CohereStreamHandler()


ADAPTER = CohereAdapter()
