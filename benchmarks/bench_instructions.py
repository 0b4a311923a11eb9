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
- ``reference``: DESIGN.md's yardstick, one span with 15 attributes plus 5 metric points.

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

RESULTS = Path(__file__).parent / "results" / "instructions.txt"
SCENARIOS = ("wrapped", "bare", "reference")
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

    fn: Callable[[], None] = {"wrapped": wrapped, "bare": bare, "reference": reference}[scenario]
    bench.counted_run(fn, bench.worker_settled(telemetry), WARM_UP, calls)
    time.sleep(0.2)


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
