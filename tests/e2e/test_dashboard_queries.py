"""Every query of every shipped dashboard, with Grafana's variables substituted as Grafana would,
runs against the real Prometheus (and the Jaeger panel against the real Jaeger) filled by the
workload, and returns data."""

from __future__ import annotations

import json
import math
import re
import time
import urllib.parse
from pathlib import Path
from typing import Any

import pytest
from e2e_backends import ROOT, Stack, Workload, http_get
from e2e_scenario import OTHER_INSTRUMENTATION_SERVICE, SERVICE, UNPROFITABLE

pytestmark = pytest.mark.e2e

DASHBOARDS = sorted((ROOT / "grafana" / "dashboards").glob("*.json"))
# Grafana's $__rate_interval is max($__interval + scrape interval, 4 x scrape interval); the
# provisioned datasource declares a 15 s scrape interval, so it is at least 1m.
RATE_INTERVAL = "1m"
RANGE_STEP_S = 2


def load(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text()))


def panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    flat: list[dict[str, Any]] = []
    for panel in dashboard["panels"]:
        flat.extend(panel.get("panels", []) if panel["type"] == "row" else [panel])
    return flat


def substitute(expr: str, variables: dict[str, str], range_s: int) -> str:
    """Grafana's interpolation for a Prometheus query: regex-escaped multi-values, built-ins."""
    expr = expr.replace("$__rate_interval", RATE_INTERVAL).replace("$__range", f"{range_s}s")
    expr = expr.replace("$__interval", "15s")
    for name, value in variables.items():
        expr = re.sub(rf"\$\{{{name}\}}|\${name}\b", value, expr)
    assert "$" not in expr, f"unsubstituted variable in {expr}"
    return expr


def prometheus_results(stack: Stack, target: dict[str, Any], expr: str, start: float, end: float) -> list[float]:
    if target.get("instant"):
        result = stack.prometheus.query(expr, at=end)
        return [float(r["value"][1]) for r in result]
    params = {"query": expr, "start": str(start), "end": str(end), "step": str(RANGE_STEP_S)}
    body = json.loads(http_get(f"{stack.prometheus.url}/api/v1/query_range?{urllib.parse.urlencode(params)}"))
    assert body["status"] == "success", body
    return [float(v) for series in body["data"]["result"] for _, v in series["values"]]


def variable_values(stack: Stack, variable: dict[str, Any], variables: dict[str, str]) -> set[str]:
    """Run a `label_values(selector, label)` query variable like Grafana does (series API)."""
    query = variable["query"]["query"]
    match = re.fullmatch(r"label_values\((.*),\s*(\w+)\)", query)
    assert match, query
    selector = substitute(match.group(1), variables, 3600)
    params = urllib.parse.urlencode({"match[]": selector})
    body = json.loads(http_get(f"{stack.prometheus.url}/api/v1/series?{params}"))
    return {series[match.group(2)] for series in body["data"] if match.group(2) in series}


@pytest.fixture(scope="module")
def settled(stack: Stack, workload: Workload) -> float:
    """Wait until the billing-month recording rules have run over the workload's data."""
    stack.prometheus.wait_for(f'llmledger:customer_cost_usd:month_to_date{{customer_id="{UNPROFITABLE}"}}',
                              lambda r: bool(r) and float(r[0]["value"][1]) > 0, timeout=150)
    time.sleep(2 * RANGE_STEP_S)  # so that a range query's step grid reaches the first recorded sample
    return time.time()


