"""AWS Bedrock Runtime through boto3/botocore (and aiobotocore when installed).

botocore builds every client class at run time, so the one stable patch point is
``BaseClient._make_api_call(operation_name, api_params)``, shared by clients created before and
after instrumentation. It sees every AWS call: only ``bedrock-runtime`` Converse, ConverseStream,
InvokeModel and InvokeModelWithResponseStream are recorded; for anything else
``request_info`` answers None before any span exists, so the generic call wrapper passes it through.

The model id is recorded as given (foundation model, ``us.``/``global.`` inference profile or ARN);
pricing normalises it. Streams replace ``response["stream"]`` / ``response["body"]`` (an
``EventStream``) with a transparent proxy; ``isinstance(..., EventStream)`` still holds.
InvokeModel usage comes from the ``x-amzn-bedrock-*-token-count`` headers, so the body is left
unread, except when the call wrote to the prompt cache: then the (small JSON) body is read for the
Anthropic 1-hour/5-minute split and handed back to the caller as an equivalent fresh body.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping
from typing import Any

from llmledger.instrumentation.adapter import (
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
    StreamPlace,
)
from llmledger.instrumentation.providers._common import client_server
from llmledger.instrumentation.providers.bedrock_usage import (
    ConverseStreamHandler,
    InvokeStreamHandler,
    anthropic_one_hour_writes,
    converse_usage,
    header_usage,
    tier_modifiers,
)
from llmledger.usage import NO_MODIFIERS, PriceModifiers, Usage

logger = logging.getLogger("llmledger.instrumentation.bedrock")

SERVICE = "bedrock-runtime"
_STREAM_PLACES = {"ConverseStream": StreamPlace("item", "stream"),
                  "InvokeModelWithResponseStream": StreamPlace("item", "body")}
_OPERATIONS = frozenset({"Converse", "InvokeModel", *_STREAM_PLACES})


def _request_tier(params: Mapping[str, Any]) -> PriceModifiers:
    tier = params.get("serviceTier")
    if isinstance(tier, Mapping):  # Converse: {"type": "flex"}; InvokeModel: "flex"
        tier = tier.get("type")
    return PriceModifiers(service_tier=tier) if isinstance(tier, str) and tier else NO_MODIFIERS


def _headers(result: Any) -> Any:
    return result.get("ResponseMetadata", {}).get("HTTPHeaders")


class _FailedRead:
    """Stands in for a body whose read failed under llmledger: the caller's read fails the same way."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    def read(self, *args: Any) -> bytes:
        raise self._error

    stream = read

    def close(self) -> None:
        return None


def _reread_one_hour_writes(result: dict[str, Any], usage: Usage) -> Usage:
    """Read the InvokeModel body for its cache-write TTL split and give the caller a fresh body."""
    from botocore.response import StreamingBody

    body: Any = result.get("body")
    if type(body) is not StreamingBody:  # aiobotocore's async body cannot be read here
        return usage
    try:
        data = body.read()
    except Exception as error:
        result["body"] = StreamingBody(_FailedRead(error), None)
        raise
    result["body"] = StreamingBody(io.BytesIO(data), len(data))
    one_hour = anthropic_one_hour_writes(json.loads(data))
    return Usage(
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        cache_write_1h_tokens=min(one_hour, usage.cache_write_tokens),
    )


class BedrockAdapter(ProviderAdapter):
    name = "bedrock"
    distribution = "botocore"
    import_name = "botocore.client"
    supported = ">=1.44.8,<2"
    targets = (
        PatchTarget("botocore.client", "BaseClient._make_api_call", "chat", "sync"),
        PatchTarget("aiobotocore.client", "AioBaseClient._make_api_call", "chat", "async"),
    )

    def request_info(
        self, target: PatchTarget, instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> RequestInfo | None:
        operation = args[0] if args else kwargs.get("operation_name")
        if operation not in _OPERATIONS or instance.meta.service_model.service_name != SERVICE:
            return None
        params = args[1] if len(args) > 1 else kwargs.get("api_params") or {}
        address, port = client_server(instance.meta.endpoint_url)
        request = RequestInfo(
            provider="aws.bedrock",
            model=params.get("modelId"),
            stream=operation in _STREAM_PLACES,
            server_address=address,
            server_port=port,
            modifiers=_request_tier(params),
        )
        request.state["operation"] = operation
        return request

    def stream_place(self, target: PatchTarget, request: RequestInfo, result: Any) -> StreamPlace | None:
        return _STREAM_PLACES.get(request.state["operation"])  # the event stream sits in the dict

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        # InvokeModelWithResponseStream reports the tier in a header, before the events.
        tier = result.get("serviceTier") if isinstance(result, Mapping) else None
        if request.state["operation"] == "ConverseStream":
            return ConverseStreamHandler(request, tier)
        return InvokeStreamHandler(request, tier)

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        modifiers = tier_modifiers(result.get("serviceTier"), request.modifiers)
        if request.state["operation"] == "InvokeModel":
            usage = header_usage(_headers(result))
            if usage is not None and usage.cache_write_tokens:
                try:
                    usage = _reread_one_hour_writes(result, usage)
                except Exception:  # the header counts stand; the 1-hour writes price as 5-minute ones
                    logger.debug("llmledger: could not read the cache TTL split", exc_info=True)
            return ResponseInfo(usage=usage, modifiers=modifiers)
        reason = result.get("stopReason")
        return ResponseInfo(
            usage=converse_usage(result.get("usage")),
            finish_reasons=(reason,) if isinstance(reason, str) else (),
            modifiers=modifiers,
        )


ADAPTER = BedrockAdapter()
