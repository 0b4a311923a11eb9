"""One typed, validated, immutable configuration, built once at ``init()``.

Sources, highest priority first: keyword arguments to ``init()``, ``LLMLEDGER_*`` environment
variables, the YAML config file (``config_file=`` / ``LLMLEDGER_CONFIG`` / ``./llmledger.yaml``).
Every error names the file (or the environment variable) and the key.

```yaml
service_name: billing-api
otlp_endpoint: http://127.0.0.1:4317      # else the standard OTEL_EXPORTER_OTLP_* variables
otlp_protocol: grpc                        # or http/protobuf
ledger: llmledger.db                       # SQLite path, or postgresql://... ; omit for none
providers: [openai, anthropic]             # instrument only these (default: all installed)
attribution:
  metric_customer_cap: 1000                # distinct customer.id values on metrics; rest -> _other
  metric_customer_allow_list: [cust-1]     # optional: only these get their own series
  trust_inbound_baggage: false             # take customer.* from inbound W3C baggage
  propagate_baggage: false                 # send customer.* as baggage to downstream services
  metric_series_limit: 2000                # series per per-customer instrument (SDK cardinality limit)
plans: {...}                               # see llmledger.ledger.plans
customers: {...}
pricing: {...}                             # see llmledger.pricing (overrides, deployment map)
shutdown_timeout: 5                        # seconds shutdown()/exit waits for the last exports
propagate_trace_context: false             # provider requests carry traceparent (third parties see it)
flush_ledger_on_sigterm: true              # flush the ledger on SIGTERM, then the previous handler
```
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from llmledger.errors import ConfigError
from llmledger.ledger.plans import PlanBook, load_plans
from llmledger.pricing import PriceOverrides, load_price_overrides

PROVIDER_KEYS = ("openai", "anthropic", "google_genai", "bedrock", "mistral", "cohere", "groq")
DEFAULT_CONFIG_FILE = "llmledger.yaml"
_TOP_LEVEL_KEYS = {
    "service_name", "otlp_endpoint", "otlp_protocol", "ledger", "providers", "attribution",
    "plans", "customers", "pricing",
    # reliability (issue 18)
    "shutdown_timeout", "propagate_trace_context", "flush_ledger_on_sigterm",
}
_ATTRIBUTION_KEYS = {
    "metric_customer_cap", "metric_customer_allow_list", "trust_inbound_baggage", "propagate_baggage",
    "metric_series_limit",  # reliability (issue 18)
}


@dataclass(frozen=True, slots=True)
class Config:
    service_name: str | None = None
    otlp_endpoint: str | None = None
    otlp_protocol: str = "grpc"
    ledger: str | None = None
    providers: frozenset[str] | None = None
    metric_customer_cap: int = 1000
    metric_customer_allow_list: frozenset[str] | None = None
    trust_inbound_baggage: bool = False
    propagate_baggage: bool = False
    plans: PlanBook = field(default_factory=PlanBook)
    price_overrides: PriceOverrides = field(default_factory=lambda: load_price_overrides(None, "defaults"))
    config_file: str | None = None
    # reliability (issue 18)
    shutdown_timeout: float = 5.0
    """Seconds ``shutdown()`` (and interpreter exit) waits for the last exports; then it gives up."""
    propagate_trace_context: bool = False
    """Let provider requests carry W3C ``traceparent``/baggage headers (third parties see trace ids)."""
    flush_ledger_on_sigterm: bool = True
    """Flush the ledger on SIGTERM (chaining the previous handler) when ``init()`` opened it."""
    metric_series_limit: int = 2000
    """Series per per-customer instrument; match the SDK's cardinality limit (default 2,000)."""


def _bool(value: object, source: str, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"expected true or false, got {value!r}", source=source, key=key)


def _positive_int(value: object, source: str, key: str) -> int:
    try:
        number = int(str(value)) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or number < 1:
        raise ConfigError(f"expected a positive integer, got {value!r}", source=source, key=key)
    return number


def _str(value: object, source: str, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"expected a non-empty string, got {value!r}", source=source, key=key)
    return value.strip()


def _names(value: object, source: str, key: str) -> frozenset[str]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)):
        raise ConfigError(f"expected a list of names, got {value!r}", source=source, key=key)
    return frozenset(_str(item, source, key) for item in items if str(item).strip())


def _providers(value: object, source: str, key: str) -> frozenset[str]:
    names = _names(value, source, key)
    unknown = names - set(PROVIDER_KEYS)
    if unknown:
        raise ConfigError(f"unknown provider(s) {sorted(unknown)}; known: {', '.join(PROVIDER_KEYS)}",
                          source=source, key=key)
    return names


def _protocol(value: object, source: str, key: str) -> str:
    if value not in {"grpc", "http/protobuf"}:
        raise ConfigError(f"expected 'grpc' or 'http/protobuf', got {value!r}", source=source, key=key)
    return str(value)


# ---- reliability (issue 18): endpoints are URLs, and errors say where a value was set ------------
def _endpoint(value: object, source: str, key: str) -> str:
    """An OTLP endpoint: ``http(s)://host[:port][/path]`` with a port in 1-65535."""
    text = _str(value, source, key)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"expected a URL such as http://127.0.0.1:4317, got {text!r} ({exc})",
                          source=source, key=key) from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"expected a URL such as http://127.0.0.1:4317 (http or https, with a host), "
                          f"got {text!r}", source=source, key=key)
    if port == 0:
        raise ConfigError(f"port out of range 1-65535 in {text!r}", source=source, key=key)
    return text