def check_every_query(stack: Stack, path: Path, chosen: dict[str, str], semconv_only: bool = False) -> int:
    """Run each Prometheus query of the dashboard; every target must return data and every panel
    some non-zero value. Variables not in ``chosen`` are "All" (their allValue). ``semconv_only``
    keeps the panels that read only semantic-convention instruments."""
    dashboard = load(path)
    variables = {v["name"]: v.get("allValue", ".*") for v in dashboard["templating"]["list"]
                 if v["type"] == "query"}
    variables.update(chosen)
    start, end = stack.started_at, time.time()
    range_s = int(end - start) + 60
    checked = 0
    for panel in panels(dashboard):
        if panel["datasource"]["type"] != "prometheus":
            continue
        if semconv_only and any("llmledger" in t["expr"] for t in panel["targets"]):
            continue
        values: list[float] = []
        for target in panel["targets"]:
            expr = substitute(target["expr"], variables, range_s)
            result = prometheus_results(stack, target, expr, start, end)
            assert result, f"{path.name} / {panel['title']} / {target['refId']}: no data for\n{expr}"
            assert all(not math.isinf(v) for v in result), f"{panel['title']}: infinite value from {expr}"
            values.extend(result)
        assert any(v != 0 and not math.isnan(v) for v in values), f"{path.name} / {panel['title']}: all zero"
        checked += 1
    return checked


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_dashboard_query_returns_data(stack: Stack, workload: Workload, settled: float, path: Path) -> None:
    assert check_every_query(stack, path, {}) >= 10


def test_overview_shows_other_genai_instrumentations(stack: Stack, workload: Workload, settled: float) -> None:
    """A service without llmledger that records the semconv instruments fills the overview's
    spend, calls, tokens, errors, latency and time-to-first-chunk panels."""
    path = ROOT / "grafana" / "dashboards" / "llmledger-overview.json"
    assert check_every_query(stack, path, {"job": OTHER_INSTRUMENTATION_SERVICE}, semconv_only=True) >= 10


def test_customer_drill_down_queries_return_data(stack: Stack, workload: Workload, settled: float) -> None:
    """The economics dashboard with one service and one (unprofitable) customer picked."""
    path = ROOT / "grafana" / "dashboards" / "llmledger-customer-economics.json"
    assert check_every_query(stack, path, {"job": SERVICE, "customer": UNPROFITABLE}) >= 10


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_variables_list_the_workloads_values(stack: Stack, workload: Workload, path: Path) -> None:
    dashboard = load(path)
    variables = {v["name"]: v.get("allValue", ".*") for v in dashboard["templating"]["list"] if v["type"] == "query"}
    for variable in dashboard["templating"]["list"]:
        if variable["type"] != "query":
            continue
        values = variable_values(stack, variable, variables)
        assert values, f"{path.name}: variable {variable['name']} has no values"
        if variable["name"] in ("job", "trace_service"):
            assert SERVICE in values
        if variable["name"] == "customer":
            assert UNPROFITABLE in values


def jaeger_search(stack: Stack, service: str, tags_logfmt: str, limit: int) -> list[dict[str, Any]]:
    """What Grafana's Jaeger datasource sends for a search query: logfmt tags become a JSON map."""
    tags = dict(pair.split("=", 1) for pair in tags_logfmt.split())
    params = {"service": service, "tags": json.dumps(tags), "limit": str(limit), "lookback": "1h"}
    body = json.loads(http_get(f"{stack.jaeger.query_url}/api/traces?{urllib.parse.urlencode(params)}"))
    return list(body["data"] or [])


def test_trace_panel_and_data_links_find_the_customers_traces(stack: Stack, workload: Workload) -> None:
    dashboard = load(ROOT / "grafana" / "dashboards" / "llmledger-customer-economics.json")
    variables = {"trace_service": SERVICE, "customer": UNPROFITABLE, "__value.raw": UNPROFITABLE}
    queries = [t for p in panels(dashboard) if p["datasource"]["type"] == "jaeger" for t in p["targets"]]
    queries += [link["internal"]["query"] for p in panels(dashboard)
                for override in p["fieldConfig"]["overrides"] for prop in override["properties"]
                if prop["id"] == "links" for link in prop["value"]]
    assert len(queries) >= 3
    expected = {s["trace_id"] for s in workload.spans if s["attributes"].get("customer.id") == UNPROFITABLE}
    for query in queries:
        assert query["queryType"] == "search"
        service = query["service"]
        tags = query["tags"]
        for name, value in variables.items():
            service = service.replace(f"${{{name}}}", value)
            tags = tags.replace(f"${{{name}}}", value)
        found = {t["traceID"] for t in jaeger_search(stack, service, tags, int(query["limit"]))}
        assert found == expected, query
