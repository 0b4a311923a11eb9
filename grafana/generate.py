"""Generate the llmledger Grafana dashboards and Grafana-managed alert rules.

- grafana/dashboards/*.json: the dashboards are data; this script is their source so that every
  cost query is written once (see ``increase_in_range``) and the JSON stays consistent.
- grafana/provisioning/alerting/llmledger-alerts.yaml: the Prometheus alerts of
  collector-config/rules/llmledger-alerts.yml as Grafana-managed rules (same PromQL, same
  ``for``, labels and annotations), for teams that alert from Grafana rather than Alertmanager.

Edit here (or the Prometheus rule file), then run ``python grafana/generate.py``; tests/e2e checks
that the output is up to date, that the dashboards type-check against @grafana/schema and that
every query returns data from a real Prometheus.

Query conventions:
- Totals over the picked time range use ``increase_in_range``: ``increase(x[$__range])`` plus, for
  series born inside the range, their whole value. ``increase()`` alone never counts a series'
  first sample, i.e. the first call of every new customer/model combination.
- Rates use ``rate(x[$__rate_interval])``; "per hour" panels multiply USD/s by 3600 s/h.
- The semconv instruments (gen_ai_client_*, gen_ai_usage_cost_USD_*) carry no llmledger-only
  label filter, so other OTel GenAI instrumentations fill those panels too.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

GRAFANA_DIR = Path(__file__).resolve().parent
OUT_DIR = GRAFANA_DIR / "dashboards"
ALERTING_FILE = GRAFANA_DIR / "provisioning" / "alerting" / "llmledger-alerts.yaml"
PROMETHEUS_RULES = GRAFANA_DIR.parent / "collector-config" / "rules" / "llmledger-alerts.yml"
PROMETHEUS_DATASOURCE_UID = "llmledger-prometheus"
PROMETHEUS_UID = "${datasource}"
JAEGER_UID = "llmledger-jaeger"
SCHEMA_VERSION = 41

# Template-variable filters shared by the queries.
SEMCONV = 'job=~"$job",gen_ai_provider_name=~"$provider",gen_ai_request_model=~"$model"'
CUSTOMER = 'job=~"$job",customer_plan=~"$plan",customer_id=~"$customer"'


def increase_in_range(selector: str, by: str | None = None) -> str:
    """Exact-as-possible total growth of counter(s) ``selector`` over the dashboard's time range."""
    inner = f"({selector} unless {selector} offset $__range) or increase({selector}[$__range])"
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def rate_of(selector: str, by: str | None = None) -> str:
    inner = f"rate({selector}[$__rate_interval])"
    return f"sum by ({by}) ({inner})" if by else f"sum({inner})"


def quantile(q: float, metric: str, filters: str, by: str) -> str:
    return (f"histogram_quantile({q}, sum by (le, {by}) "
            f"(rate({metric}_bucket{{{filters}}}[$__rate_interval])))")


def jaeger_link(title: str, customer_expr: str) -> dict[str, Any]:
    """Data link: open Explore on the Jaeger datasource, searching this customer's traces."""
    return {
        "title": title,
        "url": "",
        "internal": {
            "datasourceUid": JAEGER_UID,
            "datasourceName": "Jaeger",
            "query": {"queryType": "search", "service": "${trace_service}",
                      "tags": f"customer.id={customer_expr}", "limit": 20},
        },
    }


@dataclass
class Target:
    expr: str
    legend: str = "__auto"
    instant: bool = False
    ref: str = "A"

    def to_json(self) -> dict[str, Any]:
        return {
            "refId": self.ref,
            "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID},
            "expr": self.expr,
            "legendFormat": self.legend,
            "range": not self.instant,
            "instant": self.instant,
            "editorMode": "code",
        }


