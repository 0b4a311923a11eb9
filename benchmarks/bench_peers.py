"""llmledger against the official OpenTelemetry openai-v2 instrumentation, in CPU instructions.

Both instrument the real ``openai`` SDK on the same workload: an in-memory transport
(``httpx2.MockTransport``, no sockets), a BatchSpanProcessor with an exporter that drops
everything, metrics into a reader that is never collected during the run. Scenarios: a sync chat
call, an async chat call, a 100-chunk stream and a 1-chunk stream (their difference / 99 is the
cost of one extra chunk).

Counting: child Pythons under callgrind, per (contender, scenario) one with ``--separate-threads``
(the calling thread alone) and one without (every thread). Inside each, callgrind's client requests
(``CALLGRIND_ZERO_STATS`` / ``CALLGRIND_DUMP_STATS_AT``, from a 3-line C helper compiled on first
use) count exactly the measured calls: instrument, warm up, zero, N calls, wait for the worker
threads to finish them and flush the span processor, dump; then uninstrument, warm up, zero, the
same N calls on the bare SDK, dump. (patched - restored) / N is one call's cost, every thread
counted. Start-up and imports are never counted, so the figures do not carry their noise (two
separate processes differ by millions of instructions at start-up). ``PYTHONHASHSEED=0`` and the
garbage collector off during the counted calls make runs repeatable. The floor is DESIGN.md's
yardstick alone: one span with 15 attributes plus 5 metric points, no SDK.

openai-v2 runs in its own uv virtualenv under ``~/.cache/llmledger-bench/peers`` (created on the
first run with the same openai, httpx, httpx2 and OpenTelemetry versions as this project's
``constraints.txt``), in its latest semantic-conventions mode
(``OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental``, as its documentation says), no
content capture (its default).

Run: ``.venv/bin/python benchmarks/bench_peers.py [sync async stream100 stream1]`` (default: all;
needs valgrind with its headers, gcc and uv; writes benchmarks/results/peers.txt).
``BENCH_JOBS`` (default 2) callgrind runs at a time.
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
# (warm-up, counted) calls per scenario: only the counted calls are counted, so a few suffice; the
# warm-up fills every cache the calls use (prices, endpoints, attribute sets, the SDK's own)
CALLS = {"sync": (20, 100), "async": (20, 100), "stream100": (5, 20), "stream1": (20, 100)}
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


def child(contender: str, scenario: str, calls: int, control: str) -> None:
    """Runs under callgrind: the patched calls, then the same calls restored, each counted apart
    through callgrind's client requests (``control``: the compiled helper)."""
    import ctypes

    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class DropExporter(SpanExporter):
        def export(self, spans: Any) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    callgrind = ctypes.CDLL(control)
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
        queue = instrumentor.telemetry._queue
        # valgrind runs one thread at a time: with the usual bound the queue could fill and callers
        # record their own points. Unbounded here, the calling thread's count is the call path alone;
        # BENCH_INLINE=1: bound 0, every call records its own points (all the work on one thread)
        queue.max_pending = 0 if os.environ.get("BENCH_INLINE") == "1" else 10**9
        call = workload(scenario)

        def fn() -> None:
            with llmledger.customer("cust-1", plan="pro", feature="chat"):
                call()

        def settle() -> None:  # the worker records the queued calls on its own thread
            while queue.pending():
                time.sleep(0.01)
            with queue._drain_lock:  # and has finished the last one it took
                pass
        restore = instrumentor.uninstrument
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        peer = OpenAIInstrumentor()
        peer.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        fn = workload(scenario)
        restore = peer.uninstrument

    def counted(label: str) -> None:
        for _ in range(CALLS[scenario][0]):
            fn()
        settle()
        tracer_provider.force_flush()
        gc.collect()
        gc.disable()
        callgrind.cg_zero()
        for _ in range(calls):
            fn()
        settle()
        tracer_provider.force_flush()  # the span processor's export of these calls' spans
        callgrind.cg_dump(label.encode())
        gc.enable()

    counted("patched")
    restore()
    if contender == "floor":
        fn = lambda: None  # noqa: E731
    counted("restored")


def compiled_control() -> str:
    """The shared library whose two functions issue callgrind's zero and dump client requests."""
    library = PEER_VENV.parent / "callgrind_control.so"
    if not library.exists():
        source = PEER_VENV.parent / "callgrind_control.c"
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text("#include <valgrind/callgrind.h>\n"
                          "void cg_zero(void) { CALLGRIND_ZERO_STATS; }\n"
                          "void cg_dump(const char *label) { CALLGRIND_DUMP_STATS_AT(label); }\n")
        subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return str(library)


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


