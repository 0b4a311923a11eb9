"""Done-when check of the foundation: in a clean virtualenv with only llmledger + openai
installed, ``opentelemetry-instrument`` finds llmledger by its entry point and the app gets
priced, attributed spans and a per-customer cost counter equal to the sum of span costs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APP = Path(__file__).parent / "apps" / "entry_point_app.py"


def _uv() -> str:
    found = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    if not Path(found).exists():
        pytest.fail("uv is needed to build the clean virtualenv (bash scripts/env.sh installs it)")
    return found


@pytest.fixture(scope="module")
def clean_venv(tmp_path_factory) -> Path:
    venv = tmp_path_factory.mktemp("clean") / "venv"
    uv = _uv()
    subprocess.run([uv, "venv", "-q", "-p", sys.executable, str(venv)], check=True)
    env = {**os.environ, "VIRTUAL_ENV": str(venv)}
    subprocess.run([uv, "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"), str(ROOT),
                    "openai"], check=True, env=env, timeout=600)
    return venv


def test_entry_point_app_in_clean_venv(clean_venv, fake_provider):
    python = clean_venv / "bin" / "python"
    # only llmledger's own dependencies and openai: no other provider SDK is present
    for absent in ("anthropic", "google.genai", "cohere", "mistralai", "groq", "boto3"):
        probe = subprocess.run([str(python), "-c", f"import {absent}"], capture_output=True)
        assert probe.returncode != 0, f"{absent} should not be installed in the clean venv"
    result = subprocess.run(
        [str(clean_venv / "bin" / "opentelemetry-instrument"), str(python), str(APP)],
        capture_output=True, text=True, timeout=120,
        # The fake provider on 127.0.0.1 answers as OpenAI: named so, as an operator names a gateway.
        env={**os.environ, "FAKE_PROVIDER_URL": fake_provider.url, "LLMLEDGER_ENDPOINTS": "127.0.0.1=openai",
             "OTEL_TRACES_EXPORTER": "none",
             "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"})
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    spans = out["spans"]
    assert [s["name"] for s in spans] == ["chat gpt-4o"] * 4 + ["chat acme-llm-9000"]
    priced = spans[:4]
    for span in priced:
        attrs = span["attributes"]
        assert attrs["customer.id"] == "cust-ep" and attrs["customer.plan"] == "starter"
        assert attrs["gen_ai.usage.input_tokens"] == 50_000
        assert attrs["gen_ai.usage.output_tokens"] == 1_000
        # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M = 0.135, to the micro-dollar
        assert round(attrs["gen_ai.usage.cost"], 6) == 0.135
    assert spans[1]["attributes"]["gen_ai.request.stream"] is True
    assert spans[4]["attributes"]["llmledger.cost.status"] == "unpriced"
    assert "gen_ai.usage.cost" not in spans[4]["attributes"]
    (point,) = out["customer_cost"]
    assert point["attributes"]["customer.id"] == "cust-ep"
    assert abs(point["value"] - sum(s["attributes"]["gen_ai.usage.cost"] for s in priced)) < 1e-12
    assert "TOPSECRET" not in result.stdout
