"""An app that knows nothing about llmledger but ``llmledger.customer``: run it under
``opentelemetry-instrument`` and llmledger is found by its entry point and patches openai.
Prints one JSON object with the finished spans and the per-customer cost points."""

from __future__ import annotations

import asyncio
import json
import os
import sys

import openai
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmledger

exporter = InMemorySpanExporter()
tracer_provider = TracerProvider()
tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(tracer_provider)
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))

url = os.environ["FAKE_PROVIDER_URL"] + "/v1"
client = openai.OpenAI(base_url=url, api_key="sk-live-TOPSECRET", max_retries=0)
aclient = openai.AsyncOpenAI(base_url=url, api_key="sk-live-TOPSECRET", max_retries=0)
usage = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
messages = [{"role": "user", "content": "Summarise."}]

with llmledger.customer("cust-ep", plan="starter"):
    client.chat.completions.create(model="gpt-4o", messages=messages, extra_headers=usage)
    for _ in client.chat.completions.create(model="gpt-4o", messages=messages, stream=True,
                                            extra_headers=usage):
        pass

    async def async_call() -> None:
        await aclient.chat.completions.create(model="gpt-4o", messages=messages, extra_headers=usage)

    asyncio.run(async_call())
    client.responses.create(model="gpt-4o", input="Summarise.", extra_headers=usage)
    client.chat.completions.create(model="acme-llm-9000", messages=messages, extra_headers=usage)

cost_points = []
for rm in reader.get_metrics_data().resource_metrics:
    for sm in rm.scope_metrics:
        for metric in sm.metrics:
            if metric.name == "llmledger.customer.cost":
                cost_points += [{"attributes": dict(p.attributes), "value": p.value}
                                for p in metric.data.data_points]
json.dump({"spans": [{"name": s.name, "attributes": dict(s.attributes)} for s in exporter.get_finished_spans()],
           "customer_cost": cost_points}, sys.stdout)
