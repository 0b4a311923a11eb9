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
from typing import Any

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
_state: dict[str, Any] = {}


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
    instrumentor.

    Calling ``init`` again re-configures: the instrumentation and the ledger are replaced, the
    OpenTelemetry providers llmledger built are kept (OpenTelemetry sets its global providers once
    per process), so a second call that changes ``service_name``, ``otlp_endpoint`` or
    ``otlp_protocol`` is refused with ``ConfigError``. A failed ``init`` changes nothing.
    """
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
    from llmledger.otel_setup import setup_providers

    config = load_config(config_file, **settings)
    with _lock:
        previous: dict[str, Any] = dict(_state)
        reuse = bool(previous) and tracer_provider is None and meter_provider is None
        if reuse:
            _check_same_exporters(previous["config"], config, settings)
            providers = previous["providers"]
        else:
            providers = setup_providers(
                service_name=config.service_name, otlp_endpoint=config.otlp_endpoint,
                otlp_protocol=config.otlp_protocol, tracer_provider=tracer_provider,
                meter_provider=meter_provider, export_timeout=config.shutdown_timeout)
        try:
            sinks = _open_sinks(config, settings)
        except BaseException:
            if not reuse and providers is not previous.get("providers"):
                providers.shutdown(config.shutdown_timeout)
            raise
        # Everything that can fail for the configuration's sake has passed: replace the old set-up.
        if previous:
            _teardown(previous, keep_providers=reuse)
            _state.clear()
            if not reuse:
                providers.owned.extend(previous["providers"].owned)  # still global: shut down later
        instrumentor = LLMLedgerInstrumentor()
        instrumentor.instrument(tracer_provider=providers.tracer_provider,
                                meter_provider=providers.meter_provider, config=config, sinks=sinks)
        for sink in sinks:
            bind = getattr(sink, "bind_telemetry", None)
            if bind is not None:
                bind(instrumentor.telemetry)
        _state.update(providers=providers, sinks=sinks, instrumentor=instrumentor, config=config)
        if sinks and config.flush_ledger_on_sigterm:
            from llmledger import sigterm

            sigterm.install(_flush_sinks, config.shutdown_timeout)
        _register_exit_hook()
        return instrumentor


_EXPORTER_SETTINGS = ("service_name", "otlp_endpoint", "otlp_protocol")


def _check_same_exporters(old: Config, new: Config, settings: dict[str, Any]) -> None:
    from llmledger.config import source_of

    for name in _EXPORTER_SETTINGS:
        if getattr(old, name) != getattr(new, name):
            source, key = source_of(new, name, settings)
            raise ConfigError(
                f"init() already set up exporters with {name}={getattr(old, name)!r}; OpenTelemetry "
                f"providers are set once per process, so {getattr(new, name)!r} cannot take effect. "
                "Restart the process to change it, or pass your own tracer_provider/meter_provider",
                source=source, key=key)


def _open_sinks(config: Config, settings: dict[str, Any]) -> list[Any]:
    if not config.ledger:
        return []
    from llmledger.config import source_of
    from llmledger.ledger import open_ledger_sink, redact

    try:
        return [open_ledger_sink(config.ledger, service_name=config.service_name)]
    except ConfigError as exc:
        source, key = source_of(config, "ledger", settings)
        raise ConfigError(f"cannot use the ledger {redact(config.ledger)!r}: {exc}", source=source,
                          key=key) from exc


def _flush_sinks(timeout: float) -> None:
    for sink in _state.get("sinks", ()):
        sink.flush(timeout)


_exit_hook_registered = False


def _register_exit_hook() -> None:
    global _exit_hook_registered
    if not _exit_hook_registered:
        import atexit

        atexit.register(shutdown)  # bounded by shutdown_timeout, ledger first
        _exit_hook_registered = True


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
    instrumentor = _state.get("instrumentor")
    if instrumentor is not None and instrumentor.telemetry is not None:
        instrumentor.telemetry.flush()
    for sink in _state.get("sinks", ()):
        sink.flush()
    providers = _state.get("providers")
    if providers is not None:
        providers.flush()


def _teardown(state: dict[str, Any], keep_providers: bool = False) -> None:
    from llmledger import sigterm

    sigterm.uninstall()
    state["instrumentor"].uninstrument()
    for sink in state["sinks"]:  # the ledger first: it is local and cannot hang on a collector
        try:
            sink.close()
        except Exception:
            logger.warning("llmledger: closing %r failed", sink, exc_info=True)
    if not keep_providers:
        state["providers"].shutdown(state["config"].shutdown_timeout)


def _shutdown_locked() -> None:
    if not _state:
        return
    _teardown(_state)
    _state.clear()


def shutdown() -> None:
    """Un-patch, flush and close everything ``init`` started: the ledger first, then the exporters,
    which get at most ``shutdown_timeout`` seconds (what they could not send is lost). Safe to call
    twice; also runs at interpreter exit."""
    with _lock:
        _shutdown_locked()
