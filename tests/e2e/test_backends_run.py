"""``scripts/backends/run.sh`` starts the collector, Jaeger and Prometheus with the shipped configs,
the README's demo fills them, and ``stop`` ends exactly those processes.

Ports are moved to free ones through the configs' own variables (the script's defaults, 4317, 9090,
16686, may be taken on a shared machine); the binaries are the ones the other e2e tests use.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.parse
from decimal import Decimal
from pathlib import Path

from e2e_backends import ROOT, Binaries, free_port, http_get, render_prometheus_config

RUN_SH = ROOT / "scripts" / "backends" / "run.sh"


def _run(action: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", str(RUN_SH), action], env=env, capture_output=True, text=True,
                          timeout=240, check=False)


def _alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for its (re-)parent to reap it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


def _query(url: str, expr: str) -> list[dict[str, object]]:
    body = json.loads(http_get(f"{url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"))
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def test_run_sh_starts_the_stack_the_demo_fills_and_stops_it(binaries: Binaries, tmp_path: Path) -> None:
    ports = {name: free_port() for name in ("grpc", "http", "prom_exporter", "telemetry", "health", "jaeger_grpc",
                                             "jaeger_http", "jaeger_query", "jaeger_query_grpc",
                                             "jaeger_telemetry", "jaeger_health", "prometheus")}
    prometheus_config = render_prometheus_config(
        tmp_path / "prometheus.yml", [f"127.0.0.1:{ports['prom_exporter']}"], [f"127.0.0.1:{ports['telemetry']}"])
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMLEDGER_"))},
        "LLMLEDGER_OTELCOL_BIN": str(binaries.otelcol), "LLMLEDGER_JAEGER_BIN": str(binaries.jaeger),
        "LLMLEDGER_PROMETHEUS_BIN": str(binaries.prometheus),
        "LLMLEDGER_BACKENDS_RUN_DIR": str(tmp_path / "run"),
        "LLMLEDGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{ports['grpc']}",
        "LLMLEDGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{ports['http']}",
        "LLMLEDGER_PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{ports['prom_exporter']}",
        "LLMLEDGER_COLLECTOR_TELEMETRY_PORT": str(ports["telemetry"]),
        "LLMLEDGER_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{ports['health']}",
        "LLMLEDGER_TRACES_OTLP_ENDPOINT": f"127.0.0.1:{ports['jaeger_grpc']}",
        "JAEGER_OTLP_GRPC_PORT": str(ports["jaeger_grpc"]), "JAEGER_OTLP_HTTP_PORT": str(ports["jaeger_http"]),
        "JAEGER_QUERY_HTTP_PORT": str(ports["jaeger_query"]),
        "JAEGER_QUERY_GRPC_PORT": str(ports["jaeger_query_grpc"]),
        "JAEGER_TELEMETRY_PORT": str(ports["jaeger_telemetry"]), "JAEGER_HEALTH_PORT": str(ports["jaeger_health"]),
        "LLMLEDGER_PROMETHEUS_LISTEN": f"127.0.0.1:{ports['prometheus']}",
        "LLMLEDGER_PROMETHEUS_CONFIG": str(prometheus_config),
    }
    pids: list[int] = []
    try:
        started = _run("start", env)
        assert started.returncode == 0, started.stdout + started.stderr
        status = _run("status", env).stdout
        assert status.count(" running (pid ") == 3, status
        pids = [int((tmp_path / "run" / f"{name}.pid").read_text()) for name in ("jaeger", "collector", "prometheus")]

        demo = subprocess.run(
            [sys.executable, "-m", "llmledger", "demo", "--month", "2026-09", "--workers", "8", "--format", "json",
             "--otlp-endpoint", f"http://127.0.0.1:{ports['grpc']}"],
            cwd=tmp_path, env={**env, "PYTHONIOENCODING": "utf-8"}, capture_output=True, text=True,
            timeout=300, check=False)
        assert demo.returncode == 0, demo.stderr
        rows = json.loads(demo.stdout)["report"]["rows"]
        ledger_cost = next(Decimal(row["cost_usd"]) for row in rows if row["customer"] == "brightline-legal")

        prometheus = f"http://127.0.0.1:{ports['prometheus']}"
        expr = 'sum(llmledger_customer_cost_USD_total{customer_id="brightline-legal"})'
        deadline, seen = time.monotonic() + 90, []
        while time.monotonic() < deadline:
            seen = _query(prometheus, expr)
            if seen and abs(Decimal(str(seen[0]["value"][1])) - ledger_cost) < Decimal("1e-9"):  # type: ignore[index]
                break
            time.sleep(1)
        else:
            raise AssertionError(f"Prometheus never showed the ledger's {ledger_cost}: {seen}")
        services = json.loads(http_get(f"http://127.0.0.1:{ports['jaeger_query']}/api/services"))["data"]
        assert "llmledger-demo" in services
    finally:
        stopped = _run("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    alive = [pid for pid in pids if _alive(pid)]
    assert not alive, f"still running after run.sh stop: {alive}"
    assert _run("status", env).stdout.count(" not running") == 3
