"""Tracer and meter providers for ``init()``: reuse the app's, or build ones that export over OTLP.

An app that already configured OpenTelemetry (its own SDK providers, or ``opentelemetry-instrument``)
keeps them. Otherwise llmledger builds SDK providers; they export over OTLP when an endpoint is
given (``otlp_endpoint=`` or the standard ``OTEL_EXPORTER_OTLP_*`` variables, which the exporters
read themselves) and otherwise only feed the local ledger.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

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

    def shutdown(self) -> None:
        for provider in self.owned:
            provider.shutdown()
        self.owned.clear()


def _exporters(endpoint: str | None, protocol: str) -> tuple[Any, Any] | None:
    if endpoint is None and not any(os.environ.get(var) for var in _ENDPOINT_VARS):
        return None
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", protocol) if endpoint is None else protocol
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        if endpoint is None:
            return OTLPSpanExporter(), OTLPMetricExporter()
        base = endpoint.rstrip("/")
        return (OTLPSpanExporter(endpoint=f"{base}/v1/traces"),
                OTLPMetricExporter(endpoint=f"{base}/v1/metrics"))
    from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
        OTLPMetricExporter as GrpcMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (
        OTLPSpanExporter as GrpcSpanExporter,
    )

    if endpoint is None:
        return GrpcSpanExporter(), GrpcMetricExporter()
    insecure = endpoint.startswith("http://")
    return (GrpcSpanExporter(endpoint=endpoint, insecure=insecure),
            GrpcMetricExporter(endpoint=endpoint, insecure=insecure))


def setup_providers(*, service_name: str | None, otlp_endpoint: str | None, otlp_protocol: str,
                    tracer_provider: Any = None, meter_provider: Any = None,
                    metric_readers: tuple[MetricReader, ...] = ()) -> Providers:
    """Reuse the given or globally registered SDK providers; build and register missing ones."""
    owned: list[Any] = []
    existing_tracer = tracer_provider or trace.get_tracer_provider()
    existing_meter = meter_provider or metrics.get_meter_provider()
    need_tracer = not isinstance(existing_tracer, TracerProvider) and tracer_provider is None
    need_meter = not isinstance(existing_meter, MeterProvider) and meter_provider is None
    exporters = _exporters(otlp_endpoint, otlp_protocol) if (need_tracer or need_meter) else None
    attributes = {SERVICE_NAME: service_name} if service_name else {}
    resource = Resource.create(attributes)
    if need_tracer:
        built_tracer = TracerProvider(resource=resource)
        if exporters is not None:
            built_tracer.add_span_processor(BatchSpanProcessor(exporters[0]))
        trace.set_tracer_provider(built_tracer)
        existing_tracer = trace.get_tracer_provider()
        owned.append(built_tracer)
    if need_meter:
        readers: list[MetricReader] = list(metric_readers)
        if exporters is not None:
            readers.append(PeriodicExportingMetricReader(exporters[1]))
        built_meter = MeterProvider(resource=resource, metric_readers=readers)
        metrics.set_meter_provider(built_meter)
        existing_meter = metrics.get_meter_provider()
        owned.append(built_meter)
    return Providers(existing_tracer, existing_meter, owned)
