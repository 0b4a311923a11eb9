"""Which provider an OpenAI-compatible endpoint is: base URL -> provider name, pricing, stream usage.

The ``openai`` SDK talks to many providers (DeepSeek, OpenRouter, xAI, Groq, Azure's v1 endpoint,
...) through ``base_url``. A client's endpoint is resolved once and cached, in this order:

1. the client class (``AzureOpenAI`` -> ``azure.ai.openai``, ``BedrockOpenAI`` -> ``aws.bedrock``),
   wherever it points;
2. the config's ``endpoints:`` map (``host:port`` first, then ``host``): private gateways, named and
   optionally priced by the operator;
3. genai-prices' provider URL patterns (``Provider.api_pattern``, matched by genai-prices' own
   ``DataSnapshot.find_provider``: the same match ``calc_price(provider_api_url=...)`` makes);
4. anything else is ``openai_compatible`` and unpriced, with a hint logged once: a self-hosted server
   (localhost, private addresses, single-label or ``.internal`` hosts) or a host genai-prices does not
   know is never priced as OpenAI.

``gen_ai.provider.name`` is the OTel semconv well-known value where one exists and genai-prices'
provider id (stable, lowercase) otherwise; pricing maps it back (``pricing/providers.py``).

Config (validated at ``init()``)::

    request_stream_usage: true          # ask for stream usage where the endpoint honours it
    endpoints:
      llm-gateway.internal:8443:        # host or host:port of the client's base URL
        provider: openai                # gen_ai.provider.name; priced as that provider if known
        prices: {input_mtok: 0.2, output_mtok: 0.6}   # optional: every model on this endpoint
        include_usage: true             # optional: it honours stream_options.include_usage
"""

from __future__ import annotations

import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from genai_prices import data_snapshot

from llmledger.errors import ConfigError
from llmledger.pricing import PriceOverrides, load_price_overrides
from llmledger.pricing.overrides import OverrideEntry
from llmledger.usage import Cost

logger = logging.getLogger("llmledger.endpoints")

UNKNOWN_PROVIDER = "openai_compatible"
"""``gen_ai.provider.name`` of an endpoint llmledger cannot name: unpriced until configured."""

# genai-prices provider id -> OTel semconv gen_ai.provider.name (well-known values only).
_SEMCONV_NAMES: dict[str, str] = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "anthropic": "anthropic",
    "aws": "aws.bedrock",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "perplexity": "perplexity",
    "x-ai": "x_ai",
    "moonshotai": "moonshot_ai",
}

# Endpoints documented to send the usage-only stream chunk only when the request asks for it
# (``stream_options.include_usage``), exactly as OpenAI does: llmledger asks, then hides that chunk.
# Elsewhere nothing is injected (a server may reject ``stream_options``, or send the chunk anyway,
# which the user must then see): usage is read when the server sends it.
STREAM_USAGE_ON_REQUEST = frozenset({"openai", "azure.ai.openai", "deepseek"})

_PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".svc", ".cluster.local",
                     ".corp", ".intranet")
_TICKS_PER_USD = Decimal(10) ** 10


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _get(obj: Any, name: str) -> Any:
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)  # pydantic keeps undeclared fields here
        if isinstance(extra, dict):
            return extra.get(name)
    return value


def openrouter_cost(usage: Any) -> Decimal | None:
    """OpenRouter: ``usage.cost``, in credits (1 credit = 1 USD), on every response. With your own
    provider key (``is_byok``) that is OpenRouter's fee only; the upstream provider bills
    ``cost_details.upstream_inference_cost`` to you directly, so both are the call's cost."""
    cost = _number(_get(usage, "cost"))
    if cost is not None and _get(usage, "is_byok") is True:
        upstream = _number(_get(_get(usage, "cost_details"), "upstream_inference_cost"))
        return None if upstream is None else cost + upstream
    return cost


def xai_cost(usage: Any) -> Decimal | None:
    """xAI: ``usage.cost_in_usd_ticks``, an integer count of 1e-10 USD."""
    ticks = _get(usage, "cost_in_usd_ticks")
    if isinstance(ticks, bool) or not isinstance(ticks, int) or ticks < 0:
        return None
    return Decimal(ticks) / _TICKS_PER_USD


def perplexity_cost(usage: Any) -> Decimal | None:
    """Perplexity: ``usage.cost.total_cost`` in USD (chat completions and Responses)."""
    return _number(_get(_get(usage, "cost"), "total_cost"))


CostReader = Callable[[Any], Decimal | None]
"""Reads the provider's own bill for a call from its usage object; None when absent."""

REPORTED_COST: dict[str, CostReader] = {
    "openrouter": openrouter_cost,
    "x_ai": xai_cost,
    "perplexity": perplexity_cost,
}


@dataclass(frozen=True, slots=True)
class Endpoint:
    """What llmledger knows about the endpoint a client's base URL points to."""

    provider: str
    """``gen_ai.provider.name``."""
    stream_usage: bool = False
    """Ask for ``stream_options.include_usage`` (and hide the usage-only chunk it adds)."""
    reported_cost: CostReader | None = None
    origin: str = "default"
    """How it was resolved: ``config <file> endpoints.<key>``, ``client class``, ``genai-prices``, ``unknown``."""
    address: str | None = None
    """``server.address``: the base URL's host."""
    port: int | None = None
    """``server.port``: the base URL's port, or the scheme's default."""