def _seconds(value: object, source: str, key: str) -> float:
    try:
        number = float(str(value)) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not 0 < number <= 300:
        raise ConfigError(f"expected seconds between 0 and 300, got {value!r}", source=source, key=key)
    return number


def source_of(config: Config, name: str, overrides: Mapping[str, Any],
              env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(source, key) that set the Config field ``name``, for errors found after loading (e.g. a
    ledger path that cannot be opened): the init() argument, the variable or the file's key."""
    env = os.environ if env is None else env
    for field_name, file_path, env_var, _ in _SCALARS:
        if field_name != name:
            continue
        if overrides.get(name) is not None:
            return "llmledger.init()", name
        if env.get(env_var):
            return f"environment variable {env_var}", env_var
        return config.config_file or "llmledger.init()", ".".join(file_path)
    return config.config_file or "llmledger.init()", name


_Parser = Callable[[object, str, str], Any]
# (config field, file key path, environment variable, parser)
_SCALARS: tuple[tuple[str, tuple[str, ...], str, _Parser], ...] = (
    ("service_name", ("service_name",), "LLMLEDGER_SERVICE_NAME", _str),
    ("otlp_endpoint", ("otlp_endpoint",), "LLMLEDGER_OTLP_ENDPOINT", _endpoint),
    ("otlp_protocol", ("otlp_protocol",), "LLMLEDGER_OTLP_PROTOCOL", _protocol),
    ("ledger", ("ledger",), "LLMLEDGER_LEDGER", _str),
    ("providers", ("providers",), "LLMLEDGER_PROVIDERS", _providers),
    ("metric_customer_cap", ("attribution", "metric_customer_cap"), "LLMLEDGER_METRIC_CUSTOMER_CAP",
     _positive_int),
    ("metric_customer_allow_list", ("attribution", "metric_customer_allow_list"),
     "LLMLEDGER_METRIC_CUSTOMER_ALLOW_LIST", _names),
    ("trust_inbound_baggage", ("attribution", "trust_inbound_baggage"),
     "LLMLEDGER_TRUST_INBOUND_BAGGAGE", _bool),
    ("propagate_baggage", ("attribution", "propagate_baggage"), "LLMLEDGER_PROPAGATE_BAGGAGE", _bool),
    # reliability (issue 18)
    ("shutdown_timeout", ("shutdown_timeout",), "LLMLEDGER_SHUTDOWN_TIMEOUT", _seconds),
    ("propagate_trace_context", ("propagate_trace_context",), "LLMLEDGER_PROPAGATE_TRACE_CONTEXT", _bool),
    ("flush_ledger_on_sigterm", ("flush_ledger_on_sigterm",), "LLMLEDGER_FLUSH_LEDGER_ON_SIGTERM", _bool),
    ("metric_series_limit", ("attribution", "metric_series_limit"), "LLMLEDGER_METRIC_SERIES_LIMIT",
     _positive_int),
)


def _read_file(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file: {exc.strerror or exc}", source=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for e.g. 2026-13-01
        raise ConfigError(f"invalid YAML: {exc}", source=str(path)) from None
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError("the top level must be a mapping", source=str(path))
    unknown = set(data) - _TOP_LEVEL_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}; known: {sorted(_TOP_LEVEL_KEYS)}",
                          source=str(path))
    attribution = data.get("attribution") or {}
    if not isinstance(attribution, Mapping):
        raise ConfigError("expected a mapping", source=str(path), key="attribution")
    unknown = set(attribution) - _ATTRIBUTION_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(unknown)}", source=str(path), key="attribution")
    return data


def _lookup(data: Mapping[str, Any], path: tuple[str, ...]) -> object:
    node: object = data
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def load_config(
    config_file: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Config:
    """Build the one Config from file, environment and keyword overrides (in rising priority)."""
    env = os.environ if env is None else env
    path: Path | None = None
    if config_file is not None:
        path = Path(config_file)
    elif env.get("LLMLEDGER_CONFIG"):
        path = Path(env["LLMLEDGER_CONFIG"])
    elif Path(DEFAULT_CONFIG_FILE).is_file():
        path = Path(DEFAULT_CONFIG_FILE)
    data = _read_file(path) if path is not None else {}
    source = str(path) if path is not None else "llmledger.init()"

    values: dict[str, Any] = {}
    known_kwargs = {name for name, *_ in _SCALARS} | {"plans", "price_overrides"}
    unknown = set(overrides) - known_kwargs
    if unknown:
        raise ConfigError(f"unknown argument(s) {sorted(unknown)}", source="llmledger.init()")
    for name, file_path, env_var, parse in _SCALARS:
        if overrides.get(name) is not None:
            values[name] = parse(overrides[name], "llmledger.init()", name)
        elif env.get(env_var):
            values[name] = parse(env[env_var], f"environment variable {env_var}", env_var)
        elif (raw := _lookup(data, file_path)) is not None:
            values[name] = parse(raw, source, ".".join(file_path))

    values["plans"] = overrides.get("plans") or load_plans(data.get("plans"), data.get("customers"),
                                                           source)
    values["price_overrides"] = overrides.get("price_overrides") or load_price_overrides(
        data.get("pricing"), source)
    return Config(config_file=str(path) if path else None, **values)
