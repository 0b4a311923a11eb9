"""Helpers for the e2e tests: locate, start, wait for and stop the real backends; run the workload.

See conftest.py for what the tests change in the shipped configs.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml
from e2e_scenario import SERVICE

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_CONFIG = ROOT / "collector-config"
GATEWAY_CONFIG = COLLECTOR_CONFIG / "gateway.yaml"
REMOTE_WRITE_OVERLAY = COLLECTOR_CONFIG / "remote-write.yaml"
JAEGER_CONFIG = COLLECTOR_CONFIG / "jaeger.yaml"
PROMETHEUS_CONFIG = COLLECTOR_CONFIG / "prometheus.yml"
MANIFEST = COLLECTOR_CONFIG / "manifest.yaml"
VERSIONS = ROOT / "scripts" / "backends" / "versions.sh"
DASHBOARD_TYPECHECK_DIR = ROOT / "tests" / "dashboards"
WORKLOAD = Path(__file__).with_name("workload.py")
STARTUP_TIMEOUT_S = 60.0


# ---- finding the binaries ---------------------------------------------------------------------------
def cache_dir() -> Path:
    return Path(os.environ.get("LLMLEDGER_BACKENDS_CACHE") or Path.home() / ".cache" / "llmledger-backends")


def jaeger_version() -> str:
    return _version("JAEGER_VERSION")


def _version(name: str) -> str:
    for line in VERSIONS.read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1].strip()
    raise RuntimeError(f"{name} not set in {VERSIONS}")


def collector_cache_key() -> str:
    """Same key as versions.sh's collector_cache_key: first 16 hex digits of the manifest's SHA-256."""
    return hashlib.sha256(MANIFEST.read_bytes()).hexdigest()[:16]


@dataclass(frozen=True)
class Binaries:
    otelcol: Path
    jaeger: Path
    prometheus: Path
    promtool: Path


def locate(env_var: str, default: Path | None, on_path: str | None = None) -> tuple[Path | None, str]:
    if os.environ.get(env_var):
        path = Path(os.environ[env_var])
        return (path if path.is_file() and os.access(path, os.X_OK) else None), f"${env_var}={path}"
    if on_path is not None:
        found = shutil.which(on_path)
        return (Path(found) if found else None), f"'{on_path}' on PATH"
    assert default is not None
    return (default if default.is_file() and os.access(default, os.X_OK) else None), str(default)


def missing_backend(what: str) -> NoReturn:
    """Skip, or fail when LLMLEDGER_E2E=1, with a message that says how to fix it."""
    message = (f"e2e backend missing: {what}. Run `bash scripts/backends/install.sh` "
               "(builds the collector and Jaeger, installs Prometheus; see scripts/backends/README.md).")
    if os.environ.get("LLMLEDGER_E2E") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str, timeout: float = 10.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return bytes(response.read())


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=15)
        except ProcessLookupError:
            pass


@dataclass
class Services:
    """Starts processes in their own process groups and stops them all at the end."""

    log_dir: Path
    started: list[Service] = field(default_factory=list)

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Service:
        log = self.log_dir / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                       env={**os.environ, **(env or {})}, start_new_session=True)
        service = Service(name, process, log)
        self.started.append(service)
        return service

    def wait_ready(self, service: Service, url: str, ok: Callable[[bytes], bool] = lambda _: True) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        last_error = ""
        while time.monotonic() < deadline:
            if service.process.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.process.returncode}:\n"
                                   f"{service.log_tail()}")
            try:
                if ok(http_get(url, timeout=2)):
                    return
            except (OSError, urllib.error.URLError) as exc:
                last_error = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"{service.name} not ready at {url} after {STARTUP_TIMEOUT_S}s ({last_error}):\n"
                           f"{service.log_tail()}")

    def stop_all(self) -> None:
        for service in reversed(self.started):
            service.stop()


# ---- the stack ----------------------------------------------------------------------------------------
@dataclass
class Collector:
    service: Service
    otlp_grpc: str
    otlp_http: str
    metrics_endpoint: str
    telemetry_endpoint: str
    health_url: str


def start_collector(services: Services, binaries: Binaries, name: str, traces_endpoint: str,
                    extra_configs: tuple[Path, ...] = (), env: dict[str, str] | None = None) -> Collector:
    ports = {key: free_port() for key in ("grpc", "http", "prom", "telemetry", "health")}
    collector_env = {
        "LLMLEDGER_OTLP_GRPC_ENDPOINT": f"127.0.0.1:{ports['grpc']}",
        "LLMLEDGER_OTLP_HTTP_ENDPOINT": f"127.0.0.1:{ports['http']}",
        "LLMLEDGER_PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{ports['prom']}",
        "LLMLEDGER_COLLECTOR_TELEMETRY_PORT": str(ports["telemetry"]),
        "LLMLEDGER_COLLECTOR_HEALTH_ENDPOINT": f"127.0.0.1:{ports['health']}",
        "LLMLEDGER_TRACES_OTLP_ENDPOINT": traces_endpoint,
        "LLMLEDGER_SPANMETRICS_FLUSH_INTERVAL": "1s",
        "LLMLEDGER_COLLECTOR_BATCH_TIMEOUT": "200ms",
        **(env or {}),
    }
    argv = [str(binaries.otelcol), f"--config={GATEWAY_CONFIG}", *(f"--config={c}" for c in extra_configs)]
    service = services.start(name, argv, collector_env)
    collector = Collector(service, f"127.0.0.1:{ports['grpc']}", f"127.0.0.1:{ports['http']}",
                          f"127.0.0.1:{ports['prom']}", f"127.0.0.1:{ports['telemetry']}",
                          f"http://127.0.0.1:{ports['health']}/")
    services.wait_ready(service, collector.health_url)
    return collector


@dataclass
class Jaeger:
    service: Service
    otlp_grpc: str
    query_url: str


def start_jaeger(services: Services, binaries: Binaries) -> Jaeger:
    ports = {key: free_port() for key in ("grpc", "http", "query", "query_grpc", "telemetry", "health")}
    env = {
        "JAEGER_LISTEN_HOST": "127.0.0.1",
        "JAEGER_OTLP_GRPC_PORT": str(ports["grpc"]),
        "JAEGER_OTLP_HTTP_PORT": str(ports["http"]),
        "JAEGER_QUERY_HTTP_PORT": str(ports["query"]),
        "JAEGER_QUERY_GRPC_PORT": str(ports["query_grpc"]),
        "JAEGER_TELEMETRY_PORT": str(ports["telemetry"]),
        "JAEGER_HEALTH_PORT": str(ports["health"]),
    }
    service = services.start("jaeger", [str(binaries.jaeger), f"--config={JAEGER_CONFIG}"], env)
    jaeger = Jaeger(service, f"127.0.0.1:{ports['grpc']}", f"http://127.0.0.1:{ports['query']}")
    services.wait_ready(service, f"{jaeger.query_url}/api/services")
    return jaeger


def render_prometheus_config(path: Path, llmledger_targets: list[str], otelcol_targets: list[str]) -> Path:
    """The shipped prometheus.yml with the test's targets, 1 s intervals and absolute rule paths."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str((PROMETHEUS_CONFIG.parent / rule).resolve()) for rule in config["rule_files"]]
    targets = {"llmledger": llmledger_targets, "otelcol": otelcol_targets}
    jobs = []
    for job in config["scrape_configs"]:
        if targets.get(job["job_name"]):
            job["static_configs"] = [{"targets": targets[job["job_name"]]}]
            jobs.append(job)
    config["scrape_configs"] = jobs
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@dataclass
class Prometheus:
    service: Service
    url: str

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr, **({"time": str(at)} if at is not None else {})}
        body = json.loads(http_get(f"{self.url}/api/v1/query?{urllib.parse.urlencode(params)}"))
        assert body["status"] == "success", body
        return list(body["data"]["result"])

    def wait_for(self, expr: str, predicate: Callable[[list[dict[str, Any]]], bool],
                 timeout: float = 90.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        result: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            result = self.query(expr)
            if predicate(result):
                return result
            time.sleep(1)
        raise AssertionError(f"timed out after {timeout}s waiting on {expr!r}; last result: {result}")


def start_prometheus(services: Services, binaries: Binaries, name: str, config: Path, data_dir: Path) -> Prometheus:
    port = free_port()
    argv = [str(binaries.prometheus), f"--config.file={config}", f"--storage.tsdb.path={data_dir}",
            f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver",
            "--web.enable-lifecycle", "--log.level=warn"]
    service = services.start(name, argv)
    prometheus = Prometheus(service, f"http://127.0.0.1:{port}")
    services.wait_ready(service, f"{prometheus.url}/-/ready")
    return prometheus


@dataclass
class Stack:
    services: Services
    binaries: Binaries
    jaeger: Jaeger
    collector: Collector
    broken_collector: Collector  # its trace backend does not exist: the data-loss alert must fire
    prometheus: Prometheus
    work_dir: Path
    started_at: float  # before any backend started: the earliest time with data


def run_workload(otlp_grpc: str, out: Path, service: str = SERVICE, phases: int = 3) -> list[dict[str, Any]]:
    """Run tests/e2e/workload.py in a subprocess; return the spans it finished (from its in-memory
    exporter, written next to the OTLP export)."""
    argv = [sys.executable, str(WORKLOAD), "--otlp-endpoint", f"http://{otlp_grpc}", "--out", str(out),
            "--service", service, "--phases", str(phases)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=540, cwd=out.parent)
    if completed.returncode != 0:
        raise AssertionError(f"workload failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    return list(json.loads(out.read_text()))


@dataclass(frozen=True)
class Workload:
    spans: list[dict[str, Any]]  # every span the workload finished, as JSON (see workload.py)
