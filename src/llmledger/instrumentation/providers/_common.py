"""Small helpers shared by the provider adapters: robust field reading from SDK objects."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from llmledger.instrumentation.adapter import MalformedUsage

__all__ = ["MalformedUsage", "client_server", "field", "finish_reasons", "int_field"]


def field(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``; None when absent (SDK models, dicts and None alike)."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    value = getattr(obj, name, None)
    if value is None:
        extra = getattr(obj, "model_extra", None)  # pydantic models keep undeclared fields here
        if isinstance(extra, Mapping):
            return extra.get(name)
    return value


def int_field(obj: Any, name: str) -> int:
    """A token count: 0 when absent; MalformedUsage when present but not a count."""
    value = field(obj, name)
    if value is None:
        return 0
    if isinstance(value, bool):
        raise MalformedUsage(f"{name}={value!r}")
    if isinstance(value, int):
        if value < 0:
            raise MalformedUsage(f"{name}={value!r}")
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise MalformedUsage(f"{name}={value!r}")


def client_server(base_url: Any) -> tuple[str | None, int | None]:
    """(host, port) of a client's base URL, for ``server.address``/``server.port``."""
    if base_url is None:
        return None, None
    try:
        parts = urlsplit(str(base_url))
        port = parts.port or (443 if parts.scheme == "https" else 80 if parts.scheme == "http" else None)
        return parts.hostname, port
    except ValueError:
        return None, None


def finish_reasons(choices: Any) -> tuple[str, ...]:
    if not choices:
        return ()
    reasons = []
    for choice in choices:
        reason = field(choice, "finish_reason")
        if isinstance(reason, str):
            reasons.append(reason)
    return tuple(reasons)