@dataclass
class Board:
    uid: str
    title: str
    description: str
    time_from: str
    tags: list[str]
    variables: list[dict[str, Any]]
    links: list[dict[str, Any]] = field(default_factory=list)
    panels: list[dict[str, Any]] = field(default_factory=list)
    _x: int = 0
    _y: int = 0
    _row_h: int = 0

    def _place(self, w: int, h: int) -> dict[str, int]:
        if self._x + w > 24:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        pos = {"x": self._x, "y": self._y, "w": w, "h": h}
        self._x += w
        self._row_h = max(self._row_h, h)
        return pos

    def row(self, title: str) -> None:
        if self._x:
            self._x, self._y, self._row_h = 0, self._y + self._row_h, 0
        self.panels.append({"type": "row", "title": title, "collapsed": False, "panels": [],
                            "id": len(self.panels) + 1, "gridPos": {"x": 0, "y": self._y, "w": 24, "h": 1}})
        self._y += 1

    def panel(self, kind: str, title: str, description: str, targets: list[Target], *, w: int, h: int,
              unit: str = "short", options: dict[str, Any] | None = None,
              defaults: dict[str, Any] | None = None, overrides: list[dict[str, Any]] | None = None,
              transformations: list[dict[str, Any]] | None = None,
              datasource: dict[str, str] | None = None) -> None:
        for i, target in enumerate(targets):
            target.ref = chr(ord("A") + i)
        self.panels.append({
            "type": kind,
            "id": len(self.panels) + 1,
            "title": title,
            "description": description,
            "gridPos": self._place(w, h),
            "datasource": datasource or {"type": "prometheus", "uid": PROMETHEUS_UID},
            "targets": [t.to_json() for t in targets],
            "fieldConfig": {"defaults": {"unit": unit, **(defaults or {})}, "overrides": overrides or []},
            "options": options or {},
            **({"transformations": transformations} if transformations else {}),
        })

    def raw_panel(self, panel: dict[str, Any], w: int, h: int) -> None:
        panel.update(id=len(self.panels) + 1, gridPos=self._place(w, h))
        self.panels.append(panel)

    def to_json(self) -> dict[str, Any]:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": self.tags,
            "editable": True,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "refresh": "1m",
            "time": {"from": self.time_from, "to": "now"},
            "timepicker": {},
            "timezone": "utc",
            "fiscalYearStartMonth": 0,
            "weekStart": "",
            "links": self.links,
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
                "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts",
                "type": "dashboard"}]},
            "templating": {"list": self.variables},
            "panels": self.panels,
        }


def datasource_variable(name: str, label: str, plugin: str, default_uid: str) -> dict[str, Any]:
    return {"name": name, "label": label, "type": "datasource", "query": plugin,
            "current": {"text": default_uid, "value": default_uid}, "hide": 0, "refresh": 1,
            "regex": "", "options": [], "skipUrlSync": False}


def query_variable(name: str, label: str, query: str) -> dict[str, Any]:
    """A multi-value label_values variable with "All" (= the regex .*)."""
    return {
        "name": name, "label": label, "type": "query",
        "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID},
        "query": {"query": query, "refId": f"{name}-variable"},
        "current": {"text": "All", "value": "$__all"},
        "includeAll": True, "allValue": ".*", "multi": True,
        "refresh": 2, "sort": 1, "regex": "", "hide": 0, "options": [], "skipUrlSync": False,
    }


def trace_service_variable(metric: str) -> dict[str, Any]:
    """One service for trace searches: Jaeger searches a single service, never a regex."""
    query = f"label_values({metric}, job)"
    return {
        "name": "trace_service", "label": "Traces of service", "type": "query",
        "datasource": {"type": "prometheus", "uid": PROMETHEUS_UID},
        "query": {"query": query, "refId": "trace_service-variable"},
        "includeAll": False, "multi": False,
        "refresh": 2, "sort": 1, "regex": "", "hide": 0, "options": [], "skipUrlSync": False,
    }


USD = {"decimals": 4}
LEGEND_TABLE = {"legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                           "calcs": ["lastNotNull"]},
                "tooltip": {"mode": "multi", "sort": "desc"}}
STAT = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value", "graphMode": "none", "textMode": "auto", "justifyMode": "auto",
        "orientation": "auto"}
TABLE = {"showHeader": True, "cellHeight": "sm"}


