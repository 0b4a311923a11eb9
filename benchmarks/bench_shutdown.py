"""Shutdown and exit against a black-holed collector: bounded by ``shutdown_timeout`` (issue 18).

A loopback socket accepts every connection and never answers (a collector that hangs, or a network
that drops replies). A child process runs ``llmledger.init(otlp_endpoint=..., ledger=...)``, records
calls (span, metric points, ledger row), then either calls ``llmledger.shutdown()`` or just exits.
For each protocol (gRPC, OTLP/HTTP) and ending, this measures the time ``shutdown()`` takes and the
time until the process is gone, and checks every ledger row was written first. Before the bound,
the same runs took 36-42 s (issue 18), past the 30 s grace period of Kubernetes and gunicorn.

Asserted: shutdown <= shutdown_timeout + 1.5 s, exit <= shutdown_timeout + 5 s (interpreter start
and imports included), every row in the ledger. Not a unit test: a timing on a shared VM.

Run: ``.venv/bin/python benchmarks/bench_shutdown.py [--timeout S]``
(writes benchmarks/results/shutdown.txt).
"""

from __future__ import annotations

import argparse
import os
import socket
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results" / "shutdown.txt"
CALLS = 200

_CHILD = """
import sys, time
import llmledger
from llmledger.usage import CallRecord, CustomerContext, Usage
endpoint, protocol, ledger, timeout, ending, calls = sys.argv[1:7]
instrumentor = llmledger.init(otlp_endpoint=endpoint, otlp_protocol=protocol, ledger=ledger,
                              providers=[], service_name="bench-shutdown", shutdown_timeout=float(timeout))
telemetry = instrumentor.telemetry
for index in range(int(calls)):
    now = time.time_ns()
    record = CallRecord(provider="openai", operation="chat", request_model="gpt-4o-mini", stream=False,
                        start_time_ns=now, end_time_ns=now + 1000, usage=Usage(input_tokens=10, output_tokens=2),
                        customer=CustomerContext(f"cust-{index % 7}"))
    telemetry.record(record, telemetry.start_span(record))
start = time.monotonic()
if ending == "shutdown":
    llmledger.shutdown()
print(f"shutdown {time.monotonic() - start:.3f}", flush=True)
"""


class BlackHole:
    """Accepts connections on 127.0.0.1 and never reads or answers; closes them at the end."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self._accepted: list[socket.socket] = []
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def _accept(self) -> None:
        while not self._stopped:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._accepted.append(connection)

    def close(self) -> None:
        self._stopped = True
        self._listener.close()
        for connection in self._accepted:
            connection.close()


def run(protocol: str, ending: str, timeout: float, hole: BlackHole, folder: Path) -> tuple[float, float, int]:
    ledger = folder / f"{protocol.replace('/', '-')}-{ending}.db"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(_CHILD), f"http://127.0.0.1:{hole.port}", protocol, str(ledger),
         str(timeout), ending, str(CALLS)], capture_output=True, text=True, timeout=120)
    total = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"child failed ({done.returncode}):\n{done.stderr}")
    shutdown = float(done.stdout.split()[1])
    with sqlite3.connect(ledger) as db:
        rows = int(db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0])
    return shutdown, total, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timeout", type=float, default=5.0, help="shutdown_timeout (default: 5)")
    args = parser.parse_args()
    lines = [f"llmledger shutdown against a black-holed collector: shutdown_timeout {args.timeout:g} s, "
             f"{CALLS} calls each", f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at "
             f"start, Python {sys.version.split()[0]}", ""]
    failures = []
    hole = BlackHole()
    try:
        with tempfile.TemporaryDirectory(prefix="llmledger-bench-shutdown-") as folder:
            for protocol in ("grpc", "http/protobuf"):
                for ending in ("shutdown", "exit"):
                    shutdown, total, rows = run(protocol, ending, args.timeout, hole, Path(folder))
                    what = "llmledger.shutdown()" if ending == "shutdown" else "interpreter exit  "
                    line = (f"{protocol:<14} {what}  shutdown {shutdown:6.2f} s   process {total:6.2f} s   "
                            f"ledger rows {rows}/{CALLS}")
                    lines.append(line)
                    print(line, flush=True)
                    if ending == "shutdown" and shutdown > args.timeout + 1.5:
                        failures.append(f"{protocol} shutdown took {shutdown:.2f} s")
                    if total > args.timeout + 5 + _start_up_allowance():
                        failures.append(f"{protocol} {ending}: the process took {total:.2f} s")
                    if rows != CALLS:
                        failures.append(f"{protocol} {ending}: {rows} of {CALLS} ledger rows")
    finally:
        hole.close()
    lines += ["", "FAILED: " + "; ".join(failures) if failures else "all within bounds"]
    RESULTS.write_text("\n".join(lines) + "\n")
    print(lines[-1])
    if failures:
        raise SystemExit(1)


def _start_up_allowance() -> float:
    """Interpreter start and imports, measured once (a loaded VM can take seconds)."""
    started = time.monotonic()
    subprocess.run([sys.executable, "-c", "import llmledger, llmledger.otel_setup, opentelemetry.exporter.otlp"],
                   check=True, timeout=120)
    return time.monotonic() - started


if __name__ == "__main__":
    main()
