"""Test harness: llmledger instrumented against in-memory OTel exporters and readers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.config import Config
from llmledger.endpoints import EndpointSettings, load_endpoints
from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor
from llmledger.usage import CallRecord


@dataclass
class Harness:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    instrumentor: LLMLedgerInstrumentor
    records: list[CallRecord] = field(default_factory=list)

    def on_record(self, record: CallRecord) -> None:  # a RecordSink
        self.records.append(record)

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def clear(self) -> None:
        self.exporter.clear()
        self.records.clear()

    def points(self, name: str) -> list[Any]:
        """All data points of one metric (cumulative), across scopes."""
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        if data is None:
            return found
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def sum_of(self, name: str, **labels: Any) -> float:
        """Sum of a counter's (or histogram's .sum) points whose attributes include ``labels``."""
        total = 0.0
        for point in self.points(name):
            attrs = dict(point.attributes)
            if all(attrs.get(k.replace("__", ".")) == v for k, v in labels.items()):
                total += point.value if hasattr(point, "value") else point.sum
        return total


FAKE_ENDPOINTS: EndpointSettings = load_endpoints({"127.0.0.1": "openai"}, "tests/harness.py")[0]
"""The fake provider listens on 127.0.0.1 and answers as OpenAI: named so, as an operator names a
gateway in ``endpoints:`` (an unconfigured loopback endpoint is ``openai_compatible`` and unpriced)."""


@contextmanager
def instrumented(config: Config | None = None, *, fake_endpoints: bool = True) -> Iterator[Harness]:
    """llmledger instrumented with in-memory exporters. A config that names no endpoints gets the
    fake provider's (``FAKE_ENDPOINTS``) unless ``fake_endpoints=False`` (what a new user gets)."""
    config = config or Config()
    if fake_endpoints and not config.endpoints.entries:
        config = replace(config, endpoints=FAKE_ENDPOINTS)
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    instrumentor = LLMLedgerInstrumentor()
    harness = Harness(exporter, reader, instrumentor)
    instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                            config=config, sinks=[harness])
    try:
        yield harness
    finally:
        instrumentor.uninstrument()
        tracer_provider.shutdown()
        meter_provider.shutdown()