def overview() -> Board:
    b = Board(
        uid="llmledger-overview",
        title="llmledger / LLM spend overview",
        description="Spend, tokens, cache use, unpriced calls, errors and latency of LLM calls "
                    "(llmledger and any OTel GenAI instrumentation exporting the semconv metrics).",
        time_from="now-24h",
        tags=["llmledger", "genai", "cost"],
        variables=[
            datasource_variable("datasource", "Prometheus", "prometheus", "llmledger-prometheus"),
            query_variable("job", "Service",
                           "label_values(gen_ai_client_operation_duration_seconds_count, job)"),
            query_variable("provider", "Provider",
                           'label_values(gen_ai_client_operation_duration_seconds_count{job=~"$job"}, '
                           "gen_ai_provider_name)"),
            query_variable("model", "Model",
                           'label_values(gen_ai_client_operation_duration_seconds_count{job=~"$job",'
                           'gen_ai_provider_name=~"$provider"}, gen_ai_request_model)'),
            trace_service_variable("llmledger_customer_calls_total"),
        ],
        links=[{"title": "Customer economics", "type": "link", "url": "/d/llmledger-customer-economics",
                "icon": "dashboard", "tooltip": "", "tags": [], "asDropdown": False, "targetBlank": False,
                "includeVars": False, "keepTime": True}],
    )
    cost = f"gen_ai_usage_cost_USD_sum{{{SEMCONV}}}"
    calls = f"gen_ai_client_operation_duration_seconds_count{{{SEMCONV}}}"
    errors = f'gen_ai_client_operation_duration_seconds_count{{{SEMCONV},error_type!=""}}'
    tokens = f"gen_ai_client_token_usage_sum{{{SEMCONV}}}"
    unpriced = f"llmledger_unpriced_calls_total{{{SEMCONV}}}"
    cache_read = 'llmledger_customer_tokens_total{job=~"$job",gen_ai_token_type="cache_read"}'
    input_tokens = 'llmledger_customer_tokens_total{job=~"$job",gen_ai_token_type="input"}'
    customer_cost = 'llmledger_customer_cost_USD_total{job=~"$job"}'

    b.row("Totals over the selected time range")
    b.panel("stat", "Spend", "Sum of gen_ai.usage.cost over the time range.",
            [Target(increase_in_range(cost), instant=True)], w=4, h=4, unit="currencyUSD", options=STAT,
            defaults=USD)
    b.panel("stat", "LLM calls", "Calls over the time range (gen_ai.client.operation.duration count).",
            [Target(increase_in_range(calls), instant=True)], w=4, h=4, options=STAT,
            defaults={"decimals": 0})
    b.panel("stat", "Tokens", "Input + output tokens over the time range (gen_ai.client.token.usage).",
            [Target(increase_in_range(tokens), instant=True)], w=4, h=4, options=STAT)
    b.panel("stat", "Error ratio", "Failed calls / all calls over the time range.",
            [Target(f"({increase_in_range(errors)} or vector(0)) / {increase_in_range(calls)}",
                    instant=True)],
            w=4, h=4, unit="percentunit", options=STAT)
    b.panel("stat", "Unpriced calls", "Calls to models with no known price: their cost is missing above.",
            [Target(f"{increase_in_range(unpriced)} or vector(0)", instant=True)], w=4, h=4, options=STAT,
            defaults={"decimals": 0, "thresholds": {"mode": "absolute", "steps": [
                {"color": "green", "value": None}, {"color": "red", "value": 1}]}})
    b.panel("stat", "Input served from cache",
            "Cache savings: share of input tokens read from the provider's prompt cache "
            "(billed at the cache-read price instead of the input price).",
            [Target(f"{increase_in_range(cache_read)} / {increase_in_range(input_tokens)}", instant=True)],
            w=4, h=4, unit="percentunit", options=STAT)

    b.row("Spend")
    b.panel("timeseries", "Spend rate by provider and model (USD per hour)",
            "rate of gen_ai.usage.cost in USD/s, times 3600 s/h.",
            [Target(f"{rate_of(cost, 'gen_ai_provider_name, gen_ai_request_model')} * 3600",
                    legend="{{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=16, h=8, unit="currencyUSD", options=LEGEND_TABLE, defaults=USD)
    b.panel("piechart", "Spend by provider and model", "Share of spend over the time range.",
            [Target(increase_in_range(cost, "gen_ai_provider_name, gen_ai_request_model"), instant=True,
                    legend="{{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=8, h=8, unit="currencyUSD", defaults=USD,
            options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                     "pieType": "donut", "displayLabels": ["percent"],
                     "legend": {"displayMode": "table", "placement": "right", "showLegend": True,
                                "values": ["value"], "calcs": []}})
    b.panel("table", "Top customers by spend",
            "llmledger per-customer cost over the time range (customers past the metric cap are '_other').",
            [Target(f"topk(10, {increase_in_range(customer_cost, 'customer_id, customer_plan')})",
                    instant=True)],
            w=12, h=8, unit="currencyUSD",
            options={**TABLE, "sortBy": [{"displayName": "Value", "desc": True}]},
            defaults=USD, transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
            overrides=[{"matcher": {"id": "byName", "options": "customer_id"},
                        "properties": [{"id": "links", "value": [
                            jaeger_link("Traces of ${__value.raw} in Jaeger", "${__value.raw}")]}]}])
    b.panel("table", "Unpriced calls by model",
            "Models without a known price, with their call counts over the time range. "
            "Add them to the llmledger price overrides.",
            [Target(increase_in_range(unpriced, "gen_ai_provider_name, gen_ai_request_model") + " > 0",
                    instant=True)],
            w=12, h=8, options=TABLE, defaults={"decimals": 0},
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}])

    b.row("Tokens")
    b.panel("timeseries", "Tokens per second by type",
            "Input and output from gen_ai.client.token.usage; cache reads, cache writes and reasoning "
            "(subsets of input/output) from llmledger.customer.tokens.",
            [Target(rate_of(tokens, "gen_ai_token_type"), legend="{{gen_ai_token_type}}"),
             Target(rate_of('llmledger_customer_tokens_total{job=~"$job",gen_ai_token_type=~"cache_read|cache_creation|reasoning"}',
                            "gen_ai_token_type"), legend="{{gen_ai_token_type}}")],
            w=12, h=8, options=LEGEND_TABLE)
    b.panel("timeseries", "Tokens per second by model",
            "Input + output tokens per model.",
            [Target(rate_of(tokens, "gen_ai_provider_name, gen_ai_request_model"),
                    legend="{{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=12, h=8, options=LEGEND_TABLE)

    b.row("Errors and latency")
    by_provider = "gen_ai_provider_name"
    b.panel("timeseries", "Error ratio by provider", "Failed / all calls per provider.",
            [Target(f"({rate_of(errors, by_provider)} or 0 * {rate_of(calls, by_provider)})"
                    f" / {rate_of(calls, by_provider)}", legend="{{gen_ai_provider_name}}")],
            w=8, h=8, unit="percentunit", options=LEGEND_TABLE)
    b.panel("timeseries", "Errors per second by type", "Failed calls by provider and error.type.",
            [Target(rate_of(errors, "gen_ai_provider_name, error_type"),
                    legend="{{gen_ai_provider_name}} {{error_type}}")],
            w=8, h=8, unit="reqps", options=LEGEND_TABLE)
    b.panel("timeseries", "Calls per second by model", "All calls, by provider and model.",
            [Target(rate_of(calls, "gen_ai_provider_name, gen_ai_request_model"),
                    legend="{{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=8, h=8, unit="reqps", options=LEGEND_TABLE)
    b.panel("timeseries", "Call duration p50 / p95 by model", "gen_ai.client.operation.duration.",
            [Target(quantile(0.5, "gen_ai_client_operation_duration_seconds", SEMCONV,
                             "gen_ai_provider_name, gen_ai_request_model"),
                    legend="p50 {{gen_ai_provider_name}} {{gen_ai_request_model}}"),
             Target(quantile(0.95, "gen_ai_client_operation_duration_seconds", SEMCONV,
                             "gen_ai_provider_name, gen_ai_request_model"),
                    legend="p95 {{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=12, h=8, unit="s", options=LEGEND_TABLE)
    b.panel("timeseries", "Time to first chunk p50 / p95 (streams)",
            "gen_ai.client.operation.time_to_first_chunk.",
            [Target(quantile(0.5, "gen_ai_client_operation_time_to_first_chunk_seconds", SEMCONV,
                             "gen_ai_provider_name, gen_ai_request_model"),
                    legend="p50 {{gen_ai_provider_name}} {{gen_ai_request_model}}"),
             Target(quantile(0.95, "gen_ai_client_operation_time_to_first_chunk_seconds", SEMCONV,
                             "gen_ai_provider_name, gen_ai_request_model"),
                    legend="p95 {{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=12, h=8, unit="s", options=LEGEND_TABLE)

    spans = 'job=~"$job",gen_ai_provider_name=~"$provider",gen_ai_request_model=~"$model"'
    b.row("LLM spans seen by the gateway (span_metrics connector)")
    b.panel("timeseries", "LLM span rate by status",
            "Calls per second from the gateway's span metrics (any instrumentation that sends spans).",
            [Target(rate_of(f"llmledger_span_calls_total{{{spans}}}", "gen_ai_provider_name, status_code"),
                    legend="{{gen_ai_provider_name}} {{status_code}}")],
            w=12, h=8, unit="reqps", options=LEGEND_TABLE)
    b.panel("timeseries", "LLM span duration p95",
            "Span duration p95 per provider and model, from the gateway's span metrics.",
            [Target(quantile(0.95, "llmledger_span_duration_seconds", spans,
                             "gen_ai_provider_name, gen_ai_request_model"),
                    legend="{{gen_ai_provider_name}} {{gen_ai_request_model}}")],
            w=12, h=8, unit="s", options=LEGEND_TABLE)
    return b


def economics() -> Board:
    b = Board(
        uid="llmledger-customer-economics",
        title="llmledger / Customer economics",
        description="LLM cost against plan revenue per customer and plan: margin, the unprofitable "
                    "list and a per-customer drill-down with links to the customer's traces.",
        time_from="now/M",
        tags=["llmledger", "genai", "cost", "customers"],
        variables=[
            datasource_variable("datasource", "Prometheus", "prometheus", "llmledger-prometheus"),
            query_variable("job", "Service", "label_values(llmledger_customer_calls_total, job)"),
            query_variable("plan", "Plan",
                           'label_values(llmledger_customer_calls_total{job=~"$job"}, customer_plan)'),
            query_variable("customer", "Customer",
                           'label_values(llmledger_customer_calls_total{job=~"$job",customer_plan=~"$plan"}, '
                           "customer_id)"),
            trace_service_variable("llmledger_customer_calls_total"),
        ],
        links=[{"title": "LLM spend overview", "type": "link", "url": "/d/llmledger-overview",
                "icon": "dashboard", "tooltip": "", "tags": [], "asDropdown": False, "targetBlank": False,
                "includeVars": False, "keepTime": True}],
    )
    sel = 'customer_plan=~"$plan",customer_id=~"$customer"'
    mtd_cost = f"llmledger:customer_cost_usd:month_to_date{{{sel}}}"
    revenue = f"llmledger:customer_revenue_usd:monthly{{{sel}}}"
    margin = f"llmledger:customer_margin_usd:month_to_date{{{sel}}}"
    unprofitable = f"{mtd_cost} > on (customer_id, customer_plan) ({revenue} > 0)"
    trace_link = [{"matcher": {"id": "byName", "options": "customer_id"},
                   "properties": [{"id": "links", "value": [
                       jaeger_link("Traces of ${__value.raw} in Jaeger", "${__value.raw}")]}]}]
    merge_table = [{"id": "merge", "options": {}},
                   {"id": "organize", "options": {
                       "excludeByName": {"Time": True},
                       "renameByName": {"Value #A": "cost MTD (USD)", "Value #B": "revenue / month (USD)",
                                        "Value #C": "margin MTD (USD)"}}}]

    b.row("Billing month to date (UTC calendar month; recording rules in collector-config/rules)")
    b.panel("stat", "LLM cost this month", "Sum of llmledger:customer_cost_usd:month_to_date.",
            [Target(f"sum({mtd_cost})", instant=True)], w=6, h=4, unit="currencyUSD", options=STAT,
            defaults={"decimals": 2})
    b.panel("stat", "Plan revenue per month", "Sum of the customers' monthly plan revenue.",
            [Target(f"sum({revenue})", instant=True)], w=6, h=4, unit="currencyUSD", options=STAT,
            defaults={"decimals": 2})
    b.panel("stat", "Margin this month", "Revenue minus LLM cost so far this month.",
            [Target(f"sum({margin})", instant=True)], w=6, h=4, unit="currencyUSD", options=STAT,
            defaults={"decimals": 2, "thresholds": {"mode": "absolute", "steps": [
                {"color": "red", "value": None}, {"color": "green", "value": 0}]}})
    b.panel("stat", "Unprofitable customers",
            "Customers whose cost this month exceeds their monthly revenue.",
            [Target(f"count({unprofitable}) or vector(0)", instant=True)], w=6, h=4, options=STAT,
            defaults={"decimals": 0, "thresholds": {"mode": "absolute", "steps": [
                {"color": "green", "value": None}, {"color": "red", "value": 1}]}})
    b.panel("table", "Unprofitable customers",
            "Cost this month above the monthly plan revenue (the LLMLedgerCustomerUnprofitable alert).",
            [Target(unprofitable, instant=True),
             Target(f"{revenue} and on (customer_id, customer_plan) ({unprofitable})", instant=True),
             Target(f"{margin} and on (customer_id, customer_plan) ({unprofitable})", instant=True)],
            w=12, h=8, unit="currencyUSD", defaults={"decimals": 2},
            options={**TABLE, "sortBy": [{"displayName": "margin MTD (USD)", "desc": False}]},
            transformations=merge_table, overrides=trace_link)
    b.panel("table", "Cost, revenue and margin per customer",
            "Every customer with cost or revenue this month, least profitable first.",
            [Target(mtd_cost, instant=True), Target(revenue, instant=True), Target(margin, instant=True)],
            w=12, h=8, unit="currencyUSD", defaults={"decimals": 2},
            options={**TABLE, "sortBy": [{"displayName": "margin MTD (USD)", "desc": False}]},
            transformations=merge_table, overrides=trace_link)
    b.panel("barchart", "Cost vs revenue per plan", "Per plan: LLM cost this month, monthly revenue, margin.",
            [Target('llmledger:plan_cost_usd:month_to_date{customer_plan=~"$plan"}', instant=True,
                    legend="cost {{customer_plan}}"),
             Target('llmledger:plan_revenue_usd:monthly{customer_plan=~"$plan"}', instant=True,
                    legend="revenue {{customer_plan}}"),
             Target('llmledger:plan_margin_usd:month_to_date{customer_plan=~"$plan"}', instant=True,
                    legend="margin {{customer_plan}}")],
            w=12, h=8, unit="currencyUSD", defaults={"decimals": 2},
            transformations=[{"id": "merge", "options": {}},
                             {"id": "organize", "options": {
                                 "excludeByName": {"Time": True},
                                 "renameByName": {"Value #A": "cost MTD", "Value #B": "revenue / month",
                                                  "Value #C": "margin MTD"}}}],
            options={"orientation": "horizontal", "xField": "customer_plan", "showValue": "auto",
                     "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True,
                                "calcs": []}})
    b.panel("timeseries", "Cost this month vs revenue ($customer)",
            "Month-to-date cost climbing towards the monthly revenue line, per customer.",
            [Target(mtd_cost, legend="cost {{customer_id}}"),
             Target(revenue, legend="revenue {{customer_id}}")],
            w=12, h=8, unit="currencyUSD", options=LEGEND_TABLE, defaults={"decimals": 2})

    b.row("Selected time range ($customer)")
    cost = f"llmledger_customer_cost_USD_total{{{CUSTOMER}}}"
    calls = f"llmledger_customer_calls_total{{{CUSTOMER}}}"
    tokens = f"llmledger_customer_tokens_total{{{CUSTOMER}}}"
    failed_calls = f'llmledger_customer_calls_total{{{CUSTOMER},error_type!=""}}'
    b.panel("timeseries", "Spend rate per customer (USD per hour)", "Top 10 customers; USD/s times 3600 s/h.",
            [Target(f"topk(10, {rate_of(cost, 'customer_id')}) * 3600", legend="{{customer_id}}")],
            w=12, h=8, unit="currencyUSD", options=LEGEND_TABLE, defaults=USD)
    b.panel("table", "Cost by customer, feature and model",
            "llmledger.customer.cost over the time range.",
            [Target(increase_in_range(cost, "customer_id, customer_plan, app_feature, gen_ai_provider_name, "
                                            "gen_ai_request_model"), instant=True)],
            w=12, h=8, unit="currencyUSD", defaults=USD,
            options={**TABLE, "sortBy": [{"displayName": "Value", "desc": True}]},
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
            overrides=trace_link)
    b.panel("table", "Calls, errors and cost per call",
            "Per customer over the time range: calls, failed calls, and average cost of a call.",
            [Target(increase_in_range(calls, "customer_id"), instant=True),
             Target(f"{increase_in_range(failed_calls, 'customer_id')}"
                    f" or 0 * {increase_in_range(calls, 'customer_id')}", instant=True),
             Target(f"{increase_in_range(cost, 'customer_id')} / {increase_in_range(calls, 'customer_id')}",
                    instant=True)],
            w=12, h=8, options=TABLE,
            transformations=[{"id": "merge", "options": {}},
                             {"id": "organize", "options": {
                                 "excludeByName": {"Time": True},
                                 "renameByName": {"Value #A": "calls", "Value #B": "failed calls",
                                                  "Value #C": "USD per call"}}}],
            overrides=[*trace_link, {"matcher": {"id": "byName", "options": "USD per call"},
                                     "properties": [{"id": "unit", "value": "currencyUSD"},
                                                    {"id": "decimals", "value": 6}]}])
    b.panel("timeseries", "Tokens per second by customer and type", "llmledger.customer.tokens.",
            [Target(rate_of(tokens, "customer_id, gen_ai_token_type"),
                    legend="{{customer_id}} {{gen_ai_token_type}}")],
            w=12, h=8, options=LEGEND_TABLE)
    cache_savings = f"llmledger_customer_cache_savings_USD_total{{{CUSTOMER}}}"
    b.panel("table", "Saved by prompt caching, by customer and feature",
            "llmledger.customer.cache_savings over the time range: what the cached input tokens would have "
            "cost at the plain input price minus what they cost.",
            [Target(increase_in_range(cache_savings, "customer_id, app_feature"), instant=True)],
            w=12, h=8, unit="currencyUSD", defaults=USD,
            options={**TABLE, "sortBy": [{"displayName": "Value", "desc": True}]},
            transformations=[{"id": "organize", "options": {"excludeByName": {"Time": True}}}],
            overrides=trace_link)
    b.raw_panel({
        "type": "table",
        "title": "Recent traces of $customer (Jaeger)",
        "description": "The customer's LLM calls as traces (spans carry the real customer.id, also for "
                       "customers folded into '_other' on metrics). Pick one customer above.",
        "datasource": {"type": "jaeger", "uid": JAEGER_UID},
        "targets": [{"refId": "A", "datasource": {"type": "jaeger", "uid": JAEGER_UID},
                     "queryType": "search", "service": "${trace_service}", "tags": "customer.id=${customer}",
                     "limit": 20}],
        "fieldConfig": {"defaults": {}, "overrides": []},
        "options": TABLE,
    }, w=24, h=8)
    return b


def _duration_seconds(text: str) -> int:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhd])", text))


def _grafana_template(text: str) -> str:
    # Grafana-managed alerts expose the query's value as $values.A.Value ($value is a summary string).
    return text.replace("$value", "$values.A.Value")


def _range_seconds(expr: str) -> int:
    """Longest look-back of a PromQL expression: ranges plus offsets (so Grafana fetches enough)."""
    ranges = [_duration_seconds(m) for m in re.findall(r"\[(\d+[smhd])\]", expr)]
    offsets = [_duration_seconds(m) for m in re.findall(r"offset (\d+[smhd])", expr)]
    return max(ranges or [300]) + max(offsets or [0])


def grafana_alert_rules(rules_file: Path = PROMETHEUS_RULES) -> dict[str, Any]:
    """The Prometheus alerting rules as a Grafana alerting provisioning document."""
    source = yaml.safe_load(rules_file.read_text(encoding="utf-8"))
    groups = []
    for group in source["groups"]:
        rules = []
        for rule in group["rules"]:
            if "alert" not in rule:
                continue
            name = rule["alert"]
            uid = "llmledger-" + re.sub(r"(?<!^)(?=[A-Z])", "-", name.removeprefix("LLMLedger")).lower()
            rules.append({
                "uid": uid[:40],
                "title": name,
                "condition": "B",
                "data": [
                    {"refId": "A", "datasourceUid": PROMETHEUS_DATASOURCE_UID,
                     "relativeTimeRange": {"from": _range_seconds(rule["expr"]), "to": 0},
                     "model": {"refId": "A", "expr": rule["expr"].strip(), "instant": True, "range": False,
                               "editorMode": "code", "intervalMs": 60000, "maxDataPoints": 43200}},
                    # The PromQL returns only the series that breach (as in Prometheus), so every
                    # returned series is firing: B is 1 for each of them.
                    {"refId": "B", "datasourceUid": "__expr__",
                     "model": {"refId": "B", "type": "math", "expression": "is_number($A)",
                               "datasource": {"type": "__expr__", "uid": "__expr__"}}},
                ],
                "for": rule.get("for", "0s"),
                "noDataState": "OK",
                "execErrState": "Error",
                "labels": dict(rule.get("labels", {})),
                "annotations": {k: _grafana_template(v) for k, v in rule.get("annotations", {}).items()},
                "isPaused": False,
            })
        groups.append({"orgId": 1, "name": group["name"], "folder": "llmledger",
                       "interval": group.get("interval", "1m"), "rules": rules})
    return {
        "apiVersion": 1,
        "groups": groups,
        "contactPoints": [{
            "orgId": 1,
            "name": "llmledger-placeholder",
            "receivers": [{
                "uid": "llmledger-placeholder-webhook",
                "type": "webhook",
                # Placeholder: replace with your Slack/PagerDuty/e-mail receiver. Nothing listens here.
                "settings": {"url": "http://127.0.0.1:9/llmledger-alerts", "httpMethod": "POST"},
                "disableResolveMessage": False,
            }],
        }],
        "policies": [{
            "orgId": 1,
            "receiver": "llmledger-placeholder",
            "group_by": ["alertname", "customer_id", "gen_ai_provider_name"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "12h",
        }],
    }


class _BlockStyleDumper(yaml.SafeDumper):
    """Writes multi-line strings (the PromQL) as readable `|` blocks."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockStyleDumper.add_representer(str, _str_representer)


def write_all(out_dir: Path = OUT_DIR, alerting_file: Path = ALERTING_FILE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for board in (overview(), economics()):
        path = out_dir / f"{board.uid}.json"
        path.write_text(json.dumps(board.to_json(), indent=2) + "\n", encoding="utf-8")
        written.append(path)
    alerting_file.parent.mkdir(parents=True, exist_ok=True)
    header = ("# GENERATED by grafana/generate.py from collector-config/rules/llmledger-alerts.yml:\n"
              "# edit those, then run `python grafana/generate.py`.\n")
    alerting_file.write_text(header + yaml.dump(grafana_alert_rules(), Dumper=_BlockStyleDumper, sort_keys=False,
                                                      width=100),
                             encoding="utf-8")
    written.append(alerting_file)
    return written


if __name__ == "__main__":
    for written_path in write_all():
        print(written_path)
