"""The e2e workload: real provider SDKs, instrumented by llmledger, against the local fake provider,
exporting spans and metrics over OTLP to the collector under test.

Run as a subprocess (its OTel providers stay out of pytest's process):
    python tests/e2e/workload.py --otlp-endpoint http://127.0.0.1:PORT --out spans.json [--phases 2]

Besides the OTLP exporters, every finished span also goes to an in-memory exporter; they are
written to ``--out`` as JSON, which is what the tests compare Prometheus and Jaeger against.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import anthropic
import openai
from e2e_scenario import (
    CONTENT_ATTRIBUTES,
    CONTENT_CUSTOMER,
    FOLDED_CUSTOMERS,
    METRIC_CUSTOMER_CAP,
    OTHER_INSTRUMENTATION_SERVICE,
    PLANS_CONFIG,
    SERVICE,
    UNPRICED_MODEL,
)
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmledger
from llmledger.fake_provider import FakeProviderServer

MESSAGES: Any = [{"role": "user", "content": "How much did this cost?"}]


def tokens(input_tokens: int, output_tokens: int, **extra: int) -> dict[str, str]:
    headers = {"x-fake-input-tokens": str(input_tokens), "x-fake-output-tokens": str(output_tokens)}
    headers.update({f"x-fake-{name.replace('_', '-')}": str(value) for name, value in extra.items()})
    return headers


def run_phase(oai: openai.OpenAI, claude: anthropic.Anthropic) -> None:
    """One round of calls covering every metric the dashboards and alerts read."""
    with llmledger.customer("cust-loss", plan="starter", feature="summarize"):
        # Part of the document comes from the prompt cache: the drill-down's cache-savings panel has data.
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES,
                                    extra_headers=tokens(50_000, 1_000, cached_tokens=20_000))
    with llmledger.customer("cust-pro", plan="pro", feature="chat"):
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                    extra_headers=tokens(2_000, 300, cached_tokens=1_024, reasoning_tokens=100))
        stream = oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True,
                                             extra_headers={**tokens(800, 120), "x-fake-chunks": "5"})
        for _ in stream:
            pass
        # A response without usage (some OpenAI-compatible servers): no cost, counted as no_usage.
        oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES,
                                    extra_headers={**tokens(100, 10), "x-fake-usage": "omit"})
    with llmledger.customer("cust-err", plan="pro", feature="search"):
        with contextlib.suppress(openai.RateLimitError):  # counted as a failed call
            oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers={"x-fake-status": "429"})
        oai.chat.completions.create(model="gpt-4o", messages=MESSAGES, extra_headers=tokens(1_000, 200))
        oai.chat.completions.create(model=UNPRICED_MODEL, messages=MESSAGES, extra_headers=tokens(100, 10))
    with llmledger.customer("cust-big", feature="agent"):
        claude.messages.create(model="claude-sonnet-4-5", max_tokens=500, messages=MESSAGES,
                               extra_headers=tokens(12_000, 400, cached_tokens=4_000, cache_write_tokens=6_000))
    for customer in FOLDED_CUSTOMERS:
        with llmledger.customer(customer, plan="pro", feature="chat"):
            oai.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, extra_headers=tokens(500, 50))


def emit_content_span(provider: TracerProvider) -> None:
    """A span as another instrumentation with content capture on would send it: the gateway must
    strip the message content before the trace store sees it."""
    tracer = provider.get_tracer("e2e.other-instrumentation")
    with tracer.start_as_current_span("chat gpt-4o") as span:
        span.set_attributes({
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
            "gen_ai.request.model": "gpt-4o", "customer.id": CONTENT_CUSTOMER,
            **{name: f"secret {name}" for name in CONTENT_ATTRIBUTES},
            "gen_ai.prompt.0.content": "secret indexed prompt",
        })
        span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": "secret event prompt"})


class OtherInstrumentation:
    """Semconv GenAI metrics as another instrumentation (e.g. opentelemetry-instrumentation-openai-v2
    plus a cost processor) records them, from a service without llmledger: the overview dashboard's
    semconv panels must show it too."""

    def __init__(self, endpoint: str) -> None:
        self.provider = MeterProvider(
            resource=Resource.create({"service.name": OTHER_INSTRUMENTATION_SERVICE}),
            metric_readers=[PeriodicExportingMetricReader(
                OTLPMetricExporter(endpoint=endpoint, insecure=True), export_interval_millis=1000)])
        meter = self.provider.get_meter("e2e.other-instrumentation")
        self.duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s")
        self.tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}")
        self.ttfc = meter.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s")
        self.cost = meter.create_histogram("gen_ai.usage.cost", unit="USD")

    def record_calls(self) -> None:
        base = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"}
        self.duration.record(0.42, base)
        self.duration.record(0.05, {**base, "error.type": "timeout"})
        self.ttfc.record(0.12, base)
        self.tokens.record(1_200, {**base, "gen_ai.token.type": "input"})
        self.tokens.record(80, {**base, "gen_ai.token.type": "output"})
        self.cost.record(0.0038, base)


def span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None
    return {"name": span.name, "trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}",
            "attributes": dict(span.attributes or {})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--otlp-endpoint", required=True, help="collector OTLP gRPC, http://127.0.0.1:PORT")
    parser.add_argument("--out", required=True, type=Path, help="where to write the finished spans (JSON)")
    parser.add_argument("--service", default=SERVICE)
    parser.add_argument("--phases", type=int, default=3)
    parser.add_argument("--pause", type=float, default=4.0, help="seconds between phases")
    args = parser.parse_args()

    resource = Resource.create({"service.name": args.service})
    memory = InMemorySpanExporter()
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer_provider.add_span_processor(BatchSpanProcessor(
        OTLPSpanExporter(endpoint=args.otlp_endpoint, insecure=True), schedule_delay_millis=500))
    meter_provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=args.otlp_endpoint, insecure=True), export_interval_millis=1000)])

    config = args.out.with_suffix(".llmledger.yaml")
    config.write_text(PLANS_CONFIG.format(service=args.service, cap=METRIC_CUSTOMER_CAP))
    with FakeProviderServer() as fake:
        llmledger.init(config_file=str(config), tracer_provider=tracer_provider, meter_provider=meter_provider)
        oai = openai.OpenAI(base_url=fake.url + "/v1", api_key="e2e", max_retries=0)
        claude = anthropic.Anthropic(base_url=fake.url, api_key="e2e", max_retries=0)
        other = OtherInstrumentation(args.otlp_endpoint)
        for phase in range(args.phases):
            if phase:
                time.sleep(args.pause)  # let Prometheus scrape the counters between phases
            run_phase(oai, claude)
            other.record_calls()
        emit_content_span(tracer_provider)
        llmledger.shutdown()
    for provider in (tracer_provider, meter_provider, other.provider):
        provider.force_flush()
        provider.shutdown()
    args.out.write_text(json.dumps([span_json(s) for s in memory.get_finished_spans()], indent=1))


if __name__ == "__main__":
    main()
