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
    wrap,
)
from llmledger.config import Config, load_config
from llmledger.errors import ConfigError, LimitExceeded, LLMLedgerError
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
    "LimitExceeded",
    "__version__",
    "check",
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
    "usage",
    "wrap",
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
    instrumentor.

    Calling ``init`` again re-configures: the instrumentation and the ledger are replaced, the
    OpenTelemetry providers llmledger built are kept (OpenTelemetry sets its global providers once
    per process), so a second call that changes ``service_name``, ``otlp_endpoint`` or
    ``otlp_protocol`` is refused with ``ConfigError``. A failed ``init`` changes nothing.
    """
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
    from llmledger.otel_setup import setup_providers

    config = load_config(config_file, **settings)
    global _started
    with _lock:
        previous = _started
        reuse = previous is not None and tracer_provider is None and meter_provider is None
        if previous is not None and reuse:
            _check_same_exporters(previous.config, config, settings)
            providers = previous.providers
        else:
            providers = setup_providers(
                service_name=config.service_name, otlp_endpoint=config.otlp_endpoint,
                otlp_protocol=config.otlp_protocol, tracer_provider=tracer_provider,
                meter_provider=meter_provider, export_timeout=config.shutdown_timeout)
        try:
            sinks = _open_sinks(config, settings)
        except BaseException:
            if not reuse:
                providers.shutdown(config.shutdown_timeout)
            raise
        # Everything that can fail for the configuration's sake has passed: replace the old set-up.
        if previous is not None:
            _teardown(previous, keep_providers=reuse)
            _started = None
            if not reuse:
                providers.owned.extend(previous.providers.owned)  # still global: shut down later
        instrumentor = LLMLedgerInstrumentor()
        instrumentor.instrument(tracer_provider=providers.tracer_provider,
                                meter_provider=providers.meter_provider, config=config, sinks=sinks)
        for sink in sinks:
            bind = getattr(sink, "bind_telemetry", None)
            if bind is not None:
                bind(instrumentor.telemetry)
        _started = _Started(config=config, providers=providers, sinks=tuple(sinks), instrumentor=instrumentor)
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


def _active_config() -> Config | None:
    """The config the running ``init()`` loaded; None before ``init()`` and after ``shutdown()``."""
    started = _started
    return started.config if started is not None else None


def _flush_sinks(timeout: float) -> None:
    started = _started
    for sink in started.sinks if started is not None else ():
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
    started = _started
    if started is None:
        return
    telemetry = started.instrumentor.telemetry
    if telemetry is not None:
        telemetry.flush()
    for sink in started.sinks:
        sink.flush()
    started.providers.flush()


def _teardown(started: _Started, keep_providers: bool = False) -> None:
    from llmledger import sigterm

    sigterm.uninstall()
    started.instrumentor.uninstrument()
    for sink in started.sinks:  # the ledger first: it is local and cannot hang on a collector
        try:
            sink.close()
        except Exception:
            logger.warning("llmledger: closing %r failed", sink, exc_info=True)
    if not keep_providers:
        started.providers.shutdown(started.config.shutdown_timeout)


def _shutdown_locked() -> None:
    global _started
    started, _started = _started, None
    if started is not None:
        _teardown(started)


def shutdown() -> None:
    """Un-patch, flush and close everything ``init`` started: the ledger first, then the exporters,
    which get at most ``shutdown_timeout`` seconds (what they could not send is lost). Safe to call
    twice; also runs at interpreter exit."""
    with _lock:
        _shutdown_locked()


# ---- limits (issue 14) -----------------------------------------------------------------------------
def _limit_guard() -> Any:
    from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

    return LLMLedgerInstrumentor().limits  # the instrumentor is a singleton


def usage(customer_id: str, *, plan: str | None = None, feature: str | None = None) -> list[Any]:
    """The customer's limits: per cap of the rule that applies (``customer:`` > ``feature:`` >
    ``plan:``), a ``LimitUsage`` with ``used``, ``limit``, ``remaining``, ``window`` and
    ``resets_at``. Empty when no rule applies or limits are off. Nothing is reserved."""
    guard = _limit_guard()
    return [] if guard is None else list(guard.usage(customer_id, plan, feature))


def check(customer_id: str, *, plan: str | None = None, feature: str | None = None) -> list[Any]:
    """A pre-flight check for a request handler: raises ``LimitExceeded`` when a blocking limit is
    reached, else returns what ``usage`` returns."""
    guard = _limit_guard()
    return [] if guard is None else list(guard.check(customer_id, plan, feature))
