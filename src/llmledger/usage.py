"""Normalised token usage and the record of one finished LLM call.

Provider adapters produce a :class:`Usage` (and the pricing inputs they can read off a response);
pricing turns it into a :class:`Cost`; the instrumentation lifecycle assembles a :class:`CallRecord`
that telemetry and the ledger consume. Nothing here knows about OpenTelemetry or SDKs.

Token semantics follow the OTel GenAI conventions, whatever the provider reports:
``input_tokens`` counts ALL input tokens (cache reads and writes included) and ``output_tokens``
ALL output tokens (reasoning included); the other counts are subsets of those two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Literal

CostStatus = Literal["priced", "unpriced", "no_usage"]
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def utc_from_ns(ns: int) -> datetime:
    """A call's time (nanoseconds since the epoch, as ``CallRecord`` keeps it) as a UTC datetime,
    exact to the microsecond (``fromtimestamp`` goes through a float and can be off by one)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call, normalised to the OTel GenAI meaning (see module docstring)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    """All tokens written to a prompt cache (any TTL)."""
    cache_write_1h_tokens: int = 0
    """The part of ``cache_write_tokens`` written with a one-hour TTL (Anthropic, Bedrock)."""
    reasoning_tokens: int = 0
    input_audio_tokens: int = 0
    output_audio_tokens: int = 0
    web_searches: int = 0
    """Server-side web search requests billed per request (Anthropic server tools)."""
    cache_read_audio_tokens: int = 0
    """The audio part of ``cache_read_tokens`` (inside ``input_audio_tokens`` too): Gemini
    ``cacheTokensDetails`` AUDIO, billed at its own cache rate."""
    output_image_tokens: int = 0
    """Image tokens inside ``output_tokens`` (Gemini image models), billed at their own rate."""
    iterations: tuple[Iteration, ...] = ()
    """Sampling steps billed one by one (Anthropic ``usage.iterations``: compaction, advisor
    messages), each at its own model and long-context tier. When set, the counts above are the
    call's totals (the sum of the iterations) and the price is the sum of the iterations' prices."""

    def __add__(self, other: Usage) -> Usage:
        iterations: tuple[Iteration, ...] = ()
        if self.iterations or other.iterations:
            # A part without iterations is one sampling step of its own: it stays priced as itself.
            iterations = (*_as_iterations(self), *_as_iterations(other))
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            input_audio_tokens=self.input_audio_tokens + other.input_audio_tokens,
            output_audio_tokens=self.output_audio_tokens + other.output_audio_tokens,
            web_searches=self.web_searches + other.web_searches,
            cache_read_audio_tokens=self.cache_read_audio_tokens + other.cache_read_audio_tokens,
            output_image_tokens=self.output_image_tokens + other.output_image_tokens,
            iterations=iterations,
        )


@dataclass(frozen=True, slots=True)
class Iteration:
    """One billed sampling step of a call: its usage, and its model when it is not the call's."""

    usage: Usage
    model: str | None = None
    kind: str | None = None
    """The provider's word for the step (Anthropic ``message``, ``compaction``, ``advisor_message``)."""


def _as_iterations(usage: Usage) -> tuple[Iteration, ...]:
    return usage.iterations or (Iteration(usage),)


@dataclass(frozen=True, slots=True)
class PriceModifiers:
    """Everything besides tokens that changes the price of a call.

    ``service_tier`` is the provider's own word as reported in the response (preferred) or sent in
    the request: OpenAI ``flex``/``priority``/``scale``, Anthropic ``priority``/``batch``, Gemini
    traffic types (``ON_DEMAND_FLEX`` ...), Bedrock ``flex``/``priority``/``reserved``.
    """

    service_tier: str | None = None
    batch: bool = False
    speed: str | None = None
    """Anthropic ``fast`` mode."""
    inference_geo: str | None = None
    """Where the provider says the call ran, when that changes the price (Anthropic
    ``usage.inference_geo``: ``us`` is US-only inference, +10%); None for global/unspecified."""
    region: str | None = None
    """A regional-processing endpoint the call was sent to (OpenAI ``eu.api.openai.com`` -> ``eu``)."""


NO_MODIFIERS = PriceModifiers()


@dataclass(frozen=True, slots=True)
class Cost:
    """The price of one call in USD, exact. ``total`` is None unless ``status == "priced"``."""

    status: CostStatus
    total: Decimal | None = None
    input: Decimal | None = None
    output: Decimal | None = None
    source: str | None = None
    """Where the price came from, e.g. ``genai-prices 0.2.3`` or ``override llmledger.yaml``."""
    matched_model: str | None = None


NO_USAGE_COST = Cost(status="no_usage")


@dataclass(frozen=True, slots=True)
class CustomerContext:
    """Whose work a call is done for. ``attrs`` holds extra span attributes set by the user."""

    id: str
    plan: str | None = None
    feature: str | None = None
    user: str | None = None
    attrs: tuple[tuple[str, str | int | float | bool], ...] = ()


@dataclass(slots=True)
class CallRecord:
    """One finished LLM call: what telemetry writes as a span + metric points and the ledger stores."""

    provider: str
    operation: str
    request_model: str | None
    stream: bool
    start_time_ns: int
    end_time_ns: int = 0
    response_model: str | None = None
    response_id: str | None = None
    finish_reasons: tuple[str, ...] = ()
    server_address: str | None = None
    server_port: int | None = None
    usage: Usage | None = None
    modifiers: PriceModifiers = NO_MODIFIERS
    cost: Cost = NO_USAGE_COST
    customer: CustomerContext | None = None
    first_chunk_time_ns: int | None = None
    error_type: str | None = None
    computed_cost: Decimal | None = None
    """When the cost is the provider's own bill (``cost.source == "provider"``): llmledger's figure."""
    trace_id: int = 0
    span_id: int = 0

    @property
    def duration_s(self) -> float:
        return max(self.end_time_ns - self.start_time_ns, 0) / 1e9

    @property
    def time_to_first_chunk_s(self) -> float | None:
        """Seconds from the request to the first streamed chunk; None for an unstreamed call."""
        first = self.first_chunk_time_ns
        return None if first is None else (first - self.start_time_ns) / 1e9


# ---- bounds on what a provider may report (reliability) -----------------------------------------
MAX_TOKENS_PER_CALL = 10**9
"""No real call reports more tokens than this: the largest context windows hold ~10**7 tokens, and
a billion-token batch would be a call of its own kind. A larger count is corrupt or hostile data:
the call is recorded as ``no_usage`` (logged once), never priced. Bounded counts also keep every
per-customer sum far below 2**63, the OTLP integer limit (see ``saturated``)."""

INT64_MAX = 2**63 - 1
"""The largest integer OTLP (protobuf ``sfixed64``/``int64``) carries."""

_USAGE_COUNTS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                 "cache_write_1h_tokens", "reasoning_tokens", "input_audio_tokens",
                 "output_audio_tokens", "web_searches")


def implausible_count(usage: Usage) -> str | None:
    """``name=value`` of the first count past ``MAX_TOKENS_PER_CALL`` (or negative), else None."""
    for name in _USAGE_COUNTS:
        value = getattr(usage, name)
        if not 0 <= value <= MAX_TOKENS_PER_CALL:
            return f"{name}={value!r}"
    return None


def saturated(value: int) -> int:
    """An exported integer sum, clamped to what OTLP can encode (an overflow must not stop export)."""
    return value if value <= INT64_MAX else INT64_MAX
