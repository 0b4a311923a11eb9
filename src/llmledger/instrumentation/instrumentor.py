"""``LLMLedgerInstrumentor``: patches every supported SDK that is installed, and un-patches it.

Registered under the ``opentelemetry_instrumentor`` entry point as ``llmledger``, so
``opentelemetry-instrument python app.py`` picks it up. Patch targets are data (each adapter's
``targets``); a target missing from the installed SDK version is skipped with a debug log, and an
SDK outside its tested version range is instrumented anyway with a warning naming the range.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Collection, Sequence
from typing import Any

import wrapt
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from llmledger import attribution, propagation
from llmledger.config import Config, load_config
from llmledger.endpoints import EndpointResolver
from llmledger.instrumentation.adapter import PatchTarget, ProviderAdapter
from llmledger.instrumentation.lifecycle import Lifecycle
from llmledger.instrumentation.providers import load_adapters
from llmledger.integrations.app_hooks import AppHooks
from llmledger.limits import build_limit_guard
from llmledger.limits.guard import LimitGuard
from llmledger.patches import unwrap_all
from llmledger.pricing import Pricer
from llmledger.telemetry import RecordSink, Telemetry
from llmledger.version import __version__

logger = logging.getLogger("llmledger.instrumentation")


def installed_version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def version_supported(version: str, spec: str) -> bool:
    try:
        return Version(version) in SpecifierSet(spec)
    except InvalidVersion:
        return False


def resolve_target(target: PatchTarget) -> tuple[Any, str] | None:
    """The class (or module) that owns the target's method, and the method name; None if absent."""
    try:
        owner: Any = importlib.import_module(target.module)
    except ImportError:
        return None
    *path, name = target.qualname.split(".")
    for part in path:
        owner = getattr(owner, part, None)
        if owner is None:
            return None
    if name not in vars(owner):
        return None
    return owner, name


class LLMLedgerInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Instrument the installed LLM provider SDKs.

    ``instrument(tracer_provider=..., meter_provider=..., config=Config | None, sinks=[...])``;
    without ``config`` the configuration is loaded from file/environment (``load_config``).
    """

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton: __init__ runs on every construction; keep the state.
        if hasattr(self, "_patched"):
            return
        self._patched: list[tuple[Any, str]] = []
        self._lifecycle: Lifecycle | None = None
        self.telemetry: Telemetry | None = None
        self.limits: LimitGuard | None = None
        self.instrumented_providers: dict[str, str] = {}

    def instrumentation_dependencies(self) -> Collection[str]:
        return ()  # every SDK is optional; versions are checked per adapter in _instrument

    def _instrument(self, **kwargs: Any) -> None:
        config: Config = kwargs.get("config") or load_config()
        attribution.use_baggage_policy(attribution.BaggagePolicy(
            propagate_baggage=config.propagate_baggage, trust_inbound_baggage=config.trust_inbound_baggage))
        resolver = EndpointResolver(config.endpoints, request_stream_usage=config.request_stream_usage)
        propagation.install_quiet_propagator(config.propagate_trace_context)
        sinks: Sequence[RecordSink] = kwargs.get("sinks") or ()
        pricer: Pricer = kwargs.get("pricer") or Pricer(config.price_overrides)
        self.telemetry = Telemetry(
            kwargs.get("tracer_provider"), kwargs.get("meter_provider"), plans=config.plans,
            customer_cap=config.metric_customer_cap,
            customer_allow_list=config.metric_customer_allow_list, sinks=sinks, version=__version__,
            pricer=pricer, series_limit=config.metric_series_limit)
        self._lifecycle = Lifecycle(self.telemetry, pricer, trust_inbound_baggage=config.trust_inbound_baggage,
                                    propagate_trace_context=config.propagate_trace_context)
        self._app_hooks = AppHooks()  # threads, Celery, LiteLLM (llmledger.integrations)
        self._app_hooks.install(config, self.telemetry, pricer)
        # ---- limits (issue 14): None unless rules are configured; the guard also takes the spend
        self.limits = kwargs.get("limits") or build_limit_guard(
            config, meter_provider=kwargs.get("meter_provider"),
            customer_label=self.telemetry.metric_customer_id)
        if self.limits is not None:
            self._lifecycle.limits = self.limits
            self.telemetry.sinks.append(self.limits)
        for adapter in load_adapters():
            if config.providers is not None and adapter.name not in config.providers:
                continue
            self._patch_adapter(adapter.configured(resolver), self._lifecycle)

    def _patch_adapter(self, adapter: ProviderAdapter, lifecycle: Lifecycle) -> None:
        version = installed_version(adapter.distribution)
        if version is None:
            return
        try:
            importlib.import_module(adapter.import_name)
        except Exception:
            logger.debug("llmledger: %s is installed but does not import", adapter.distribution,
                         exc_info=True)
            return
        if not version_supported(version, adapter.supported):
            logger.warning(
                "llmledger: %s %s is outside the tested range %s; instrumenting it anyway, "
                "please report problems", adapter.distribution, version, adapter.supported)
        patched = 0
        for target in adapter.targets:
            found = resolve_target(target)
            if found is None:
                logger.debug("llmledger: %s %s has no %s.%s; skipped", adapter.distribution, version,
                              target.module, target.qualname)
                continue
            owner, name = found
            if isinstance(vars(owner)[name], wrapt.FunctionWrapper):
                continue  # copied from an already patched class (e.g. anthropic beta clones)
            wrapt.wrap_function_wrapper(owner, name, lifecycle.wrapper(adapter, target))
            self._patched.append((owner, name))
            patched += 1
        if patched:
            self.instrumented_providers[adapter.name] = version

    def _uninstrument(self, **kwargs: Any) -> None:
        attribution.use_baggage_policy(attribution.DEFAULT_POLICY)
        if getattr(self, "_app_hooks", None) is not None:
            self._app_hooks.uninstall()
        if self._lifecycle is not None:
            self._lifecycle.active = False
        unwrap_all(self._patched)
        self.instrumented_providers.clear()
        self._lifecycle = None
        if self.limits is not None:
            self.limits.close()
            self.limits = None
        if self.telemetry is not None:
            self.telemetry.close()  # records the queued metric points, stops the worker
