"""The shipped configuration files, checked by the real tools that will run them:
otelcol validate, promtool check/test, jaeger validate, tsc against @grafana/schema, plus the
structural checks no tool covers (manifest lists exactly what the configs use, compose mounts,
generated Grafana files up to date, Grafana alerts = Prometheus alerts)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from e2e_backends import (
    COLLECTOR_CONFIG,
    GATEWAY_CONFIG,
    JAEGER_CONFIG,
    MANIFEST,
    PROMETHEUS_CONFIG,
    REMOTE_WRITE_OVERLAY,
    ROOT,
    Binaries,
)

pytestmark = pytest.mark.e2e

GRAFANA = ROOT / "grafana"
RULE_FILES = sorted((COLLECTOR_CONFIG / "rules").glob("*.yml"))
RULE_TESTS = sorted((COLLECTOR_CONFIG / "tests").glob("*.yml"))
KINDS = ("receivers", "processors", "exporters", "connectors", "extensions")


def run(argv: list[str | Path], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, timeout=600, **kwargs)


# ---- collector --------------------------------------------------------------------------------------
@pytest.mark.parametrize("configs", [(GATEWAY_CONFIG,), (GATEWAY_CONFIG, REMOTE_WRITE_OVERLAY)],
                         ids=["scrape", "remote-write"])
def test_otelcol_validate_accepts_the_gateway_config(binaries: Binaries, configs: tuple[Path, ...]) -> None:
    result = run([binaries.otelcol, "validate", *(f"--config={c}" for c in configs)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_otelcol_validate_rejects_a_broken_config(binaries: Binaries, tmp_path: Path) -> None:
    """The check above can fail: a pipeline naming an undefined exporter is refused."""
    config = yaml.safe_load(GATEWAY_CONFIG.read_text())
    config["service"]["pipelines"]["traces"]["exporters"] = ["otlp_grpc/nowhere"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump(config))
    result = run([binaries.otelcol, "validate", f"--config={broken}"])
    assert result.returncode != 0
    assert "otlp_grpc/nowhere" in result.stdout + result.stderr


def _used_component_types() -> dict[str, set[str]]:
    used: dict[str, set[str]] = {kind: set() for kind in KINDS}
    for path in (GATEWAY_CONFIG, REMOTE_WRITE_OVERLAY):
        config = yaml.safe_load(path.read_text())
        service = config.get("service", {})
        for pipeline in service.get("pipelines", {}).values():
            for kind in ("receivers", "processors", "exporters"):
                for name in pipeline.get(kind, []):
                    component = name.split("/")[0]
                    is_connector = name in config.get("connectors", {}) or any(
                        name in yaml.safe_load(p.read_text()).get("connectors", {})
                        for p in (GATEWAY_CONFIG, REMOTE_WRITE_OVERLAY))
                    used["connectors" if is_connector else kind].add(component)
        used["extensions"].update(e.split("/")[0] for e in service.get("extensions", []))
    return used


def test_manifest_lists_exactly_the_components_the_configs_use(binaries: Binaries) -> None:
    built = yaml.safe_load(run([binaries.otelcol, "components"]).stdout)
    built_types = {kind: {c["name"] for c in built.get(kind) or []} for kind in KINDS}
    assert built_types == _used_component_types()
    # ... and the binary is the one the manifest describes.
    manifest = yaml.safe_load(MANIFEST.read_text())
    manifest_modules = {m["gomod"] for kind in KINDS for m in manifest.get(kind, [])}
    built_modules = {c["module"] for kind in KINDS for c in built.get(kind) or []}
    assert built_modules == manifest_modules
    assert all(m.endswith(" v0.159.0") for m in manifest_modules)


def test_every_listen_address_defaults_to_loopback() -> None:
    for path in (GATEWAY_CONFIG, REMOTE_WRITE_OVERLAY, JAEGER_CONFIG):
        for default in re.findall(r"\$\{env:[A-Z_]*(?:ENDPOINT|HOST)[A-Z_]*:-([^}]*)\}", path.read_text()):
            host = re.sub(r"^https?://", "", default)
            assert host.startswith("127.0.0.1"), f"{path.name}: default {default!r} is not loopback"


def test_jaeger_validate_accepts_the_jaeger_config(binaries: Binaries) -> None:
    result = run([binaries.jaeger, "validate", f"--config={JAEGER_CONFIG}"])
    assert result.returncode == 0, result.stdout + result.stderr


# ---- Prometheus ---------------------------------------------------------------------------------------
def test_promtool_check_config(binaries: Binaries) -> None:
    result = run([binaries.promtool, "check", "config", PROMETHEUS_CONFIG])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules(binaries: Binaries) -> None:
    result = run([binaries.promtool, "check", "rules", *RULE_FILES])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


@pytest.mark.parametrize("test_file", RULE_TESTS, ids=lambda p: p.stem)
def test_promtool_test_rules(binaries: Binaries, test_file: Path) -> None:
    result = run([binaries.promtool, "test", "rules", test_file.name], cwd=test_file.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_rule_tests_over_several_groups_fix_their_evaluation_order() -> None:
    # Without group_eval_order promtool evaluates groups in Go map order, so an alert may read a
    # recorded series one step old: the same test then passes or fails from run to run.
    for test_file in RULE_TESTS:
        spec = yaml.safe_load(test_file.read_text())
        groups = {g["name"]: any("record" in r for r in g["rules"]) for f in spec["rule_files"]
                  for g in yaml.safe_load((test_file.parent / f).read_text())["groups"]}
        if len(groups) > 1:
            order = spec.get("group_eval_order", [])
            assert sorted(order) == sorted(groups), f"{test_file.name}: group_eval_order must list {sorted(groups)}"
            recording_first = sorted(order, key=lambda name: not groups[name])
            assert order == recording_first, f"{test_file.name}: recording groups must be evaluated first"


def test_every_alert_has_a_promtool_test_that_fires_it() -> None:
    alerts = {r["alert"] for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"]
              for r in g["rules"] if "alert" in r}
    fired: set[str] = set()
    quiet: set[str] = set()
    for test_file in RULE_TESTS:
        for case in yaml.safe_load(test_file.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert alerts == fired, f"alerts never shown firing: {alerts - fired}"
    assert alerts == quiet, f"alerts never shown quiet: {alerts - quiet}"


# ---- Grafana --------------------------------------------------------------------------------------------
def test_generated_grafana_files_are_up_to_date(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("grafana_generate", GRAFANA / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = generate  # dataclasses look their module up there
    spec.loader.exec_module(generate)
    generate.write_all(tmp_path / "dashboards", tmp_path / "alerts.yaml")
    for generated in (tmp_path / "dashboards").iterdir():
        committed = GRAFANA / "dashboards" / generated.name
        assert committed.read_text() == generated.read_text(), f"run python grafana/generate.py ({committed})"
    assert sorted(p.name for p in (GRAFANA / "dashboards").glob("*.json")) == sorted(
        p.name for p in (tmp_path / "dashboards").iterdir())
    committed_alerts = GRAFANA / "provisioning" / "alerting" / "llmledger-alerts.yaml"
    assert committed_alerts.read_text() == (tmp_path / "alerts.yaml").read_text()


def test_grafana_alerts_match_the_prometheus_alerts() -> None:
    prometheus = {r["alert"]: r for f in RULE_FILES for g in yaml.safe_load(f.read_text())["groups"]
                  for r in g["rules"] if "alert" in r}
    grafana = yaml.safe_load((GRAFANA / "provisioning" / "alerting" / "llmledger-alerts.yaml").read_text())
    rules = {r["title"]: r for g in grafana["groups"] for r in g["rules"]}
    assert set(rules) == set(prometheus)
    for name, rule in rules.items():
        query = next(d for d in rule["data"] if d["refId"] == "A")
        assert query["model"]["expr"] == prometheus[name]["expr"].strip()
        assert query["datasourceUid"] == "llmledger-prometheus"
        assert rule["for"] == prometheus[name].get("for", "0s")
        assert rule["labels"] == prometheus[name]["labels"]
    receivers = {c["name"] for c in grafana["contactPoints"]}
    assert {p["receiver"] for p in grafana["policies"]} <= receivers


def _datasource_uids() -> set[str]:
    uids = set()
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        uids |= {d["uid"] for d in yaml.safe_load(path.read_text())["datasources"]}
    return uids


def _datasource_refs(node: Any) -> list[str]:
    """Every datasource uid a dashboard names: panel/target `datasource` refs and data-link targets."""
    refs: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "datasource" and isinstance(value, dict):
                refs.append(value["uid"])
            elif key == "datasourceUid":
                refs.append(value)
            else:
                refs.extend(_datasource_refs(value))
    elif isinstance(node, list):
        for item in node:
            refs.extend(_datasource_refs(item))
    return refs


def test_dashboards_only_reference_provisioned_datasources() -> None:
    uids = _datasource_uids()
    assert {"llmledger-prometheus", "llmledger-jaeger"} <= uids
    for path in (GRAFANA / "dashboards").glob("*.json"):
        dashboard = json.loads(path.read_text())
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        refs = set(_datasource_refs(dashboard["panels"])) | set(_datasource_refs(dashboard["templating"]))
        assert refs
        for uid in refs:
            if uid.startswith("${"):
                variable = variables[uid[2:-1]]
                assert variable["type"] == "datasource" and variable["current"]["value"] in uids
            else:
                assert uid in uids, f"{path.name}: unknown datasource {uid}"


def test_dashboards_type_check_against_grafana_schema(tsc_ready: Path) -> None:
    result = run(["node", tsc_ready])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "type-checked 2 dashboard(s)" in result.stdout


def test_type_check_rejects_a_dashboard_that_breaks_the_schema(tsc_ready: Path, tmp_path: Path) -> None:
    dashboard = json.loads((GRAFANA / "dashboards" / "llmledger-overview.json").read_text())
    dashboard["panels"][1]["gridPos"]["w"] = "wide"         # number expected
    dashboard["panels"][2]["options"]["colourMode"] = "value"  # no such stat option
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(dashboard))
    result = run(["node", tsc_ready, broken])
    assert result.returncode != 0
    assert "Type 'string' is not assignable to type 'number'" in result.stdout
    assert "'\"colourMode\"' does not exist" in result.stdout


# ---- docker compose ------------------------------------------------------------------------------------
def test_docker_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"collector", "prometheus", "jaeger", "grafana"}
    for name, service in services.items():
        image = service["image"]
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image ({image})"
        assert service.get("network_mode") == "host"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            else:
                assert source in compose["volumes"], f"{name}: undeclared volume {source}"
        for dependency in service.get("depends_on", []):
            assert dependency in services
    gateway_vars = set(re.findall(r"\$\{env:([A-Z_]+)", GATEWAY_CONFIG.read_text()))
    assert set(services["collector"]["environment"]) <= gateway_vars
    # Prometheus scrapes where the compose collector listens; Grafana's datasources point at them.
    prometheus = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    targets = {j["job_name"]: j["static_configs"][0]["targets"] for j in prometheus["scrape_configs"]}
    assert targets["llmledger"] == [services["collector"]["environment"]["LLMLEDGER_PROMETHEUS_EXPORTER_ENDPOINT"]]
    assert "--web.listen-address=127.0.0.1:9090" in services["prometheus"]["command"]
    datasources = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "llmledger.yaml").read_text())
    urls = {d["uid"]: d["url"] for d in datasources["datasources"]}
    assert urls["llmledger-prometheus"] == "http://127.0.0.1:9090"
    assert urls["llmledger-jaeger"] == "http://127.0.0.1:16686"
