"""The instructions a limit check adds to one LLM call, in-process and with Redis (callgrind).

Same method as ``bench_instructions.py``: each scenario runs in a child Python under callgrind
with 100 and 600 calls after the same warm-up; the difference divided by 500 is one call.
Only the calling thread is counted (the limit check and the spend update both run there).

Scenarios, all the patched ``chat.completions.create`` wrapper around a stand-in returning a
prebuilt ChatCompletion inside ``llmledger.customer("cust-1", plan="pro")``:
- ``bare``: the stand-in alone (no llmledger);
- ``wrapped``: llmledger without limits (the guard is None: one None check);
- ``memory``: a rule for plan ``pro`` with ``usd_per_month``, ``tokens_per_day`` and
  ``calls_per_minute`` (never reached), kept in-process;
- ``redis``: the same rule with ``limits_store: redis://`` (a redis-server started here on
  127.0.0.1). Only the client's instructions on the calling thread count: the server's work, the
  round trip's waiting and the spend flush thread (idle here: every check carries the previous
  call's spend) are not in this number.

Run: ``.venv/bin/python benchmarks/bench_limits.py`` (needs valgrind and redis-server; writes
benchmarks/results/limits.txt). ``BENCH_JOBS`` (default 2) valgrind processes run at a time;
``BENCH_KEEP=DIR`` keeps the callgrind files in DIR for ``callgrind_annotate``.
``--cpu REDIS_URL``: the same four scenarios timed in one process with ``time.process_time``
(5 rounds of 3,000 calls, min and median per call); quicker, noisier, for a loaded machine.
"""

from __future__ import annotations

import gc
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "limits.txt"
SCENARIOS = ("bare", "wrapped", "memory", "redis")
SHORT, LONG, WARM_UP = 100, 600, 100
RULES = [{"plan": "pro", "usd_per_month": 1_000_000, "tokens_per_day": 10**12, "calls_per_minute": 10**9}]


def child(scenario: str, calls: int, redis_url: str) -> None:
    import bench_overhead as bench

    fn, settle = setup(scenario, redis_url)
    bench.counted_run(fn, settle, WARM_UP, calls)


def setup(scenario: str, redis_url: str) -> tuple[Callable[[], None], Callable[[], None]]:
    """One scenario's call, and a function that waits for the metric worker to catch up."""
    sys.path.insert(0, str(Path(__file__).parent))
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    import bench_overhead as bench
    from llmledger.config import load_config
    from llmledger.instrumentation.lifecycle import Lifecycle
    from llmledger.instrumentation.providers.openai import ADAPTER
    from llmledger.limits import build_limit_guard
    from llmledger.pricing import Pricer
    from llmledger.telemetry import Telemetry

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(bench.DropExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    telemetry = Telemetry(tracer_provider, meter_provider)
    telemetry._queue.max_pending = 10**9  # see bench_instructions.py
    lifecycle = Lifecycle(telemetry, Pricer())
    if scenario in ("memory", "redis"):
        config = load_config(None, env={}, limits=RULES,
                             limits_store=redis_url if scenario == "redis" else None)
        guard = build_limit_guard(config, meter_provider=meter_provider,
                                  customer_label=telemetry.metric_customer_id)
        lifecycle.limits = guard
        telemetry.sinks.append(guard)  # type: ignore[arg-type]
    wrapped, bare = bench.own_work_calls(lifecycle.wrapper(ADAPTER, ADAPTER.targets[0]))

    return (bare if scenario == "bare" else wrapped), bench.worker_settled(telemetry)


def cpu_time(redis_url: str, rounds: int = 5, calls: int = 3_000) -> None:
    fns = {scenario: setup(scenario, redis_url) for scenario in SCENARIOS}
    per_call: dict[str, list[float]] = {}
    for _ in range(rounds):
        for scenario, (fn, settle) in fns.items():
            for _ in range(300):
                fn()
            settle()
            gc.disable()
            started = time.process_time()
            for _ in range(calls):
                fn()
            per_call.setdefault(scenario, []).append((time.process_time() - started) / calls * 1e6)
            gc.enable()
            settle()
    for scenario, values in per_call.items():
        values.sort()
        print(f"{scenario:<8} min {values[0]:7.1f} us  median {values[len(values) // 2]:7.1f} us CPU per call")


def count(scenario: str, calls: int, out_dir: Path, redis_url: str) -> int:
    """Instructions on the calling thread of one child run."""
    prefix = out_dir / f"{scenario}-{calls}"
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes",
                    f"--callgrind-out-file={prefix}.out", sys.executable, __file__, "--child", scenario,
                    str(calls), redis_url], check=True, capture_output=True,
                   env={**os.environ, "PYTHONHASHSEED": "0"})  # start-up alike in both runs of a scenario
    main_thread = out_dir / f"{prefix.name}.out-01"
    match = re.search(r"^summary: (\d+)", main_thread.read_text(errors="replace"), re.M)
    return int(match.group(1)) if match else 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def main() -> None:
    for tool in ("valgrind", "redis-server"):
        if shutil.which(tool) is None:
            sys.exit(f"bench_limits: {tool} is not installed")
    keep = os.environ.get("BENCH_KEEP")  # a folder: keep the callgrind files there for callgrind_annotate
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(keep) if keep else Path(tmp)
        out_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        server = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", tmp,
                                   "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL)
        try:
            time.sleep(1)
            url = f"redis://127.0.0.1:{port}/0"
            with ThreadPoolExecutor(int(os.environ.get("BENCH_JOBS", "2"))) as pool:
                runs = {(s, n): pool.submit(count, s, n, out_dir, url) for s in SCENARIOS for n in (SHORT, LONG)}
                counts = {key: future.result() for key, future in runs.items()}
        finally:
            server.terminate()
            server.wait(timeout=10)
    per_call = {s: (counts[s, LONG] - counts[s, SHORT]) / (LONG - SHORT) for s in SCENARIOS}
    own = per_call["wrapped"] - per_call["bare"]
    memory = per_call["memory"] - per_call["wrapped"]
    redis = per_call["redis"] - per_call["wrapped"]
    lines = [
        f"instructions a limit check adds per call (callgrind, calling thread; {time.strftime('%Y-%m-%d')}, "
        f"Python {sys.version.split()[0]}; ({LONG} calls - {SHORT} calls) / {LONG - SHORT})", "",
        f"{'llmledger own work per call, no limits':<44} {own:>10,.0f} instructions",
        f"{'limits in-process (check + spend)':<44} {memory:>10,.0f} instructions  "
        f"{memory / own:6.1%} of llmledger's own work",
        f"{'limits in Redis (client side, 1 round trip)':<44} {redis:>10,.0f} instructions  "
        f"{redis / own:6.1%} of llmledger's own work",
        "", "The rule: plan pro, usd_per_month + tokens_per_day + calls_per_minute (never reached).",
        "Redis: the server's own work and the network wait are not counted (loopback: ~50-100 us).",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), sys.argv[4])
    elif len(sys.argv) == 3 and sys.argv[1] == "--cpu":
        cpu_time(sys.argv[2])
    else:
        main()