@dataclass(frozen=True, slots=True)
class EndpointEntry:
    """One validated ``endpoints.<key>`` entry."""

    key: str
    provider: str
    include_usage: bool | None = None


@dataclass(frozen=True, slots=True)
class EndpointSettings:
    """The validated ``endpoints:`` map."""

    entries: Mapping[str, EndpointEntry] = field(default_factory=lambda: MappingProxyType({}))
    """By lowercase ``host:port`` or ``host``."""
    source: str = "defaults"


def _fail(message: str, source: str, key: str) -> ConfigError:
    return ConfigError(message, source=source, key=key)


def _host_key(raw: object, source: str) -> str:
    """``host`` or ``host:port``, lowercase; a whole URL is accepted and reduced to its host[:port]."""
    text = raw.strip().lower() if isinstance(raw, str) else ""
    if "://" in text:
        text = urlsplit(text).netloc
    if not text or any(char in text for char in "/ @"):
        raise _fail(f"an endpoint is a host or host:port (e.g. llm.internal:8080), got {raw!r}", source,
                    f"endpoints.{raw}")
    if text.count(":") == 1 and not text.rpartition(":")[2].isdigit():
        raise _fail(f"the port of {raw!r} is not a number", source, f"endpoints.{raw}")
    return text


def load_endpoints(section: object, source: str,
                   price_overrides: PriceOverrides | None = None) -> tuple[EndpointSettings, PriceOverrides]:
    """Validate the YAML ``endpoints:`` section (ConfigError naming file, key and value).

    Returns the settings and the price overrides with each endpoint's ``prices`` appended (after the
    ``pricing.models`` entries, which stay first: a per-model entry wins over an endpoint-wide one).
    A short form ``host: provider`` is accepted too.
    """
    overrides = price_overrides or PriceOverrides.empty()
    if section is None:
        return EndpointSettings(source=source), overrides
    if not isinstance(section, Mapping):
        raise _fail(f"expected a mapping of host -> provider, got {section!r}", source, "endpoints")
    entries: dict[str, EndpointEntry] = {}
    priced_by: dict[str, str] = {}
    extra = []
    for raw_key, raw in section.items():
        host = _host_key(raw_key, source)
        key = f"endpoints.{raw_key}"
        if host in entries:
            raise _fail(f"{raw_key!r} repeats {entries[host].key}", source, key)
        if isinstance(raw, str):
            raw = {"provider": raw}
        if not isinstance(raw, Mapping):
            raise _fail(f"expected a provider name or a mapping with 'provider', got {raw!r}", source, key)
        unknown = sorted(set(raw) - {"provider", "prices", "include_usage"})
        if unknown:
            raise _fail(f"unknown key {unknown[0]!r} (allowed: include_usage, prices, provider)", source,
                        f"{key}.{unknown[0]}")
        provider = raw.get("provider")
        if not isinstance(provider, str) or not provider.strip():
            raise _fail(f"expected a provider name (e.g. openai, deepseek, vllm), got {provider!r}", source,
                        f"{key}.provider")
        provider = provider.strip().lower()
        include_usage = raw.get("include_usage")
        if include_usage is not None and not isinstance(include_usage, bool):
            raise _fail(f"expected true or false, got {include_usage!r}", source, f"{key}.include_usage")
        if raw.get("prices") is not None:
            if provider in priced_by:
                raise _fail(f"provider {provider!r} already has prices from {priced_by[provider]}; give "
                            "each priced endpoint its own provider name", source, f"{key}.prices")
            priced_by[provider] = key
            extra.append(_endpoint_prices(raw["prices"], provider, source, key))
        entries[host] = EndpointEntry(key, provider, include_usage)
    if extra:
        overrides = replace(overrides, source=overrides.source or source,
                            entries=(*overrides.entries, *extra))
    settings = EndpointSettings(MappingProxyType(entries), source)
    return settings, overrides


def _endpoint_prices(raw: object, provider: str, source: str, key: str) -> OverrideEntry:
    """An override entry pricing every model of ``provider`` (the pricing section's own validation)."""
    section = {"models": [{"provider": provider, "model_prefix": "", "prices": raw}]}
    try:
        (entry,) = load_price_overrides(section, source).entries
    except ConfigError as exc:
        text = str(exc)
        message = text.split(": ", 1)[1] if exc.key and ": " in text else text
        where = (exc.key or "").replace("pricing.models[0].prices", f"{key}.prices") or f"{key}.prices"
        raise _fail(message, source, where) from None
    return replace(entry, key=f"{key}.prices")


