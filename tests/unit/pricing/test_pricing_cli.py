"""`llmledger price`: output, --json, exit codes and argument validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmledger.cli import main

BASE = ["price", "--provider", "openai", "--model", "gpt-4o", "--input", "50000", "--output", "1000"]
AT = ["--at", "2026-11-20"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_text_breakdown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([*BASE, "--cache-read", "20000", "--reasoning", "300", *AT], capsys)
    assert code == 0 and err == ""
    assert "matched   gpt-4o" in out and "source    genai-prices 0.2.3" in out
    rows = {line[:18].strip(): line[18:].split() for line in out.splitlines() if line.strip()}
    assert rows["input (uncached)"] == ["30,000", "2.5/MTok", "0.075"]
    assert rows["cache read"] == ["20,000", "1.25/MTok", "0.025"]
    assert rows["output"] == ["700", "10/MTok", "0.007"]
    assert rows["reasoning"] == ["300", "10/MTok", "0.003"]
    assert (rows["input subtotal"], rows["output subtotal"]) == (["0.1"], ["0.01"])
    # 30_000 * 2.5/M + 20_000 * 1.25/M + 1_000 * 10/M = 0.075 + 0.025 + 0.01 = 0.11
    assert out.rstrip().splitlines()[-1].split()[-2:] == ["0.11", "USD"]


def test_json_output(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "price",
        "--provider",
        "anthropic",
        "--model",
        "claude-sonnet-4-5",
        "--input",
        "20000",
        "--output",
        "1000",
    ]
    code, out, _ = run([*argv, "--cache-write", "4000", "--cache-write-1h", "1000", "--json", *AT], capsys)
    assert code == 0
    data = json.loads(out)
    # 16_000 * 3/M + 3_000 * 3.75/M + 1_000 * 6/M + 1_000 * 15/M = 0.048 + 0.01125 + 0.006 + 0.015 = 0.08025
    assert data["total_usd"] == "0.08025"
    assert (data["status"], data["model"], data["source"]) == (
        "priced",
        "claude-sonnet-4-5",
        "genai-prices 0.2.3",
    )
    assert [(line["line"], line["tokens"], line["rate_usd"], line["usd"]) for line in data["breakdown"]] == [
        ("input (uncached)", 16_000, "3", "0.048"),
        ("cache write 5m", 3_000, "3.75", "0.01125"),
        ("cache write 1h", 1_000, "6", "0.006"),
        ("output", 1_000, "15", "0.015"),
    ]
    assert data["at"] == "2026-11-20T00:00:00+00:00"


def test_modifiers(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run([*BASE, "--batch", "--json", *AT], capsys)
    assert json.loads(out)["total_usd"] == "0.0675"
    _, out, _ = run(
        [
            "price",
            "--provider",
            "openai",
            "--model",
            "gpt-5",
            "--input",
            "100000",
            "--output",
            "10000",
            "--service-tier",
            "flex",
            "--json",
            *AT,
        ],
        capsys,
    )
    assert json.loads(out)["total_usd"] == "0.1125"
    _, out, _ = run(
        [
            "price",
            "--provider",
            "anthropic",
            "--model",
            "claude-opus-4-8",
            "--input",
            "10000",
            "--output",
            "1000",
            "--speed",
            "fast",
            "--json",
            *AT,
        ],
        capsys,
    )
    assert json.loads(out)["total_usd"] == "0.15"


def test_at_selects_the_price_in_force(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["price", "--provider", "openai", "--model", "o3", "--input", "1000", "--output", "5000", "--json"]
    assert json.loads(run([*argv, "--at", "2025-06-01"], capsys)[1])["total_usd"] == "0.21"
    assert json.loads(run([*argv, "--at", "2025-06-10T01:00:00+02:00"], capsys)[1])["total_usd"] == "0.21"
    assert json.loads(run([*argv, "--at", "2025-06-10T08:00:00"], capsys)[1])["total_usd"] == "0.042"


def test_unknown_model_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["price", "--provider", "openai", "--model", "acme-9000", "--input", "1", "--output", "1"], capsys
    )
    assert code == 2
    assert "no price for model 'acme-9000' of provider 'openai'" in err
    assert "status    unpriced" in out
    assert len(err.strip().splitlines()) == 1  # the engine's own warning is not repeated


def test_unknown_model_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["price", "--provider", "openai", "--model", "acme-9000", "--input", "1", "--output", "1", "--json"],
        capsys,
    )
    data = json.loads(out)
    assert code == 2 and data["status"] == "unpriced" and data["total_usd"] is None
    assert "acme-9000" in data["reason"]


@pytest.mark.parametrize(
    ("extra", "flag"),
    [
        (["--cache-read", "-1"], "--cache-read must be >= 0"),
        (
            ["--cache-read", "40000", "--cache-write", "20000"],
            "--cache-read + --cache-write (60000) cannot exceed --input",
        ),
        (
            ["--cache-write", "10", "--cache-write-1h", "11"],
            "--cache-write-1h (11) cannot exceed --cache-write",
        ),
        (["--reasoning", "1001"], "--reasoning (1001) cannot exceed --output"),
        (["--output-audio", "1001"], "--output-audio (1001) cannot exceed --output"),
        (["--at", "yesterday"], "--at"),
    ],
)
def test_invalid_arguments_exit_2_naming_the_flag(
    capsys: pytest.CaptureFixture[str], extra: list[str], flag: str
) -> None:
    code, out, err = run([*BASE, *extra], capsys)
    assert code == 2 and out == ""
    assert flag in err


def test_negative_total_is_named(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["price", "--provider", "openai", "--model", "gpt-4o", "--input", "-5", "--output", "1"], capsys)
    assert code == 2 and "--input must be >= 0" in err


def test_non_integer_count_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["price", "--provider", "openai", "--model", "gpt-4o", "--input", "many", "--output", "1"])
    assert exited.value.code == 2
    assert "--input" in capsys.readouterr().err


def test_config_file_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "llmledger.yaml"
    config.write_text(
        "service_name: demo\n"
        "pricing:\n"
        "  deployments: {azure.ai.openai: {my-gpt4o-prod: gpt-4o}}\n"
        "  models:\n"
        "    - {provider: azure.ai.openai, model_prefix: gpt-4o, multiplier: 0.8}\n"
    )
    argv = [
        "price",
        "--provider",
        "azure.ai.openai",
        "--model",
        "my-gpt4o-prod",
        "--input",
        "50000",
        "--output",
        "1000",
    ]
    code, out, _ = run([*argv, "--config", str(config), "--json", *AT], capsys)
    data = json.loads(out)
    # 0.8 * 0.135 = 0.108
    assert code == 0 and data["total_usd"] == "0.108" and data["source"] == "override llmledger.yaml"


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "cannot read"),
        ("pricing: [unclosed\n", "not valid YAML"),
        ("- a list\n", "top level must be a mapping"),
        (
            "pricing:\n  models:\n    - {provider: openai, model: x, prices: {input_mtok: -2}}\n",
            "pricing.models[0].prices.input_mtok",
        ),
    ],
)
def test_bad_config_exits_2_naming_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, words: str
) -> None:
    config = tmp_path / "prices.yaml"
    if content is not None:
        config.write_text(content)
    code, out, err = run([*BASE, "--config", str(config)], capsys)
    assert code == 2 and out == ""
    assert str(config) in err and words in err


def test_price_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["price", "--help"])
    assert exited.value.code == 0
    assert "--cache-write-1h" in capsys.readouterr().out


def rows_of(out: str) -> dict[str, list[str]]:
    return {line[:18].strip(): line[18:].split() for line in out.splitlines() if line.strip()}


def test_image_output_and_cached_audio_lines(capsys: pytest.CaptureFixture[str]) -> None:
    image = ["price", "--provider", "gcp.gemini", "--model", "gemini-2.5-flash-image", "--input", "10"]
    code, out, _ = run([*image, "--output", "1304", "--output-image", "1290", *AT], capsys)
    # 10 * 0.30 + 14 * 2.50 + 1_290 * 30 = 38_738 /M
    assert code == 0 and rows_of(out)["output image"] == ["1,290", "30/MTok", "0.0387"]
    assert out.rstrip().splitlines()[-1].split()[-2:] == ["0.038738", "USD"]
    audio = ["price", "--provider", "gcp.vertex_ai", "--model", "gemini-2.5-flash", "--input", "3297"]
    argv = [*audio, "--cache-read", "2918", "--input-audio", "321", "--cache-read-audio", "284", "--output", "150"]
    code, out, _ = run([*argv, *AT], capsys)
    rows = rows_of(out)
    assert rows["cache read audio"] == ["284", "0.1/MTok", "0.0000284"]
    assert rows["input audio"] == ["37", "1/MTok", "0.000037"]


def test_geo_and_traffic_type_change_the_rates(capsys: pytest.CaptureFixture[str]) -> None:
    claude = ["price", "--provider", "anthropic", "--model", "claude-sonnet-4-5", "--input", "1000", "--output", "100"]
    code, out, _ = run([*claude, "--geo", "us", *AT], capsys)
    # (1_000 * 3 + 100 * 15) /M = 0.0045, x1.1 = 0.00495
    assert code == 0 and "applied   us-only inference" in out
    assert rows_of(out)["input (uncached)"] == ["1,000", "3.3/MTok", "0.0033"]
    assert out.rstrip().splitlines()[-1].split()[-2:] == ["0.00495", "USD"]
    gemini = ["price", "--provider", "gcp.vertex_ai", "--model", "gemini-2.5-flash", "--input", "1000"]
    code, out, _ = run([*gemini, "--output", "100", "--traffic-type", "flex", "--json", *AT], capsys)
    # (1_000 * 0.30 + 100 * 2.50) /M = 0.00055, Flex PayGo x0.5 = 0.000275
    assert code == 0 and json.loads(out)["total_usd"] == "0.000275"


def test_regional_processing_is_unpriced_with_its_reason(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*BASE, "--region", "eu", *AT], capsys)
    assert code == 2 and "eu regional processing" in err


def test_cache_read_audio_must_nest(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run([*BASE, "--cache-read", "10", "--input-audio", "5", "--cache-read-audio", "6", *AT], capsys)
    assert code == 2 and "--cache-read-audio (6) cannot exceed --input-audio (5)" in err
