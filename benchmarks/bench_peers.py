"""llmledger against the official OpenTelemetry openai-v2 instrumentation, in CPU instructions.

Both instrument the real ``openai`` SDK on the same workload: an in-memory transport
(``httpx2.MockTransport``, no sockets), a BatchSpanProcessor with an exporter that drops
everything, metrics into a reader that is never collected during the run. Scenarios: a sync chat
call, an async chat call, a 100-chunk stream and a 1-chunk stream (their difference / 99 is the
cost of one extra chunk).

Counting is bench_instructions.py's callgrind, every thread counted (``--separate-threads``; the
calling thread is also reported apart), with two child runs per (contender, scenario) that
instrument and warm up alike; the "restored" run then uninstruments before its counted calls.
(patched - restored) / calls is one call's cost: start-up, imports, warm-up and the SDK's own work
cancel out (two runs per cell instead of bench_instructions.py's four). The floor is DESIGN.md's
yardstick alone: one span with 15 attributes plus 5 metric points, no SDK.

openai-v2 runs in its own uv virtualenv under ``~/.cache/llmledger-bench/peers`` (created on the
first run with the same openai, httpx, httpx2 and OpenTelemetry versions as this project's
``constraints.txt``), in its latest semantic-conventions mode
(``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``, as its documentation says), no
content capture (its default).

Run: ``.venv/bin/python benchmarks/bench_peers.py [sync async stream100 stream1]`` (default: all;
needs valgrind and uv; writes benchmarks/results/peers.txt). 18 callgrind runs of a child Python,
``BENCH_JOBS`` (default 2) at a time; each is a few CPU-minutes, mostly start-up, which the same in
both runs of a cell cancels out. Not yet timed to completion: on the shared 2-core VM at load 25 a
run got 4% of a core.
"""

from __future__ import annotations

import asyncio
import gc
import json
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

from reference_call import reference_call

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results" / "peers.txt"
PEER_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "llmledger-bench" / "peers"
PEER_PACKAGE = "opentelemetry-instrumentation-openai-v2==2.4b0"
# openai-v2 2.4b0 imports opentelemetry.util.genai.instruments, which util-genai 1.2b0 renamed
PEER_DEPENDENCIES = ("opentelemetry-util-genai==1.1b0",)
SHARED_PINS = ("openai", "httpx", "httpx2", "opentelemetry-api", "opentelemetry-sdk", "opentelemetry-instrumentation",
               "opentelemetry-semantic-conventions")
# (warm-up, counted) calls per scenario: enough to swamp the noise, few enough for callgrind (~50x
# slower than native; start-up, the same in both runs, is most of a run)
CALLS = {"sync": (10, 40), "async": (10, 40), "stream100": (2, 5), "stream1": (10, 40)}
CONTENDERS = ("llmledger", "openai-v2")
MSG = [{"role": "user", "content": "hi"}]
# OpenAI's own URL (the transport is in memory): llmledger names and prices the calls as it would in an app
BASE_URL = "https://api.openai.com/v1"
USAGE = {"prompt_tokens": 1200, "completion_tokens": 300, "total_tokens": 1500,
         "prompt_tokens_details": {"cached_tokens": 200}, "completion_tokens_details": {"reasoning_tokens": 0}}


def completion_body() -> bytes:
    return json.dumps({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "ok"}}],
        "usage": USAGE}).encode()


def stream_body(chunks: int) -> bytes:
    parts: list[dict[str, Any]] = [
        {"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
         "choices": [{"index": 0, "delta": {"content": f"t{i}"}, "finish_reason": "stop" if i == chunks - 1 else None}]}
        for i in range(chunks)]
    parts.append({"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06",
                  "choices": [], "usage": USAGE})
    return b"".join(b"data: " + json.dumps(p).encode() + b"\n\n" for p in parts) + b"data: [DONE]\n\n"