# ---- resolution ---------------------------------------------------------------------------------
class EndpointResolver:
    """Resolves a client's base URL to an :class:`Endpoint`, once per base URL object."""

    def __init__(self, settings: EndpointSettings | None = None, *, request_stream_usage: bool = True) -> None:
        self.settings = settings or EndpointSettings()
        self.request_stream_usage = request_stream_usage
        self._by_url: dict[int, tuple[object, Endpoint]] = {}
        self._by_text: dict[tuple[str, str], Endpoint] = {}
        self._hinted: set[str] = set()

    def for_client(self, client: Any) -> Endpoint:
        """The endpoint of an ``openai`` client; a dict lookup on the client's base URL object."""
        # the attribute behind the SDK's ``base_url`` property (which openai 3.x implements with an
        # import on every read); the property where a client has no such attribute
        base_url = getattr(client, "_base_url", None)
        if base_url is None:
            base_url = getattr(client, "base_url", None)
        cached = self._by_url.get(id(base_url))
        if cached is not None and cached[0] is base_url:
            return cached[1]
        endpoint = self.resolve(str(base_url) if base_url is not None else "", _client_kind(client))
        if len(self._by_url) >= 1024:
            self._by_url.clear()  # a bound, not an LRU: a process has few clients
        self._by_url[id(base_url)] = (base_url, endpoint)  # holding the URL keeps its id unique
        return endpoint

    def resolve(self, url: str, client_kind: str = "") -> Endpoint:
        key = (url, client_kind)
        found = self._by_text.get(key)
        if found is None:
            found = self._resolve(url, client_kind)
            if len(self._by_text) >= 1024:
                self._by_text.clear()
            self._by_text[key] = found
        return found

    def _resolve(self, url: str, client_kind: str) -> Endpoint:
        try:
            parts = urlsplit(url)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return self._named(UNKNOWN_PROVIDER, False, "unknown", None, None)
        default_port = 443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None
        address, server_port = host or None, port or default_port
        if client_kind:  # AzureOpenAI is Azure wherever it points (custom domains, API gateways)
            return self._named(client_kind, client_kind in STREAM_USAGE_ON_REQUEST, "client class", address,
                               server_port)
        entries = self.settings.entries
        entry = entries.get(f"{host}:{server_port}") or entries.get(host)
        if entry is not None:
            usage = entry.include_usage
            if usage is None:
                usage = entry.provider in STREAM_USAGE_ON_REQUEST
            origin = f"config {os.path.basename(self.settings.source)} {entry.key}"
            return self._named(entry.provider, usage, origin, address, server_port)
        name = genai_provider_name(url, host)
        if name is not None:
            return self._named(name, name in STREAM_USAGE_ON_REQUEST, "genai-prices", address, server_port)
        if url:
            self._hint(url, host)
        return self._named(UNKNOWN_PROVIDER, False, "unknown", address, server_port)

    def _named(self, provider: str, stream_usage: bool, origin: str, address: str | None,
               port: int | None) -> Endpoint:
        return Endpoint(provider, stream_usage and self.request_stream_usage, REPORTED_COST.get(provider),
                        origin, address, port)

    def _hint(self, url: str, host: str) -> None:
        if host in self._hinted:
            return
        self._hinted.add(host)
        kind = "a self-hosted endpoint" if is_private_host(host) else "an endpoint genai-prices does not know"
        logger.warning(
            "llmledger: OpenAI-SDK calls to %s (%s) are recorded as provider %r and unpriced; name "
            "and price it in the llmledger config, e.g. `endpoints: {%r: {provider: openai}}` if it "
            "serves OpenAI's models at OpenAI's prices, or `{provider: my_llm, prices: {input_mtok: ..., "
            "output_mtok: ...}}`", url, kind, UNKNOWN_PROVIDER, host or url)


def _client_kind(client: Any) -> str:
    names = {cls.__name__ for cls in type(client).__mro__}
    if names & {"AzureOpenAI", "AsyncAzureOpenAI"}:
        return "azure.ai.openai"
    if names & {"BedrockOpenAI", "AsyncBedrockOpenAI"}:
        return "aws.bedrock"
    return ""


def genai_provider_name(url: str, host: str) -> str | None:
    """The provider genai-prices matches for an API URL, as a ``gen_ai.provider.name``; else None."""
    if not url:
        return None
    if host.endswith(".api.openai.com"):  # regional processing (eu.api.openai.com): OpenAI, priced by region
        return "openai"
    try:
        provider = data_snapshot.get_snapshot().find_provider(None, None, url)
    except LookupError:
        return None
    if provider.id == "google":
        return "gcp.vertex_ai" if "aiplatform" in host else "gcp.gemini"
    if provider.id == "azure" and host.endswith(".services.ai.azure.com") and "/models" in url:
        return "azure.ai.inference"
    return _SEMCONV_NAMES.get(provider.id, provider.id)


def is_private_host(host: str) -> bool:
    """Loopback, private or link-local addresses, ``localhost``, single-label and internal names."""
    if not host:
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host == "localhost" or "." not in host or host.endswith(_PRIVATE_SUFFIXES)
    return address.is_private or address.is_loopback or address.is_link_local


def provider_billed(computed: Cost, reported: Decimal) -> Cost:
    """The provider's own bill as the call's cost (the caller keeps ``computed.total`` beside it)."""
    return Cost(status="priced", total=reported, source="provider", matched_model=computed.matched_model)