def count(python: Path, contender: str, scenario: str, out_dir: Path, control: str) -> dict[str, tuple[int, ...]]:
    """{"patched"|"restored": (instructions on the calling thread, on all threads, all with llmledger's
    points recorded by the calling thread)} of the counted calls. A client request dumps only its
    own thread's counts when threads are counted apart, so each figure is a child run of its own:
    ``--separate-threads=yes`` for the calling thread, ``no`` for all threads."""
    runs = [("caller", "yes", "0"), ("all", "no", "0")] + ([("inline", "no", "1")] if contender == "llmledger" else [])
    counts: dict[str, dict[str, int]] = {}
    for run, separate, inline in runs:
        prefix = out_dir / f"{contender}-{scenario}-{run}"
        subprocess.run(["valgrind", "--tool=callgrind", f"--separate-threads={separate}",
                        f"--callgrind-out-file={prefix}.out", str(python), __file__, "--child", contender, scenario,
                        str(CALLS[scenario][1]), control], check=True, capture_output=True,
                       env={**child_env(), "BENCH_INLINE": inline})
        for path in out_dir.glob(f"{prefix.name}.out.*"):  # <prefix>.out.<dump>[-<thread>]
            text = path.read_text(errors="replace")
            label = re.search(r"^desc: Trigger: Client Request: (\w+)", text, re.M)
            total = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if label and total:
                counts.setdefault(label.group(1), {})[run] = int(total.group(1))
    return {label: (found["caller"], found["all"], found.get("inline", found["all"]))
            for label, found in counts.items()}


def child_env() -> dict[str, str]:
    """Bytecode cached across runs (compiling every module again would be most of a run under
    callgrind), openai-v2 in its latest semantic-conventions mode."""
    env = dict(os.environ, OTEL_SEMCONV_STABILITY_OPT_IN="gen_ai_latest_experimental",
               PYTHONPYCACHEPREFIX=str(PEER_VENV.parent / "pycache"), PYTHONHASHSEED="0")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def main(scenarios: list[str]) -> None:
    if shutil.which("valgrind") is None:
        sys.exit("bench_peers: valgrind is not installed (apt-get install valgrind)")
    pythons = {"llmledger": Path(sys.executable), "openai-v2": peer_python(), "floor": Path(sys.executable)}
    control = compiled_control()
    jobs = [(c, s) for s in scenarios for c in CONTENDERS] + [("floor", "sync")]
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(int(os.environ.get("BENCH_JOBS", "2"))) as pool:
        runs = {(c, s): pool.submit(count, pythons[c], c, s, Path(tmp), control) for c, s in jobs}
        counts = {key: future.result() for key, future in runs.items()}
    report(counts, scenarios, time.monotonic() - started)


def report(counts: dict[tuple[str, str], dict[str, tuple[int, ...]]], scenarios: list[str], seconds: float) -> None:
    def cost(c: str, s: str) -> tuple[float, ...]:
        patched, restored = counts[c, s]["patched"], counts[c, s]["restored"]
        return tuple((p - r) / CALLS[s][1] for p, r in zip(patched, restored, strict=True))

    table = {(c, s): cost(c, s) for c in CONTENDERS for s in scenarios}
    names = {"sync": "sync chat call", "async": "async chat call", "stream100": "100-chunk stream",
             "stream1": "1-chunk stream"}
    if "stream100" in scenarios and "stream1" in scenarios:
        names["chunk"] = "per extra chunk"
        for c in CONTENDERS:
            table[c, "chunk"] = tuple((long - short) / 99 for long, short in
                                      zip(table[c, "stream100"], table[c, "stream1"], strict=True))
    floor = cost("floor", "sync")
    lines = [
        f"Instructions per call added to openai {version('openai')} (callgrind; {time.strftime('%Y-%m-%d')}, "
        f"Python {sys.version.split()[0]}; {PEER_PACKAGE.replace('==', ' ')} in gen_ai_latest_experimental mode)",
        "(patched calls - the same calls restored) / calls, each counted alone in one process (callgrind "
        "client requests); calls per scenario: "
        + ", ".join(f"{s} {CALLS[s][1]} after {CALLS[s][0]}" for s in scenarios),
        "caller: the calling thread; all: every thread; work: every thread, llmledger's metric points recorded by "
        "the caller (the same work without valgrind's thread switching, see the README)", "",
        f"{'':<18} {'llmledger':>10} {'openai-v2':>10} {'ratio':>6} | {'llmledger':>10} {'openai-v2':>10} "
        f"{'ratio':>6} | {'llmledger':>10} {'ratio':>6}",
        f"{'':<18} {'caller':>10} {'caller':>10} {'':>6} | {'all':>10} {'all':>10} {'':>6} | {'work':>10} {'':>6}"]
    for s, name in names.items():
        if (s in scenarios) or s == "chunk":
            own, peer = table["llmledger", s], table["openai-v2", s]
            lines.append(f"{name:<18} {own[0]:>10,.0f} {peer[0]:>10,.0f} {own[0] / peer[0]:>6.2f} | "
                         f"{own[1]:>10,.0f} {peer[1]:>10,.0f} {own[1] / peer[1]:>6.2f} | "
                         f"{own[2]:>10,.0f} {own[2] / peer[1]:>6.2f}")
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
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
    else:
        main([s for s in sys.argv[1:] if s in CALLS] or list(CALLS))
