"""llmledger: which customers cost you more in LLM calls than they pay you?

Public API::

    import llmledger
    llmledger.init()                                   # once, at start-up
    with llmledger.customer("cust-123", plan="pro", feature="summarize"):
        client.chat.completions.create(...)             # priced, attributed, exported
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmledger.attribution import (
    current_customer,
    customer,
    no_customer,
    reset_customer,
    set_customer,
)
from llmledger.config import Config, load_config
from llmledger.errors import ConfigError, LLMLedgerError
from llmledger.version import __version__

if TYPE_CHECKING:
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
    from llmledger.ledger import LedgerSink
    from llmledger.otel_setup import Providers

__all__ = [
    "Config",
    "ConfigError",
    "LLMLedgerError",
    "LLMLedgerInstrumentor",
    "__version__",
    "current_customer",
    "customer",
    "flush",
    "init",
    "instrument",
    "load_config",
    "no_customer",
    "reset_customer",
    "set_customer",
    "shutdown",
    "uninstrument",
]

logger = logging.getLogger("llmledger")
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class _Started:
    """What ``init()`` set up, and ``shutdown()`` takes down."""

    config: Config
    providers: Providers
    sinks: tuple[LedgerSink, ...]
    instrumentor: LLMLedgerInstrumentor


_started: _Started | None = None


def __getattr__(name: str) -> Any:
    if name == "LLMLedgerInstrumentor":
        from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

        return LLMLedgerInstrumentor
    raise AttributeError(name)


def init(
    *,
    config_file: str | None = None,
    tracer_provider: Any = None,
    meter_provider: Any = None,
    **settings: Any,
) -> Any:
    """Configure llmledger and instrument every installed provider SDK. Call once at start-up.

    ``settings`` are Config fields (``service_name``, ``otlp_endpoint``, ``ledger``, ``providers``,
    ``metric_customer_cap``, ...); they win over ``LLMLEDGER_*`` variables and the config file.
    Configuration errors raise ``ConfigError`` here, naming the file and key. Returns the
    instrumentor. Calling ``init`` again re-configures (it shuts the previous set-up down first).
    """
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
    from llmledger.otel_setup import setup_providers

    config = load_config(config_file, **settings)
    with _lock:
        _shutdown_locked()
        providers = setup_providers(
            service_name=config.service_name, otlp_endpoint=config.otlp_endpoint,
            otlp_protocol=config.otlp_protocol, tracer_provider=tracer_provider,
            meter_provider=meter_provider)
        sinks = []
        if config.ledger:
            from llmledger.ledger import open_ledger_sink

            sinks.append(open_ledger_sink(config.ledger, service_name=config.service_name))
        instrumentor = LLMLedgerInstrumentor()
        instrumentor.instrument(tracer_provider=providers.tracer_provider,
                                meter_provider=providers.meter_provider, config=config, sinks=sinks)
        for sink in sinks:
            bind = getattr(sink, "bind_telemetry", None)
            if bind is not None:
                bind(instrumentor.telemetry)
        global _started
        _started = _Started(config=config, providers=providers, sinks=tuple(sinks), instrumentor=instrumentor)
        return instrumentor


def instrument(**kwargs: Any) -> Any:
    """Patch the provider SDKs without touching providers or exporters (see ``init``)."""
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

    instrumentor = LLMLedgerInstrumentor()
    instrumentor.instrument(**kwargs)
    return instrumentor


def uninstrument() -> None:
    """Restore the original SDK methods."""
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

    LLMLedgerInstrumentor().uninstrument()


def flush() -> None:
    """Export everything recorded so far (spans, metrics, ledger rows)."""
    started = _started
    if started is None:
        return
    telemetry = started.instrumentor.telemetry
    if telemetry is not None:
        telemetry.flush()
    for sink in started.sinks:
        sink.flush()
    started.providers.flush()


def _shutdown_locked() -> None:
    global _started
    started, _started = _started, None
    if started is None:
        return
    started.instrumentor.uninstrument()
    for sink in started.sinks:
        try:
            sink.close()
        except Exception:
            logger.warning("llmledger: closing %r failed", sink, exc_info=True)
    started.providers.shutdown()


def shutdown() -> None:
    """Un-patch, flush and close everything ``init`` started. Safe to call twice."""
    with _lock:
        _shutdown_locked()
