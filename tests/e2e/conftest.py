"""Real backends for the end-to-end tests: the llmledger collector distribution, Prometheus and
Jaeger v2, started on 127.0.0.1 with free ports and the configuration files the repository ships.

Binaries come from ``scripts/backends/install.sh`` (cache: ``$LLMLEDGER_BACKENDS_CACHE``, default
``~/.cache/llmledger-backends``; the collector is looked up under its manifest's hash, so a changed
manifest is never tested with a stale build). Overrides: ``LLMLEDGER_OTELCOL_BIN``,
``LLMLEDGER_JAEGER_BIN``, ``LLMLEDGER_PROMETHEUS_BIN``, ``LLMLEDGER_PROMTOOL_BIN``.
When something is missing the tests skip, or FAIL when ``LLMLEDGER_E2E=1`` (CI sets it).

What the tests change in the shipped configs, and only that:
- collector-config/gateway.yaml and jaeger.yaml: ports, through their environment variables, and
  (also by variables) a 1 s span-metrics flush and 200 ms batch timeout so that tests are quick;
  a second "broken" gateway exports traces to a closed port with retries off;
- collector-config/prometheus.yml: scrape targets (the free ports), scrape/evaluation interval 1s
  and absolute rule-file paths. The rule files themselves are used as they are.
Every process runs in its own process group and is stopped (TERM, then KILL) at session end.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from e2e_backends import (
    DASHBOARD_TYPECHECK_DIR,
    Binaries,
    Services,
    Stack,
    Workload,
    cache_dir,
    collector_cache_key,
    free_port,
    jaeger_version,
    locate,
    missing_backend,
    render_prometheus_config,
    run_workload,
    start_collector,
    start_jaeger,
    start_prometheus,
)
from e2e_scenario import SERVICE


@pytest.fixture(scope="session")
def binaries() -> Binaries:
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name, env_var, default, on_path in (
        ("otelcol", "LLMLEDGER_OTELCOL_BIN",
         cache_dir() / "otelcol" / collector_cache_key() / "otelcol-llmledger", None),
        ("jaeger", "LLMLEDGER_JAEGER_BIN", cache_dir() / "jaeger" / jaeger_version() / "jaeger", None),
        ("prometheus", "LLMLEDGER_PROMETHEUS_BIN", None, "prometheus"),
        ("promtool", "LLMLEDGER_PROMTOOL_BIN", None, "promtool"),
    ):
        path, where = locate(env_var, default, None if os.environ.get(env_var) else on_path)
        if path is None:
            missing.append(f"{name} (looked for {where})")
        else:
            found[name] = path
    if missing:
        missing_backend("; ".join(missing))
    return Binaries(**found)


@pytest.fixture(scope="session")
def tsc_ready() -> Path:
    """The dashboard type-check script, once `npm ci` has run in tests/dashboards."""
    if shutil.which("node") is None:
        missing_backend("node (Node.js >= 18)")
    if not (DASHBOARD_TYPECHECK_DIR / "node_modules" / "@grafana" / "schema" / "package.json").is_file():
        missing_backend(f"{DASHBOARD_TYPECHECK_DIR / 'node_modules'} (npm ci)")
    return DASHBOARD_TYPECHECK_DIR / "typecheck.mjs"


@pytest.fixture(scope="session")
def services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    running = Services(tmp_path_factory.mktemp("backend-logs"))
    try:
        yield running
    finally:
        running.stop_all()


@pytest.fixture(scope="session")
def stack(binaries: Binaries, services: Services, tmp_path_factory: pytest.TempPathFactory) -> Stack:
    work = tmp_path_factory.mktemp("stack")
    started_at = time.time()
    jaeger = start_jaeger(services, binaries)
    collector = start_collector(services, binaries, "collector", jaeger.otlp_grpc)
    # A second gateway whose trace backend does not exist, to see the data-loss alert fire for real.
    broken = start_collector(services, binaries, "collector-broken", f"127.0.0.1:{free_port()}",
                             env={"LLMLEDGER_TRACES_RETRY_ENABLED": "false"})
    config = render_prometheus_config(work / "prometheus.yml", [collector.metrics_endpoint],
                                      [collector.telemetry_endpoint, broken.telemetry_endpoint])
    prometheus = start_prometheus(services, binaries, "prometheus", config, work / "prometheus-data")
    return Stack(services, binaries, jaeger, collector, broken, prometheus, work, started_at)


@pytest.fixture(scope="session")
def workload(stack: Stack) -> Workload:
    spans = run_workload(stack.collector.otlp_grpc, stack.work_dir / "spans.json")
    # Everything the workload exported must be in Prometheus before the tests look: wait for the
    # scrape that shows the final cumulative cost.
    expected = sum(s["attributes"].get("gen_ai.usage.cost", 0.0) for s in spans)
    stack.prometheus.wait_for(
        f'sum(llmledger_customer_cost_USD_total{{job="{SERVICE}"}})',
        lambda r: bool(r) and abs(float(r[0]["value"][1]) - expected) < 1e-9, timeout=60)
    return Workload(spans)
