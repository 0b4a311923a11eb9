"""Anthropic SDK (anthropic 0.x from 0.125, 1.x and 2.x): Messages ``create`` / ``stream`` / ``parse`` and
their beta twins, sync and async, for every client class (Anthropic, Bedrock, Vertex, Foundry, AWS, Google Cloud,
Bedrock Mantle).

Patch points. ``stream`` and ``parse`` call ``_post`` themselves, so all three methods are patched
(one span per logical call). The Bedrock and Vertex beta resources copy ``create``/``parse``/
``stream`` as class attributes when ``anthropic`` is imported, before llmledger patches anything,
so their copies are patched as targets of their own. ``tool_runner`` and threads go through
``create`` and are covered by it; ``count_tokens`` and batches are not LLM calls that cost tokens
at call time and are left alone.

Provider (``gen_ai.provider.name``), from the client class, as the SDK's own spans name it:
``aws.bedrock`` for AnthropicBedrock and AnthropicBedrockMantle (AWS bills them), ``gcp.vertex_ai``
for AnthropicVertex (Google bills it), ``anthropic`` for everything else — including
AnthropicFoundry, AnthropicAWS and AnthropicGoogleCloud, which serve Anthropic-managed Claude with
first-party model ids at Anthropic's list prices.

Usage. Anthropic's ``input_tokens`` EXCLUDES the cache: llmledger's input is input + cache reads +
cache writes; ``cache_creation.ephemeral_1h_input_tokens`` are the one-hour writes; thinking tokens
(``output_tokens_details.thinking_tokens``) are reasoning inside the output; server-side web search
requests are counted. ``usage.iterations`` are billed sampling steps: compaction and advisor
entries (the latter on their own model), which the top-level totals leave out although they are
billed, are added, and every step is priced at its own model and tier (``Usage.iterations``).
``usage.service_tier`` (``priority``/``batch``), ``usage.speed`` (``fast``) and
``usage.inference_geo`` (``us``: US-only inference) become price modifiers.

On Bedrock the response names the base model whatever inference profile was called, while the
profile (``global.`` / ``us.`` ...) sets the price: ``gen_ai.response.model`` is left out there so the
call is priced by the requested profile. ``with_raw_response`` calls are priced from the (cached)
parsed body when sync and not streamed; async, streamed and ``with_streaming_response`` bodies are
priced when the user reads them (``instrumentation/raw_responses.py``).

Streams: raw ``create(stream=True)`` streams go through the generic stream proxy with
:class:`MessageStreamHandler` (``message_start`` usage, overridden by the non-None fields of the
cumulative ``message_delta`` usage). The ``messages.stream()`` helper does not go through ``create``:
it returns a ``MessageStreamManager`` whose request fires in ``__enter__``, and the ``MessageStream``
it yields reads its raw event stream (``_raw_stream``) itself in ``text_stream``, ``until_done()``
and ``get_final_message()``. So the manager is the stream's place: the generic call wrapper sends the request
with llmledger's span current (the SDK's own span nests under it) and puts its stream proxy in place
of ``_raw_stream`` before anything reads it, so every helper reads through it (same events, exact
usage, time to first chunk, a failure mid-stream ends the call with that error). Should a future SDK
keep the raw stream elsewhere, the call ends at exit with ``current_message_snapshot``'s usage.

The SDK's own OpenTelemetry spans. anthropic 2.x emits an ``anthropic.messages.create`` CLIENT span
(scope ``com.anthropic.sdk.python``) with ``gen_ai.usage.*`` whenever a TracerProvider is set.
llmledger leaves them alone: they are the user's telemetry (their retries, request ids, content
capture), turning them off would change the SDK's behaviour behind the user's back, and they carry
no metrics, so llmledger's cost and token metrics are never doubled. They nest under llmledger's
span (llmledger makes its span current around the request), so a trace shows one call with one
child. Span-based token sums must filter on the instrumentation scope ``llmledger`` (or on spans
having ``llmledger.cost.status``); to drop the SDK's spans set ``ANTHROPIC_OPEN_TELEMETRY=false``
or pass ``open_telemetry=False`` to the client.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import wrapt

from llmledger.instrumentation.adapter import (
    MalformedUsage,
    PatchTarget,
    ProviderAdapter,
    RequestInfo,
    ResponseInfo,
    StreamHandler,
    StreamPlace,
)
from llmledger.instrumentation.providers._common import (
    RawResponses,
    client_server,
    field,
    int_field,
    raw_mode,
    usage_fields,
)
from llmledger.usage import NO_MODIFIERS, Iteration, PriceModifiers, Usage

_MODULES = (
    # The copies first: they must be patched as themselves (see the module docstring).
    "anthropic.lib.bedrock._beta_messages",
    "anthropic.lib.vertex._beta_messages",
    "anthropic.resources.messages.messages",
    "anthropic.resources.beta.messages.messages",
)


def _targets() -> tuple[PatchTarget, ...]:
    targets = []
    for module in _MODULES:
        for prefix, style in (("", "sync"), ("Async", "async")):
            targets += [
                PatchTarget(module, f"{prefix}Messages.create", "chat", style, "create"),  # type: ignore[arg-type]
                PatchTarget(module, f"{prefix}Messages.parse", "chat", style, "parse"),  # type: ignore[arg-type]
                # ``stream`` is a plain ``def`` on both classes: it returns a stream manager.
                PatchTarget(module, f"{prefix}Messages.stream", "chat", "sync", "stream_helper"),
            ]
    # anthropic < 1: ``Stream``/``AsyncStream`` have a metaclass whose ``isinstance`` check answers
    # False for anything but a deprecated ``MessageStream`` (exact instances pass by type identity):
    # without this hop a proxied stream would fail ``isinstance(stream, anthropic.Stream)``.
    for meta in _STREAM_METAS:
        targets.append(PatchTarget("anthropic._streaming", f"{meta}.__instancecheck__", "chat", role="hop"))
    return tuple(targets)


_STREAM_METAS = ("_SyncStreamMeta", "_AsyncStreamMeta")


def _proxied_stream_isinstance(wrapped: Any, cls: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """The SDK's own answer, or True for llmledger's proxy of exactly that stream class."""
    if wrapped(*args, **kwargs):
        return True
    candidate = args[0] if args else None
    return isinstance(candidate, wrapt.ObjectProxy) and candidate.__class__ is cls


STREAM_HELPER_PLACE = StreamPlace("manager", "_raw_stream")
"""``messages.stream()``: a manager whose entered ``MessageStream`` reads ``_raw_stream``."""

_PROVIDERS = {
    "AnthropicBedrock": "aws.bedrock", "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicBedrockMantle": "aws.bedrock", "AsyncAnthropicBedrockMantle": "aws.bedrock",
    "AnthropicVertex": "gcp.vertex_ai", "AsyncAnthropicVertex": "gcp.vertex_ai",
}
_provider_by_type: dict[type, str] = {}


def provider_name(client: Any) -> str:
    kind = type(client)
    name = _provider_by_type.get(kind)
    if name is None:
        name = next((_PROVIDERS[c.__name__] for c in kind.__mro__ if c.__name__ in _PROVIDERS), "anthropic")
        _provider_by_type[kind] = name
    return name


def _step_usage(entry: Any) -> Usage:
    read = int_field(entry, "cache_read_input_tokens")
    written = int_field(entry, "cache_creation_input_tokens")
    written_1h = int_field(field(entry, "cache_creation"), "ephemeral_1h_input_tokens")
    if written == 0 and written_1h:
        written = written_1h + int_field(field(entry, "cache_creation"), "ephemeral_5m_input_tokens")
    return Usage(input_tokens=int_field(entry, "input_tokens") + read + written,
                 output_tokens=int_field(entry, "output_tokens"), cache_read_tokens=read,
                 cache_write_tokens=written, cache_write_1h_tokens=written_1h)


def _steps(iterations: list[Any], top: Usage) -> tuple[Iteration, ...]:
    """``usage.iterations`` as billed steps. The top-level counts are the ``message`` steps (the
    others — compaction, advisor messages on their own model — are left out of them although billed);
    if the message steps do not add up to them, the top level is priced as one step."""
    steps = [Iteration(_step_usage(entry), model if isinstance(model := field(entry, "model"), str) else None,
                       kind if isinstance(kind := field(entry, "type"), str) else None)
             for entry in iterations]
    messages = [step for step in steps if step.kind == "message"]
    if (sum(step.usage.input_tokens for step in messages), sum(step.usage.output_tokens for step in messages)) != (
            top.input_tokens, top.output_tokens):
        messages = [Iteration(top, kind="message")]
    return (*messages, *(step for step in steps if step.kind != "message"))


def message_usage(usage: Any) -> Usage | None:
    """Anthropic usage (a ``Usage``/``BetaUsage`` or the dict a stream handler merged) in OTel meaning."""
    if usage_fields(usage, "input_tokens", "output_tokens") is None:
        return None
    read = int_field(usage, "cache_read_input_tokens")
    creation = field(usage, "cache_creation")
    written_1h = int_field(creation, "ephemeral_1h_input_tokens")
    written = int_field(usage, "cache_creation_input_tokens")
    if written == 0 and creation is not None:
        written = int_field(creation, "ephemeral_5m_input_tokens") + written_1h
    output = int_field(usage, "output_tokens")
    thinking = int_field(field(usage, "output_tokens_details"), "thinking_tokens")
    if written_1h > written or thinking > output:
        raise MalformedUsage(f"cache/thinking counts exceed their totals in {usage!r}")
    top = Usage(
        input_tokens=int_field(usage, "input_tokens") + read + written,
        output_tokens=output,
        cache_read_tokens=read,
        cache_write_tokens=written,
        cache_write_1h_tokens=written_1h,
    )
    searches = int_field(field(usage, "server_tool_use"), "web_search_requests")
    iterations = field(usage, "iterations")
    steps = _steps(iterations, top) if isinstance(iterations, list) and iterations else ()
    if len(steps) < 2 and not any(step.model for step in steps):
        return replace(top, reasoning_tokens=thinking, web_searches=searches)
    # Every sampling step is billed at its own model and long-context tier (see Usage.iterations).
    total = steps[0].usage
    for step in steps[1:]:
        total = total + step.usage
    return replace(total, reasoning_tokens=thinking, web_searches=searches, iterations=steps)


def usage_modifiers(usage: Any, request: PriceModifiers) -> PriceModifiers | None:
    """Price modifiers the response reports; None when it reports the standard ones."""
    tier = field(usage, "service_tier")
    speed = field(usage, "speed")
    geo = field(usage, "inference_geo")
    tier = tier if isinstance(tier, str) and tier != "standard" else None
    speed = speed if isinstance(speed, str) and speed != "standard" else None
    geo = geo if isinstance(geo, str) and geo not in ("global", "not_available") else None
    if tier is None and speed is None and geo is None:
        return None
    return replace(request, service_tier=tier or request.service_tier, batch=tier == "batch" or request.batch,
                   speed=speed or request.speed, inference_geo=geo or request.inference_geo)


def _response_model(model: Any, request: RequestInfo) -> str | None:
    # Bedrock answers with the base model id (claude-haiku-4-5-20251001) whatever inference
    # profile was called, but the profile sets the price (global. vs us./eu./... rates differ) and
    # the generic call wrapper prices the response model first: leave it out, as the boto3 Bedrock adapter does.
    if request.provider == "aws.bedrock" or not isinstance(model, str):
        return None
    return model


def message_info(message: Any, request: RequestInfo) -> ResponseInfo:
    usage = field(message, "usage")
    stop = field(message, "stop_reason")
    return ResponseInfo(
        usage=message_usage(usage), response_model=_response_model(field(message, "model"), request),
        response_id=field(message, "id"),
        finish_reasons=(stop,) if isinstance(stop, str) else (),
        modifiers=usage_modifiers(usage, request.modifiers))


_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                 "cache_creation", "output_tokens_details", "server_tool_use", "service_tier", "speed",
                 "iterations", "inference_geo")


class MessageStreamHandler(StreamHandler):
    """Raw Messages events: usage from ``message_start``, then the cumulative ``message_delta``
    usage, whose non-None fields override (absent optional fields keep their start value)."""

    def __init__(self, request: RequestInfo) -> None:
        self._request = request
        self._usage: dict[str, Any] | None = None
        self._model: str | None = None
        self._id: str | None = None
        self._stop: str | None = None

    def on_chunk(self, chunk: Any) -> bool:
        kind = getattr(chunk, "type", None)
        if kind == "message_start":
            message = chunk.message
            self._model, self._id = getattr(message, "model", None), getattr(message, "id", None)
            self._merge(getattr(message, "usage", None))
        elif kind == "message_delta":
            self._stop = getattr(chunk.delta, "stop_reason", None)
            self._merge(getattr(chunk, "usage", None))
        return False

    def _merge(self, usage: Any) -> None:
        if usage is None:
            return
        merged = self._usage if self._usage is not None else {}
        for name in _USAGE_FIELDS:
            value = getattr(usage, name, None)
            if value is not None:
                merged[name] = value
        self._usage = merged

    def result(self) -> ResponseInfo:
        return ResponseInfo(
            usage=message_usage(self._usage), response_model=_response_model(self._model, self._request),
            response_id=self._id,
            finish_reasons=(self._stop,) if isinstance(self._stop, str) else (),
            modifiers=usage_modifiers(self._usage, self._request.modifiers))


class AnthropicAdapter(RawResponses, ProviderAdapter):
    raw_parsed_mode = "raw"
    name = "anthropic"
    distribution = "anthropic"
    import_name = "anthropic"
    supported = ">=0.125.0,<3"  # 0.x, 1.x and 2.x: scripts/matrix.sh (sdk-oldest, sdk-previous)
    targets = _targets()

    def request_info(self, target: PatchTarget, instance: Any, args: tuple[Any, ...],
                     kwargs: dict[str, Any]) -> RequestInfo:
        client = getattr(instance, "_client", None)
        address, port = client_server(getattr(client, "base_url", None))
        model = kwargs.get("model")
        request = RequestInfo(
            provider=provider_name(client), model=model if isinstance(model, str) else None,
            stream=target.kind == "stream_helper" or kwargs.get("stream") is True,
            server_address=address, server_port=port,
            modifiers=PriceModifiers(speed="fast") if kwargs.get("speed") == "fast" else NO_MODIFIERS)
        request.state["raw"] = raw_mode(kwargs)
        return request

    def hop_wrapper(self, target: PatchTarget) -> Any:
        return _proxied_stream_isinstance  # the only hop targets: the stream metaclasses' isinstance

    def stream_place(self, target: PatchTarget, request: RequestInfo, result: Any) -> StreamPlace | None:
        if target.kind == "stream_helper":
            return STREAM_HELPER_PLACE
        return super().stream_place(target, request, result)

    def response_info(self, target: PatchTarget, request: RequestInfo, result: Any) -> ResponseInfo:
        if target.kind == "stream_helper":  # a MessageStream whose raw stream was not observed
            try:
                return message_info(result.current_message_snapshot, request)
            except AssertionError:  # no message_start arrived
                return ResponseInfo()
        return super().response_info(target, request, result)

    def body_info(self, target: PatchTarget, request: RequestInfo, body: Any) -> ResponseInfo:
        return message_info(body, request)

    def stream_handler(self, target: PatchTarget, request: RequestInfo, result: Any = None) -> StreamHandler:
        return MessageStreamHandler(request)


ADAPTER = AnthropicAdapter()