def workload(scenario: str) -> Callable[[], object]:
    """One call of the scenario through the real SDK (patched or not: whatever is installed now)."""
    import httpx2
    import openai

    bodies = {"stream100": stream_body(100), "stream1": stream_body(1)}
    completion = completion_body()

    def handler(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content.replace(b" ", b""):
            return httpx2.Response(200, content=bodies[scenario], headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=completion, headers={"content-type": "application/json"})

    transport = httpx2.MockTransport(handler)
    if scenario == "async":
        aclient = openai.AsyncOpenAI(api_key="x", base_url=BASE_URL, max_retries=0,
                                     http_client=httpx2.AsyncClient(transport=transport))
        loop = asyncio.new_event_loop()

        async def acall() -> None:
            await aclient.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]
        return lambda: loop.run_until_complete(acall())
    client = openai.OpenAI(api_key="x", base_url=BASE_URL, max_retries=0,
                           http_client=httpx2.Client(transport=transport))
    if scenario == "sync":
        return lambda: client.chat.completions.create(model="gpt-4o", messages=MSG)  # type: ignore[arg-type]

    def stream() -> None:
        for _ in client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True):  # type: ignore[arg-type]
            pass
    return stream


def child(contender: str, mode: str, scenario: str, calls: int) -> None:
    """Runs under callgrind: set up, warm up, then ``calls`` calls, then let the worker threads finish."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(BatchSpanProcessor(DropExporter()))
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    settle: Callable[[], None] = lambda: None  # noqa: E731
    fn: Callable[[], object]
    restore: Callable[[], object] = lambda: None  # noqa: E731
    if contender == "floor":
        fn = reference_call(tracer_provider, meter_provider)
    elif contender == "llmledger":
        import llmledger
        from llmledger.config import Config
        from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

        instrumentor = LLMLedgerInstrumentor()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider,
                                config=Config(providers=frozenset({"openai"})))  # openai-v2's scope
        telemetry = instrumentor.telemetry
        # valgrind runs one thread at a time: with the usual bound the queue could fill and callers
        # record their own points. Unbounded here, the calling thread's count is the call path alone.
        telemetry._queue.max_pending = 10**9
        call = workload(scenario)

        def fn() -> None:
            with llmledger.customer("cust-1", plan="pro", feature="chat"):
                call()

        def settle() -> None:  # the worker records the queued calls on its own thread
            while telemetry._queue.pending():
                time.sleep(0.01)
        restore = instrumentor.uninstrument
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        peer = OpenAIInstrumentor()
        peer.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        fn = workload(scenario)
        restore = peer.uninstrument
    for _ in range(CALLS[scenario][0]):  # patched in both modes: the same warm-up work
        fn()
    settle()
    if mode == "restored":  # the SDK alone from here (the floor: nothing at all)
        restore()
        settle = lambda: None  # noqa: E731
        fn = (lambda: None) if contender == "floor" else fn
    gc.collect()
    gc.disable()
    for _ in range(calls):
        fn()
    settle()
    time.sleep(0.2)


def peer_python() -> Path:
    """The openai-v2 virtualenv's python, created on first use with this project's pinned SDK versions."""
    python = PEER_VENV / "bin" / "python"
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    pins = {line.split("==")[0]: line.strip() for line in (ROOT / "constraints.txt").read_text().splitlines()
            if "==" in line}
    wanted = [pins[name] for name in SHARED_PINS if name in pins] + [PEER_PACKAGE, *PEER_DEPENDENCIES]
    stamp = PEER_VENV / ".bench-peers"
    if not python.exists() or not stamp.exists() or stamp.read_text() != " ".join(wanted):
        subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(PEER_VENV)], check=True)
        subprocess.run([uv, "pip", "install", "-q", "--python", str(python), *wanted], check=True)
        stamp.write_text(" ".join(wanted))
    return python


def count(python: Path, contender: str, mode: str, scenario: str, calls: int, out_dir: Path) -> tuple[int, int]:
    """(instructions on the calling thread, on all threads) of one child run."""
    prefix = out_dir / f"{contender}-{mode}-{scenario}-{calls}"
    subprocess.run(["valgrind", "--tool=callgrind", "--separate-threads=yes", f"--callgrind-out-file={prefix}.out",
                    str(python), __file__, "--child", contender, mode, scenario, str(calls)],
                   check=True, capture_output=True, env=child_env())
    totals = {}
    for path in out_dir.glob(f"{prefix.name}.out-*"):
        match = re.search(r"^summary: (\d+)", path.read_text(errors="replace"), re.M)
        totals[int(path.name.rsplit("-", 1)[1])] = int(match.group(1)) if match else 0
    return totals[1], sum(totals.values())


def child_env() -> dict[str, str]:
    """Bytecode cached across runs (compiling every module again would be most of a run under
    callgrind), openai-v2 in its latest semantic-conventions mode."""
    env = dict(os.environ, OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental",
               PYTHONPYCACHEPREFIX=str(PEER_VENV.parent / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main(scenarios: list[str]) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("bench_peers: valgrind is not installed (apt-get install valgrind)")
    pythons = {"llmledger": Path(sys.executable), "openai-v2": peer_python(), "floor": Path(sys.executable)}
    jobs = [(c, m, s) for s in scenarios for c in CONTENDERS for m in ("patched", "restored")] + [
        ("floor", m, "sync") for m in ("patched", "restored")]
    started = time.monotonic()
    for contender in CONTENDERS:  # fills the bytecode cache before the counted runs
        subprocess.run([str(pythons[contender]), __file__, "--child", contender, "patched", "sync", "1"],
                       check=True, env=child_env())
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(int(os.environ.get("BENCH_JOBS", "2"))) as pool:
        runs = {(c, m, s): pool.submit(count, pythons[c], c, m, s, CALLS[s][1], Path(tmp)) for c, m, s in jobs}
        counts = {key: future.result() for key, future in runs.items()}
    report(counts, scenarios, time.monotonic() - started)


def report(counts: dict[tuple[str, str, str], tuple[int, int]], scenarios: list[str], seconds: float) -> None:
    def cost(c: str, s: str) -> tuple[float, float]:
        patched, restored = counts[c, "patched", s], counts[c, "restored", s]
        return (patched[0] - restored[0]) / CALLS[s][1], (patched[1] - restored[1]) / CALLS[s][1]

    table = {(c, s): cost(c, s) for c in CONTENDERS for s in scenarios}
    names = {"sync": "sync chat call", "async": "async chat call", "stream100": "100-chunk stream",
             "stream1": "1-chunk stream"}
    if "stream100" in scenarios and "stream1" in scenarios:
        names["chunk"] = "per extra chunk"
        for c in CONTENDERS:
            table[c, "chunk"] = ((table[c, "stream100"][0] - table[c, "stream1"][0]) / 99,
                                 (table[c, "stream100"][1] - table[c, "stream1"][1]) / 99)
    floor = cost("floor", "sync")
    lines = [
        f"Instructions per call added to openai {version('openai')} (callgrind; {time.strftime('%Y-%m-%d')}, "
        f"Python {sys.version.split()[0]}; {PEER_PACKAGE.replace('==', ' ')} in gen_ai_latest_experimental mode)",
        "(patched run - restored run) / calls; both runs instrument and warm up alike, the restored one "
        "uninstruments before its counted calls; calls per scenario: "
        + ", ".join(f"{s} {CALLS[s][1]} after {CALLS[s][0]}" for s in scenarios), "",
        f"{'':<20} {'llmledger all':>14} {'openai-v2 all':>14} {'ratio':>6}   {'llmledger caller':>16} "
        f"{'openai-v2 caller':>16} {'ratio':>6}"]
    for s, name in names.items():
        if (s in scenarios) or s == "chunk":
            own, peer = table["llmledger", s], table["openai-v2", s]
            lines.append(f"{name:<20} {own[1]:>14,.0f} {peer[1]:>14,.0f} {own[1] / peer[1]:>6.2f}   "
                         f"{own[0]:>16,.0f} {peer[0]:>16,.0f} {own[0] / peer[0]:>6.2f}")
    lines += ["", f"floor (1 span, 15 attributes, 5 metric points, no SDK): {floor[1]:,.0f} in all, "
              f"{floor[0]:,.0f} on the calling thread",
              f"run time {seconds:.0f} s (load average {os.getloadavg()[0]:.0f} at the end)"]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def version(distribution: str) -> str:
    from importlib.metadata import version as installed

    return installed(distribution)


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main([s for s in sys.argv[1:] if s in CALLS] or list(CALLS))
