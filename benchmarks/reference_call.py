"""DESIGN.md's yardstick call, shared by the benchmarks: one span with 15 attributes plus 5 metric
points. Only OpenTelemetry is used, so the peer benchmark can run it in a venv without llmledger."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def reference_call(tracer_provider: Any, meter_provider: Any) -> Callable[[], None]:
    """DESIGN.md's yardstick: one span with 15 attributes plus 5 metric points."""
    tracer = tracer_provider.get_tracer("reference")
    meter = meter_provider.get_meter("reference")
    histogram, counter = meter.create_histogram("reference.h"), meter.create_counter("reference.c")
    span_attrs = {f"attribute.{i}": f"value-{i}" for i in range(15)}
    point_attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai",
                   "gen_ai.request.model": "gpt-4o", "gen_ai.response.model": "gpt-4o-2024-08-06"}

    def once() -> None:
        tracer.start_span("chat gpt-4o", attributes=span_attrs).end()
        for _ in range(3):
            histogram.record(5, point_attrs)
        for _ in range(2):
            counter.add(1, point_attrs)
    return once
