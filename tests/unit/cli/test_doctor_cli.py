"""``llmledger doctor``: each check says OK or what to fix, and the exit status tells."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from llmledger.cli import main
from llmledger.cli.doctor import endpoint_address, sdk_checks
from llmledger.config import Config
from llmledger.instrumentation.adapter import PatchTarget
from llmledger.instrumentation.providers.openai import OpenAIAdapter
from llmledger.ledger import open_store
from llmledger.ledger.migrations import SCHEMA_VERSION


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("LLMLEDGER_CONFIG", "LLMLEDGER_LEDGER", "LLMLEDGER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture()
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield int(server.getsockname()[1])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _doctor(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, str]]:
    code = main(["doctor", *args])
    lines: dict[str, str] = {}
    name = ""
    for line in capsys.readouterr().out.splitlines()[1:]:
        parts = line.split()
        if parts and parts[0] == "fix:":
            lines[name] += "\n" + line.strip()
        elif len(parts) >= 2 and parts[0] in {"OK", "WARN", "FAIL", "--"}:
            name = parts[1]
            lines[name] = line.strip()
    return code, lines


def test_a_healthy_setup(capsys: pytest.CaptureFixture[str], listening_port: int) -> None:
    ledger = Path("ledger.db")
    open_store(str(ledger)).close()
    Path("llmledger.yaml").write_text(
        f"ledger: {ledger}\notlp_endpoint: http://127.0.0.1:{listening_port}\n"
        "plans:\n  pro: {monthly_usd: 99}\ncustomers:\n  acme: {plan: pro}\n")
    code, lines = _doctor(capsys)
    assert code == 0
    assert lines["config"].startswith("OK") and "1 plan(s), 1 customer(s)" in lines["config"]
    assert lines["pricing"].startswith("OK") and "genai-prices 0.2.3" in lines["pricing"]
    assert lines["openai"].startswith("OK") and "openai 3.57.0, instrumented" in lines["openai"]
    assert lines["anthropic"].startswith("OK")
    assert lines["exporter"].startswith("OK") and f"127.0.0.1:{listening_port} accepts" in lines["exporter"]
    assert lines["ledger"].startswith("OK") and f"schema v{SCHEMA_VERSION}, 0 calls" in lines["ledger"]


def test_nothing_configured_is_not_a_problem(capsys: pytest.CaptureFixture[str]) -> None:
    code, lines = _doctor(capsys)
    assert code == 0
    assert lines["config"].startswith("--") and lines["exporter"].startswith("--")
    assert lines["ledger"].startswith("--") and "ledger: llmledger.db" in lines["ledger"]


def test_an_unreachable_exporter_fails_with_a_fix(capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    port = _closed_port()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{port}")
    code, lines = _doctor(capsys)
    assert code == 1
    assert lines["exporter"].startswith("FAIL")
    assert f"OTEL_EXPORTER_OTLP_ENDPOINT: cannot connect to 127.0.0.1:{port}" in lines["exporter"]
    assert "fix: start the OpenTelemetry Collector" in lines["exporter"]


def test_a_broken_config_fails_naming_the_key(capsys: pytest.CaptureFixture[str]) -> None:
    Path("llmledger.yaml").write_text("plans:\n  pro: {monthly_usd: ninety}\n")
    code, lines = _doctor(capsys)
    assert code == 1
    assert lines["config"].startswith("FAIL") and "plans.pro.monthly_usd" in lines["config"]


@pytest.mark.parametrize(("ledger", "detail"), [
    ("missing-dir/ledger.db", "missing or not writable"),
    ("notes.txt", "not an SQLite file, so not an llmledger ledger"),
    (f"postgresql://postgres@127.0.0.1:{_closed_port()}/ledger", "cannot connect"),
])
def test_ledger_problems(capsys: pytest.CaptureFixture[str], ledger: str, detail: str) -> None:
    Path("notes.txt").write_text("my notes")
    code, lines = _doctor(capsys, "--db", ledger)
    assert code == 1
    assert lines["ledger"].startswith("FAIL") and detail in lines["ledger"] and "fix:" in lines["ledger"]


def test_a_new_ledger_path_is_fine(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMLEDGER_LEDGER", "fresh.db")
    code, lines = _doctor(capsys)
    assert code == 0 and "does not exist yet" in lines["ledger"]
    assert not Path("fresh.db").exists()  # doctor only looks


@dataclass(frozen=True)
class _Shape:
    supported: str
    targets: tuple[PatchTarget, ...]


def _adapter(supported: str, targets: tuple[PatchTarget, ...] | None = None) -> OpenAIAdapter:
    adapter = OpenAIAdapter()
    adapter.supported = supported
    if targets is not None:
        adapter.targets = targets
    return adapter


def test_sdk_outside_the_tested_range_warns() -> None:
    (check,) = sdk_checks(Config(), [_adapter(">=1,<2")])
    assert check.status == "warn" and "outside the tested range >=1,<2" in check.detail
    assert check.fix == "pip install 'openai>=1,<2' to use a tested version"


def test_sdk_without_its_patch_points_fails() -> None:
    gone = (PatchTarget("openai.resources.chat.completions", "Completions.no_such_method", "chat"),)
    (check,) = sdk_checks(Config(), [_adapter(">=3.57.0,<4", gone)])
    assert check.status == "fail" and "none of its 1 patch points exist" in check.detail


def test_sdk_left_out_by_the_config() -> None:
    (check,) = sdk_checks(Config(providers=frozenset({"anthropic"})), [_adapter(">=3.57.0,<4")])
    assert check.status == "info" and "not in providers:" in check.detail


@pytest.mark.parametrize(("endpoint", "protocol", "address"), [
    ("http://127.0.0.1:4317", "grpc", ("127.0.0.1", 4317)),
    ("http://collector", "http/protobuf", ("collector", 4318)),
    ("https://otel.example.com", "grpc", ("otel.example.com", 443)),
    ("localhost:14317", "grpc", ("localhost", 14317)),
])
def test_endpoint_address(endpoint: str, protocol: str, address: tuple[str, int]) -> None:
    assert endpoint_address(endpoint, protocol) == address


def test_the_ledger_an_app_configured_in_its_config_file_is_seen(capsys: pytest.CaptureFixture[str]) -> None:
    # The app reads app.yaml through init(config_file=...) and records there; doctor asked about
    # the same file sees the same ledger, with the calls recorded in it.
    ledger = Path("data") / "app.db"
    ledger.parent.mkdir()
    open_store(str(ledger)).close()
    Path("app.yaml").write_text(f"ledger: {ledger}\nplans:\n  starter: {{monthly_usd: 19}}\n")
    code, lines = _doctor(capsys, "--config", "app.yaml")
    assert code == 0
    assert lines["ledger"].startswith("OK") and str(ledger) in lines["ledger"]
    assert "0 calls" in lines["ledger"]


def test_an_unconfigured_ledger_report_would_read_is_checked(capsys: pytest.CaptureFixture[str]) -> None:
    open_store("llmledger.db").close()
    code, lines = _doctor(capsys)
    assert code == 0
    assert lines["ledger"].startswith("OK") and "llmledger.db" in lines["ledger"]
    assert "not configured" in lines["ledger"] and "reads it by default" in lines["ledger"]


def test_a_config_without_ledger_says_where_to_put_it(capsys: pytest.CaptureFixture[str]) -> None:
    Path("app.yaml").write_text("plans:\n  starter: {monthly_usd: 19}\n")
    code, lines = _doctor(capsys, "--config", "app.yaml")
    assert code == 0
    assert lines["ledger"].startswith("--") and "no ledger configured in app.yaml" in lines["ledger"]
    assert "init(ledger=...)" in lines["ledger"] and "--db" in lines["ledger"]


def test_pricing_check_shows_the_price_data_date_and_warns_when_it_is_old() -> None:
    from datetime import date, timedelta

    from llmledger.cli.doctor import Check, _price_freshness
    from llmledger.pricing.catalog import data_date

    as_of = data_date()
    assert as_of is not None
    base = Check("ok", "pricing", "genai-prices")
    fresh = _price_freshness(base, as_of + timedelta(days=60))
    assert fresh.status == "ok" and f"prices as of {as_of.isoformat()} (60 days old)" in fresh.detail
    stale = _price_freshness(base, as_of + timedelta(days=61))
    assert stale.status == "warn" and "61 days old" in stale.detail
    assert stale.fix is not None and "pip install --upgrade 'genai-prices<0.3'" in stale.fix
    # a check dated after "today" does not count
    earlier = data_date(as_of - timedelta(days=1))
    assert earlier is not None and earlier < as_of
    assert data_date(date(2000, 1, 1)) is None
