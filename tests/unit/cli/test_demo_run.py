"""``llmledger demo`` end to end: real SDKs, the fake provider, a real ledger, the report.

One simulated month is run in-process (with in-memory exporters, to see the spans and the
revenue gauge), and one through the command line in a new process, exporting to a stand-in OTLP
collector; each takes some seconds.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.cli import main
from llmledger.config import load_config
from llmledger.demo import DemoError, DemoOptions, DemoResult, _prepare_ledger, run_demo
from llmledger.demo.driver import anthropic_available
from llmledger.demo.scenario import POWER_USER
from llmledger.ledger import open_store


@dataclass
class DemoRun:
    result: DemoResult
    spans: InMemorySpanExporter
    metrics: InMemoryMetricReader


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    folder = tmp_path_factory.mktemp("demo")
    spans, metrics = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider(metric_readers=[metrics])
    result = run_demo(DemoOptions(ledger=str(folder / "demo.db"), month=date(2026, 10, 1), workers=8),
                      tracer_provider=tracer_provider, meter_provider=meter_provider, progress=None)
    yield DemoRun(result, spans, metrics)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def _report(capsys: pytest.CaptureFixture[str], result: DemoResult, *args: str) -> dict[str, Any]:
    assert main(["report", "--db", result.ledger, "--config", str(result.config_file), "--format", "json",
                 *args]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    return data


def test_the_19_dollar_power_user_is_unprofitable(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(capsys, demo.result)
    first = report["rows"][0]
    assert first["customer"] == POWER_USER and first["unprofitable"] is True
    assert first["plan"] == "starter" and first["revenue_usd"] == "19"
    assert demo.result.used_anthropic == anthropic_available()
    if demo.result.used_anthropic:
        # 124 summaries * (50,000*$3/M + 1,000*$15/M = 0.165) = 20.46, plus a few searches
        # (text-embedding-3-small at $0.02/M: fractions of a cent).
        assert Decimal("20.46") < Decimal(first["cost_usd"]) < Decimal("20.47")
    assert [row["customer"] for row in report["rows"] if row["unprofitable"]] == [POWER_USER]
    assert len(report["rows"]) == 20


def test_json_totals_equal_the_sum_of_the_ledger_rows(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    report = _report(capsys, demo.result)
    total = Decimal(report["total"]["cost_usd"])
    assert total == sum(Decimal(row["cost_usd"]) for row in report["rows"])
    db = sqlite3.connect(demo.result.ledger)
    costs = [Decimal(text) for (text,) in db.execute("SELECT cost_usd FROM llm_calls WHERE cost_usd IS NOT NULL")]
    calls, failed, first, last = db.execute(
        "SELECT COUNT(*), SUM(error_type IS NOT NULL), MIN(started_at), MAX(started_at) FROM llm_calls").fetchone()
    db.close()
    assert total == sum(costs, Decimal(0))
    assert report["total"]["calls"] == calls == demo.result.calls
    assert failed == demo.result.failed_calls > 0
    assert demo.result.failures == {"rate-limit error (HTTP 429)": demo.result.scripted_failures}
    # A month of calls made in seconds, recorded on the simulated days.
    assert first >= "2026-10-01" and last < "2026-11-01"
    assert demo.result.dropped == {}


def test_every_grouping_of_the_demo_ledger(demo: DemoRun, capsys: pytest.CaptureFixture[str]) -> None:
    by_model = {row["model"] for row in _report(capsys, demo.result, "--by", "model")["rows"]}
    assert {"openai/gpt-4o-mini", "openai/text-embedding-3-small", "openai/o3"} <= by_model
    if demo.result.used_anthropic:
        assert {"anthropic/claude-sonnet-4-6", "anthropic/claude-haiku-4-5"} <= by_model
    days = _report(capsys, demo.result, "--by", "day", "--customer", POWER_USER)["rows"]
    assert len(days) == 31


def test_spans_and_the_revenue_gauge(demo: DemoRun) -> None:
    spans = demo.spans.get_finished_spans()
    assert len(spans) == demo.result.calls
    providers = {(span.attributes or {}).get("gen_ai.provider.name") for span in spans}
    assert providers >= ({"openai", "anthropic"} if demo.result.used_anthropic else {"openai"})
    data = demo.metrics.get_metrics_data()
    assert data is not None
    revenue = {
        point.attributes["customer.id"]: point.value
        for resource in data.resource_metrics for scope in resource.scope_metrics
        for metric in scope.metrics if metric.name == "llmledger.customer.revenue"
        for point in metric.data.data_points
    }
    assert revenue[POWER_USER] == 19.0 and revenue["globex"] == 350.0 and revenue["initech"] == 499.0
    assert len(revenue) == 20


def test_the_config_file_it_writes_is_valid(demo: DemoRun) -> None:
    config = load_config(demo.result.config_file)
    assert config.ledger == demo.result.ledger
    assert config.plans.revenue("globex") == 350 and config.plans.plan_of(POWER_USER) == "starter"


def test_a_previous_demo_ledger_is_replaced_but_nothing_else(tmp_path: Path) -> None:
    ledger = tmp_path / "old.db"
    open_store(str(ledger)).close()
    _prepare_ledger(str(ledger))
    assert not ledger.exists()
    precious = tmp_path / "precious.db"
    precious.write_text("someone's data")
    with pytest.raises(DemoError, match="not an llmledger ledger"):
        _prepare_ledger(str(precious))
    assert precious.read_text() == "someone's data"


class _OtlpReceiver(ThreadingHTTPServer):
    """A stand-in collector: accepts OTLP/HTTP posts and remembers their paths and sizes."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, int]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.posts.append((self.path, len(body)))
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)


