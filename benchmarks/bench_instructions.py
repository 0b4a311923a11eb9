"""Per-call cost in CPU instructions, counted by valgrind's callgrind: repeatable where timings on a
shared virtual machine vary by a third from one run to the next.

Each scenario runs in a child Python under callgrind twice, with 400 and 1,400 calls after the
same warm-up; the difference divided by 1,000 is the cost of one call, start-up and imports
cancelled out. Threads are counted apart (``--separate-threads``): the calling thread's count is
the call's own path, the others are llmledger's metric worker and the span processor.

Scenarios (the ``own_work`` set-up of bench_overhead.py):
- ``wrapped``: the patched ``chat.completions.create`` wrapper around a stand-in returning a
  prebuilt ChatCompletion, inside ``llmledger.customer(...)``;
- ``bare``: the stand-in alone, inside the same customer scope;
- ``reference``: DESIGN.md's yardstick, one span with 15 attributes plus 5 metric points;
- ``contract``: the OpenTelemetry SDK's share of a wrapped call: the same span (its attributes given
  at start and at end as llmledger gives them) and the same metric points (values, attribute sets,
  exemplar context or none), replayed with nothing of llmledger's around them. ``own work`` minus
  this is llmledger's own logic: extraction, pricing, attribution, sums.

Run: ``.venv/bin/python benchmarks/bench_instructions.py`` (needs valgrind; about 10 minutes;
writes benchmarks/results/instructions.txt).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "instructions.txt"
SCENARIOS = ("wrapped", "bare", "reference", "contract")
SHORT, LONG, WARM_UP = 400, 1_400, 300


def child(scenario: str, calls: int) -> None:
    """Runs under callgrind: warm up, then ``calls`` calls, then let the worker threads finish."""
    sys.path.insert(0, str(Path(__file__).parent))
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import bench_overhead as bench
    from llmledger.instrumentation.lifecycle import Lifecycle
    from llmledger.instrumentation.providers.openai import ADAPTER
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(bench.DropExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    telemetry = Telemetry(tracer_provider, meter_provider)
    # valgrind runs one thread at a time, on its own schedule: with the usual bound the queue could
    # fill and callers record their own points, mixing the two shares. Unbounded here, the calling
    # thread's count is the call path alone and the worker's is the deferred work alone.
    telemetry._queue.max_pending = 10**9
    wrapped, bare = bench.own_work_calls(Lifecycle(telemetry, Pricer()).wrapper(ADAPTER, ADAPTER.targets[0]))

    reference = bench.reference_call(tracer_provider, meter_provider)
    contract = contract_call(tracer_provider, meter_provider)

    fn: Callable[[], None] = {"wrapped": wrapped, "bare": bare, "reference": reference,
                              "contract": contract}[scenario]
    bench.counted_run(fn, bench.worker_settled(telemetry), WARM_UP, calls)
    time.sleep(0.2)


def contract_call(tracer_provider: Any, meter_provider: Any) -> Callable[[], None]:
    """A replay, with OpenTelemetry alone, of the span and the metric points one wrapped call makes
    (captured from a real one through public SDK hooks)."""
    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from opentelemetry.trace import NonRecordingSpan

    import bench_overhead as bench
    from llmledger.instrumentation.lifecycle import Lifecycle
    from llmledger.instrumentation.providers.openai import ADAPTER
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

    class StartAttributes(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            started.update(span.attributes)

    started: dict[str, Any] = {}
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    capture_tracer = TracerProvider()
    capture_tracer.add_span_processor(StartAttributes())
    capture_tracer.add_span_processor(SimpleSpanProcessor(spans))
    capture = Telemetry(capture_tracer, MeterProvider(metric_readers=[reader]))
    capture.close()  # points recorded on this thread, before the reader collects
    bench.own_work_calls(Lifecycle(capture, Pricer()).wrapper(ADAPTER, ADAPTER.targets[0]))[0]()
    (span,) = spans.get_finished_spans()
    ended = {key: value for key, value in (span.attributes or {}).items() if key not in started}
    data = reader.get_metrics_data()
    assert data is not None
    meter = meter_provider.get_meter("contract")
    points = [(meter.create_histogram(metric.name, unit=metric.unit), point.sum, dict(point.attributes or {}),
               bool(point.exemplars))
              for resource in data.resource_metrics for scope in resource.scope_metrics
              for metric in scope.metrics for point in metric.data.data_points
              if isinstance(point, HistogramDataPoint)]
    tracer = tracer_provider.get_tracer("contract")

    def once() -> None:
        replayed = tracer.start_span(span.name, kind=span.kind, attributes=started, start_time=time.time_ns())
        replayed.set_attributes(ended)
        replayed.end(end_time=time.time_ns())
        linked = trace.set_span_in_context(NonRecordingSpan(replayed.get_span_context()))
        for histogram, value, attributes, exemplar in points:
            histogram.record(value, attributes, linked if exemplar else Context())
    return once


def count(scenario: str, calls: int, out_dir: Path) -> tuple[int, int]:
    """(instructions on the calling thread, on all other threads) of one child run."""
    prefix = out_dir / f"{scenario}-{calls}"
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                    f"--callgrind-out-file={prefix}.out", sys.executable, __file__, "--child", scenario,
                    str(calls)], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})  # the same dict layouts in every run
    totals = {}
    for path in out_dir.glob(f"{prefix.name}.out-*"):
        match = re.search(r"^summary: (\d+)", path.read_text(errors="replace"), re.M)
        totals[int(path.name.rsplit("-", 1)[1])] = int(match.group(1)) if match else 0
    return totals.pop(1), sum(totals.values())


def main() -> None:
    if shutil.which("valgrind") is None:
        sys.exit("bench_instructions: valgrind is not installed (apt-get install valgrind)")
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(2) as pool:
        runs = {(s, n): pool.submit(count, s, n, Path(tmp)) for s in SCENARIOS for n in (SHORT, LONG)}
        counts = {key: future.result() for key, future in runs.items()}
    per_call = {s: tuple((counts[s, LONG][i] - counts[s, SHORT][i]) / (LONG - SHORT) for i in (0, 1))
                for s in SCENARIOS}
    own_path = per_call["wrapped"][0] - per_call["bare"][0]
    own_rest = per_call["wrapped"][1] - per_call["bare"][1]
    reference = per_call["reference"][0] + per_call["reference"][1]
    contract = per_call["contract"][0] + per_call["contract"][1]
    lines = [
        f"llmledger per-call instructions (callgrind; {time.strftime('%Y-%m-%d')}, Python {sys.version.split()[0]}; "
        f"({LONG} calls - {SHORT} calls) / {LONG - SHORT})", "",
        f"{'own work on the calling thread':<40} {own_path:>10,.0f} instructions  "
        f"{own_path / reference:5.2f} x reference",
        f"{'own work on other threads (metric worker)':<40} {own_rest:>10,.0f} instructions  "
        f"{own_rest / reference:5.2f} x reference",
        f"{'own work in all':<40} {own_path + own_rest:>10,.0f} instructions  "
        f"{(own_path + own_rest) / reference:5.2f} x reference",
        f"{'reference: span(15 attrs) + 5 points':<40} {reference:>10,.0f} instructions  (DESIGN.md: ~96 us)",
        f"{'contract: the same span and points, SDK only':<40} {contract:>10,.0f} instructions",
        f"{'own logic (own work in all - contract)':<40} {own_path + own_rest - contract:>10,.0f} instructions",
        "", f"At DESIGN.md's ~96 us for the reference: about {96 * own_path / reference:.0f} us on the calling "
        f"thread, {96 * (own_path + own_rest) / reference:.0f} us in all.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]))
    else:
        main()
