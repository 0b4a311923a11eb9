"""Tracer and meter providers for ``init()``: reuse the app's, or build ones that export over OTLP.

An app that already configured OpenTelemetry (its own SDK providers, or ``opentelemetry-instrument``)
keeps them. Otherwise llmledger builds SDK providers; they export over OTLP when an endpoint is
given (``otlp_endpoint=`` or the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the exporters
read themselves) and otherwise only feed the local ledger.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

logger = logging.getLogger("llmledger")

_retired: weakref.WeakSet[Any] = weakref.WeakSet()
"""Providers llmledger built and shut down: still registered globally (OpenTelemetry sets its global
providers once per process) but dead, so a later ``init()`` must not reuse them."""

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                  "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")


@dataclass
class Providers:
    tracer_provider: Any
    meter_provider: Any
    owned: list[Any] = field(default_factory=list)
    """Providers llmledger built (and so flushes and shuts down)."""

    def flush(self) -> None:
        for provider in self.owned:
            provider.force_flush()

    def shutdown(self, timeout_s: float = 5.0) -> bool:
        """Export what is left and stop, waiting at most ``timeout_s`` in all (a collector that does
        not answer must not hold the process past a 30 s grace period). False when time ran out:
        the spans and metric points not yet exported are lost."""
        owned, self.owned = list(self.owned), []
        _retired.update(owned)
        if not owned:
            return True

        def stop() -> None:
            for provider in owned:
                try:
                    provider.shutdown()
                except Exception:
                    logger.debug("llmledger: shutting down %r failed", provider, exc_info=True)

        worker = threading.Thread(target=stop, name="llmledger-shutdown", daemon=True)
        started = time.monotonic()
        worker.start()
        worker.join(timeout_s)
        if worker.is_alive():
            logger.warning("llmledger: the OTLP collector did not take the last spans and metric points "
                           "within %.1f s (shutdown_timeout); they are lost", time.monotonic() - started)
            return False
        return True


def _exporters(endpoint: str | None, protocol: str, timeout: float | None = None) -> tuple[Any, Any] | None:
    if endpoint is None and not any(os.environ.get(var) for var in _ENDPOINT_VARS):
        return None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", protocol) if endpoint is None else protocol
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if endpoint is None:
            return OTLPSpanExporter(timeout=timeout), OTLPMetricExporter(timeout=timeout)
        base = endpoint.rstrip("/")
        return (OTLPSpanExporter(endpoint=f"{base}/v1/traces", timeout=timeout),
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics", timeout=timeout))
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GrpcMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcSpanExporter,
    )

    if endpoint is None:
        return GrpcSpanExporter(timeout=timeout), GrpcMetricExporter(timeout=timeout)
    insecure = endpoint.startswith("http://")
    return (GrpcSpanExporter(endpoint=endpoint, insecure=insecure, timeout=timeout),
            GrpcMetricExporter(endpoint=endpoint, insecure=insecure, timeout=timeout))


def setup_providers(*, service_name: str | None, otlp_endpoint: str | None, otlp_protocol: str,
                    tracer_provider: Any = None, meter_provider: Any = None,
                    metric_readers: tuple[MetricReader, ...] = (),
                    export_timeout: float | None = None) -> Providers:
    """Reuse the given or globally registered SDK providers; build and register missing ones.

    Providers llmledger built are shut down by llmledger (bounded, see ``Providers.shutdown``), not
    by the SDK's own unbounded exit hook. A global provider llmledger already shut down (``init``
    after ``shutdown``) cannot be replaced globally: fresh ones serve llmledger's own telemetry."""
    owned: list[Any] = []
    existing_tracer = tracer_provider or trace.get_tracer_provider()
    existing_meter = meter_provider or metrics.get_meter_provider()
    tracer_dead = tracer_provider is None and existing_tracer in _retired
    meter_dead = meter_provider is None and existing_meter in _retired
    need_tracer = (not isinstance(existing_tracer, TracerProvider) and tracer_provider is None) or tracer_dead
    need_meter = (not isinstance(existing_meter, MeterProvider) and meter_provider is None) or meter_dead
    if tracer_dead or meter_dead:
        logger.warning("llmledger: init() after shutdown(): OpenTelemetry's global providers cannot be set "
                       "twice, so llmledger's telemetry goes to new providers that other libraries do not see")
    exporters = (_exporters(otlp_endpoint, otlp_protocol, export_timeout)
                 if (need_tracer or need_meter) else None)
    attributes = {SERVICE_NAME: service_name} if service_name else {}
    resource = Resource.create(attributes)
    if need_tracer:
        built_tracer = TracerProvider(resource=resource, shutdown_on_exit=False)
        if exporters is not None:
            built_tracer.add_span_processor(BatchSpanProcessor(exporters[0]))
        if not tracer_dead:
            trace.set_tracer_provider(built_tracer)
        existing_tracer = built_tracer if tracer_dead else trace.get_tracer_provider()
        owned.append(built_tracer)
    if need_meter:
        readers: list[MetricReader] = list(metric_readers)
        if exporters is not None:
            readers.append(PeriodicExportingMetricReader(exporters[1]))
        built_meter = MeterProvider(resource=resource, metric_readers=readers, shutdown_on_exit=False)
        if not meter_dead:
            metrics.set_meter_provider(built_meter)
        existing_meter = built_meter if meter_dead else metrics.get_meter_provider()
        owned.append(built_meter)
    return Providers(existing_tracer, existing_meter, owned)