def test_the_command_feeds_the_collector_too(tmp_path: Path) -> None:
    # A fresh process, as a user runs it (the demo then installs its own global OTel providers).
    receiver = _OtlpReceiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "llmledger.cli", "demo", "--month", "2026-09", "--workers", "8",
             "--otlp-endpoint", f"http://127.0.0.1:{receiver.server_address[1]}",
             "--otlp-protocol", "http/protobuf"],
            cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    finally:
        receiver.shutdown()
        receiver.server_close()
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert "Spans and metrics also go to the collector" in done.stdout
    first_row = next(line for line in out if POWER_USER in line)
    # September: 30 days x 4 x $0.165 = $19.80 against $19.00
    assert first_row.startswith("!") and "$19.00" in first_row and "-$0.8" in first_row
    assert any(line.startswith("1 unprofitable customer at list prices: brightline-legal") for line in out)
    assert any("Where the money goes, by feature" in line for line in out)
    assert any("llmledger report --db llmledger-demo.db --config llmledger-demo.yaml" in line for line in out)
    assert "100%" in done.stderr  # the progress bar
    # what a collector (and Grafana behind it) shows, said in so many words
    assert "not the simulated days" in done.stdout and "two runs" in done.stdout
    assert (tmp_path / "llmledger-demo.db").exists() and (tmp_path / "llmledger-demo.yaml").exists()
    # The HTML report next to the ledger, its path printed; it shows the power user's loss.
    assert f"(open it in a browser, or e-mail it): {tmp_path / 'llmledger-demo.html'}" in done.stdout
    page = (tmp_path / "llmledger-demo.html").read_text(encoding="utf-8")
    assert "Content-Security-Policy" in page and 'data-field="margin_usd" data-value="-0.8' in page
    paths = {path for path, size in receiver.posts if size > 0}
    assert {"/v1/traces", "/v1/metrics"} <= paths


def test_an_unreachable_collector_is_skipped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from llmledger.cli.demo import _reachable_endpoint

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    args = argparse.Namespace(otlp_endpoint=f"http://127.0.0.1:{port}", otlp_protocol="grpc")
    assert _reachable_endpoint(args, sys.stderr) is None
    assert "is not reachable" in capsys.readouterr().err
