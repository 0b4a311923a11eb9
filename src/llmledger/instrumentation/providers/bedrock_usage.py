"""Bedrock Runtime usage -> :class:`Usage`, and the handlers of its two event streams.

Bedrock reports input tokens WITHOUT the cache: Converse ``usage.inputTokens``, the InvokeModel
``x-amzn-bedrock-input-token-count`` header and ``amazon-bedrock-invocationMetrics.inputTokenCount``
count only the tokens neither read from nor written to the prompt cache (AWS prompt-caching guide:
"total input tokens = inputTokens + cacheReadInputTokens + cacheWriteInputTokens"; confirmed by
``totalTokens = input + output + cacheRead + cacheWrite`` in real responses). The OTel total is
therefore their sum.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmledger.instrumentation.adapter import MalformedUsage, RequestInfo, ResponseInfo, StreamHandler
from llmledger.instrumentation.providers._common import field, int_field, reported_tier
from llmledger.usage import PriceModifiers, Usage

INPUT_HEADER = "x-amzn-bedrock-input-token-count"
OUTPUT_HEADER = "x-amzn-bedrock-output-token-count"
CACHE_READ_HEADER = "x-amzn-bedrock-cache-read-input-token-count"
CACHE_WRITE_HEADER = "x-amzn-bedrock-cache-write-input-token-count"
METRICS_KEY = "amazon-bedrock-invocationMetrics"
_METRICS_MARK = METRICS_KEY.encode()
_ONE_HOUR_MARK = b"ephemeral_1h_input_tokens"
_ANTHROPIC_DELTA_MARK = b'"message_delta"'


def _bedrock_usage(fresh: int, output: int, read: int, write: int, write_1h: int = 0) -> Usage:
    return Usage(
        input_tokens=fresh + read + write,
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_1h_tokens=min(write_1h, write),
    )


def converse_usage(usage: Any) -> Usage | None:
    """Converse / ConverseStream ``usage`` (a dict). ``cacheDetails`` splits cache writes by TTL."""
    if not isinstance(usage, Mapping) or ("inputTokens" not in usage and "outputTokens" not in usage):
        return None
    details = usage.get("cacheDetails") or ()
    write = int_field(usage, "cacheWriteInputTokens")
    if not write and details:
        write = sum(int_field(detail, "inputTokens") for detail in details)
    one_hour = sum(int_field(detail, "inputTokens") for detail in details if field(detail, "ttl") == "1h")
    return _bedrock_usage(
        int_field(usage, "inputTokens"),
        int_field(usage, "outputTokens"),
        int_field(usage, "cacheReadInputTokens"),
        write,
        one_hour,
    )


def _count(text: Any, name: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise MalformedUsage(f"{name}={text!r}") from None
    if value < 0:
        raise MalformedUsage(f"{name}={text!r}")
    return value


def header_usage(headers: Any) -> Usage | None:
    """InvokeModel: the token counts Bedrock puts in the HTTP response headers (lower-cased)."""
    if not isinstance(headers, Mapping) or (INPUT_HEADER not in headers and OUTPUT_HEADER not in headers):
        return None
    counts = [
        _count(headers.get(name, 0), name)
        for name in (INPUT_HEADER, OUTPUT_HEADER, CACHE_READ_HEADER, CACHE_WRITE_HEADER)
    ]
    return _bedrock_usage(*counts)


def metrics_usage(metrics: Any, write_1h: int = 0) -> Usage | None:
    """InvokeModelWithResponseStream: the last chunk's ``amazon-bedrock-invocationMetrics``."""
    if not isinstance(metrics, Mapping):
        return None
    return _bedrock_usage(
        int_field(metrics, "inputTokenCount"),
        int_field(metrics, "outputTokenCount"),
        int_field(metrics, "cacheReadInputTokenCount"),
        int_field(metrics, "cacheWriteInputTokenCount"),
        write_1h,
    )


def anthropic_one_hour_writes(body: Any) -> int:
    """Anthropic model bodies (and their ``message_start``) split cache writes by TTL."""
    usage = field(body, "usage")
    if usage is None:
        usage = field(field(body, "message"), "usage")
    return int_field(field(usage, "cache_creation"), "ephemeral_1h_input_tokens")


def tier_modifiers(tier: Any, fallback: PriceModifiers) -> PriceModifiers:
    """``serviceTier`` as Bedrock reports it: ``{"type": "flex"}`` (Converse) or ``"flex"`` (invoke)."""
    return reported_tier(tier.get("type") if isinstance(tier, Mapping) else tier, fallback)


class ConverseStreamHandler(StreamHandler):
    """ConverseStream events are one-key dicts; ``metadata`` (last) carries usage and the tier."""

    def __init__(self, request: RequestInfo, response_tier: Any = None) -> None:
        self._request = request
        self._metadata: Any = None
        self._reasons: list[str] = []
        self._tier = response_tier

    def on_chunk(self, chunk: Any) -> bool:
        metadata = chunk.get("metadata")
        if metadata is not None:
            self._metadata = metadata
            return False
        stop = chunk.get("messageStop")
        if stop is not None and isinstance(stop.get("stopReason"), str):
            self._reasons.append(stop["stopReason"])
        return False

    def result(self) -> ResponseInfo:
        metadata = self._metadata or {}
        return ResponseInfo(
            usage=converse_usage(metadata.get("usage")),
            finish_reasons=tuple(self._reasons),
            modifiers=tier_modifiers(metadata.get("serviceTier") or self._tier, self._request.modifiers),
        )


class InvokeStreamHandler(StreamHandler):
    """``{"chunk": {"bytes": b"<model JSON>"}}`` events. Only chunks that can matter are parsed:
    the last one (``amazon-bedrock-invocationMetrics``) and, for Anthropic models, the TTL split of
    cache writes (``message_start``) and the stop reason (``message_delta``)."""

    def __init__(self, request: RequestInfo, response_tier: Any = None) -> None:
        self._request = request
        self._metrics: Any = None
        self._one_hour = 0
        self._reasons: tuple[str, ...] = ()
        self._tier = response_tier

    def on_chunk(self, chunk: Any) -> bool:
        data = chunk.get("chunk", {}).get("bytes")
        if not data:
            return False
        if _ONE_HOUR_MARK in data:
            self._one_hour = anthropic_one_hour_writes(json.loads(data))
        elif _ANTHROPIC_DELTA_MARK in data:
            reason = field(json.loads(data).get("delta"), "stop_reason")
            if isinstance(reason, str):
                self._reasons = (reason,)
        if _METRICS_MARK in data:
            last = json.loads(data)
            self._metrics = last.get(METRICS_KEY)
            reason = last.get("stop_reason") or field(last.get("messageStop"), "stopReason")
            if isinstance(reason, str):
                self._reasons = (reason,)
        return False

    def result(self) -> ResponseInfo:
        return ResponseInfo(
            usage=metrics_usage(self._metrics, self._one_hour),
            finish_reasons=self._reasons,
            modifiers=tier_modifiers(self._tier, self._request.modifiers),
        )
