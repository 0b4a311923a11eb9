"""``llmledger demo`` tells the truth: which SDKs it called, what failed and why, and a command
that works. Real SDKs against the fake provider (or against a closed port), a real ledger."""

from __future__ import annotations

import os
import socket
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmledger.cli import main
from llmledger.cli.demo import _intro, _next_steps, _outcome, cli_command
from llmledger.cli.render import Style
from llmledger.demo import SCRIPTED_FAILURE, DemoOptions, run_demo
from llmledger.demo.scenario import POWER_USER
from llmledger.ledger import open_store
from llmledger.ledger.report import build_report


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_openai_only_says_so_and_still_has_its_losing_customer(tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    meter_provider = MeterProvider()
    result = run_demo(DemoOptions(ledger=str(tmp_path / "demo.db"), month=date(2026, 9, 1), workers=8,
                                  anthropic=False),
                      tracer_provider=tracer_provider, meter_provider=meter_provider, progress=None)
    assert not result.used_anthropic and result.sdks == ("OpenAI",)
    assert result.power_user_model == ("openai", "gpt-5.5")
    assert {(s.attributes or {}).get("gen_ai.provider.name") for s in spans.get_finished_spans()} == {"openai"}
    # only the scripted rate limits failed, and they are called what they are
    assert result.failures == {SCRIPTED_FAILURE: result.scripted_failures} and result.scripted_failures > 0
    assert result.unexpected_failures == 0
    with open_store(result.ledger, create=False) as store:
        report = build_report(store, result.plans, "customer", since=result.since, until=result.until)
    power = next(row for row in report.rows if row.key == POWER_USER)
    # September: 30 days x 4 summaries x (50,000 x $5/M + 1,000 x $30/M = $0.28) = $33.60, plus searches
    assert power.unprofitable and Decimal("33.60") < power.cost < Decimal("33.61")
    assert [row.key for row in report.rows if row.unprofitable] == [POWER_USER]
    intro = _intro(None, use_anthropic=False)
    assert "calling OpenAI through its real SDK (only" in intro and "Anthropic" not in intro
    outcome = _outcome(result, Style(unicode=False))
    assert "failed as the scenario scripts: rate-limit error (HTTP 429): " in outcome
    assert "summaries on gpt-5.5" in outcome and "pip install 'openai>=3.57,<4' 'anthropic>=2.14,<3'" in outcome
    assert "with GPT-5.5: $0.28 a summary, $33.6" in _next_steps(result, report)
    tracer_provider.shutdown()
    meter_provider.shutdown()


def test_both_sdks_are_named_only_when_both_are_called() -> None:
    assert "calling OpenAI and Anthropic through their real SDKs" in _intro(None, use_anthropic=True)


def test_a_demo_whose_calls_all_fail_says_why_and_exits_non_zero(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--ledger", str(tmp_path / "demo.db"), "--month", "2026-09", "--workers", "8",
                 "--provider-url", f"http://127.0.0.1:{_closed_port()}"])
    captured = capsys.readouterr()
    assert code == 1
    assert "calls failed (connection error (the provider could not be reached): " in captured.err
    assert "rate-limit" not in captured.err + captured.out
    assert "llmledger report" not in captured.out  # no report of $0.00 costs


def test_look_closer_commands_work_where_they_are_printed(monkeypatch: pytest.MonkeyPatch) -> None:
    script = Path(sys.prefix) / "bin" / "llmledger"
    assert script.exists()
    monkeypatch.setenv("PATH", os.pathsep.join([str(script.parent), "/usr/bin", "/bin"]))
    assert cli_command() == "llmledger"
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # not on PATH, as after bash scripts/demo.sh
    monkeypatch.chdir(script.parents[2])
    assert cli_command() == str(script.relative_to(script.parents[2]))  # e.g. .venv/bin/llmledger
    monkeypatch.chdir("/")
    assert Path(cli_command()) == script

