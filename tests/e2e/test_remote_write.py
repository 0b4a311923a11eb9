"""The remote-write variant (gateway.yaml + remote-write.yaml) delivers the same series, under the
same names and labels, as the scrape path: the rules and dashboards work on either."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

import pytest
from e2e_backends import (
    REMOTE_WRITE_OVERLAY,
    ROOT,
    Prometheus,
    Stack,
    Workload,
    free_port,
    render_prometheus_config,
    run_workload,
    start_collector,
    start_prometheus,
)
from e2e_scenario import SERVICE, metric_customer

pytestmark = pytest.mark.e2e

RW_SERVICE = f"{SERVICE}-remote-write"
# Series the rules and dashboards read that the workload produces (the collector's own otelcol_*
# series are scraped in both set-ups, and llmledger_records_dropped only exists after a drop).
NOT_FROM_THE_WORKLOAD = {"llmledger_records_dropped_total"}


@dataclass(frozen=True)
class RemoteWrite:
    prometheus: Prometheus
    spans: list[dict[str, Any]]


@pytest.fixture(scope="module")
def remote_write(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> RemoteWrite:
    work = tmp_path_factory.mktemp("remote-write")
    config = render_prometheus_config(work / "prometheus.yml", [], [])  # no scraping: pushed only
    prometheus = start_prometheus(stack.services, stack.binaries, "prometheus-rw", config, work / "data")
    collector = start_collector(
        stack.services, stack.binaries, "collector-rw", stack.jaeger.otlp_grpc,
        extra_configs=(REMOTE_WRITE_OVERLAY,),
        env={"LLMLEDGER_REMOTE_WRITE_ENDPOINT": f"{prometheus.url}/api/v1/write",
             "LLMLEDGER_PROMETHEUS_EXPORTER_ENDPOINT": f"127.0.0.1:{free_port()}"})
    # Two phases: the unprofitable customer's limit warns from its second call on (e2e_scenario).
    spans = run_workload(collector.otlp_grpc, work / "spans.json", service=RW_SERVICE, phases=2)
    expected = sum(s["attributes"].get("gen_ai.usage.cost", 0.0) for s in spans)
    prometheus.wait_for(f'sum(llmledger_customer_cost_USD_total{{job="{RW_SERVICE}"}})',
                        lambda r: bool(r) and math.isclose(float(r[0]["value"][1]), expected, rel_tol=1e-9),
                        timeout=60)
    # The span-derived series (spanmetrics connector) take their own path and flush interval: the
    # cost arriving first says nothing about them. Wait for each series the tests read.
    for name in sorted(metric_names_read_by_rules_and_dashboards()):
        prometheus.wait_for(f'{name}{{job="{RW_SERVICE}"}}', bool, timeout=60)
        stack.prometheus.wait_for(f'{name}{{job="{SERVICE}"}}', bool, timeout=60)
    return RemoteWrite(prometheus, spans)


def metric_names_read_by_rules_and_dashboards() -> set[str]:
    text = "\n".join(p.read_text() for p in [*(ROOT / "grafana" / "dashboards").glob("*.json"),
                                              *(ROOT / "collector-config" / "rules").glob("*.yml")])
    names = set(re.findall(r"\b((?:llmledger|gen_ai)_[a-zA-Z_]+)\b", text))
    suffixes = ("_bucket", "_sum", "_count", "_total", "_USD")
    return {n for n in names if n.endswith(suffixes)} - NOT_FROM_THE_WORKLOAD


def test_remote_write_delivers_every_series_the_rules_and_dashboards_read(
        stack: Stack, workload: Workload, remote_write: RemoteWrite) -> None:
    names = metric_names_read_by_rules_and_dashboards()
    assert {"llmledger_customer_cost_USD_total", "gen_ai_usage_cost_USD_sum",
            "gen_ai_client_operation_duration_seconds_bucket", "llmledger_span_calls_total"} <= names
    for name in sorted(names):
        scraped = stack.prometheus.query(f'{name}{{job="{SERVICE}"}}')
        pushed = remote_write.prometheus.query(f'{name}{{job="{RW_SERVICE}"}}')
        assert scraped, f"{name} missing on the scrape path"
        assert pushed, f"{name} missing on the remote-write path"
        scraped_labels = {k for r in scraped for k in r["metric"]}
        pushed_labels = {k for r in pushed for k in r["metric"]}
        assert pushed_labels == scraped_labels, name


def test_remote_write_costs_equal_the_span_costs(remote_write: RemoteWrite) -> None:
    expected: dict[str, float] = defaultdict(float)
    for span in remote_write.spans:
        attrs = span["attributes"]
        if "gen_ai.usage.cost" in attrs:
            expected[metric_customer(attrs["customer.id"])] += attrs["gen_ai.usage.cost"]
    result = remote_write.prometheus.query(
        f'sum by (customer_id) (llmledger_customer_cost_USD_total{{job="{RW_SERVICE}"}})')
    got = {r["metric"]["customer_id"]: float(r["value"][1]) for r in result}
    assert set(got) == set(expected)
    for customer, cost in expected.items():
        assert math.isclose(got[customer], cost, rel_tol=1e-9), customer
    # Resource attributes arrive on target_info, as with the scrape path.
    info = remote_write.prometheus.query(f'target_info{{job="{RW_SERVICE}"}}')
    assert info and json.dumps(info[0]["metric"]).count("telemetry_sdk_name") == 1
