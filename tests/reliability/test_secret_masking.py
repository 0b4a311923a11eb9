"""Every credential form libpq accepts is masked in doctor, the report header and the sink's
warnings (issue 18, item 6)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from llmledger.cli import main
from llmledger.ledger import open_ledger_sink, open_store, redact
from llmledger.ledger.store import scrub
from llmledger.usage import CallRecord

SECRET = "S3cr3t-pw"

URL_FORMS = [
    f"postgresql://u:{SECRET}@127.0.0.1:1/db",
    f"postgresql://u@127.0.0.1:1/db?password={SECRET}",
    f"postgresql://u@127.0.0.1:1/db?sslmode=disable&password={SECRET}&application_name=x",
    f"postgresql://u@127.0.0.1:1/db?sslpassword={SECRET}",
    f"postgres://u:{SECRET}@h1:1,h2:2/db?connect_timeout=1",
    f"postgresql://u:p%40{SECRET}@127.0.0.1:1/db",
    f"host=127.0.0.1 port=1 user=u password={SECRET} dbname=db",
    f"host=127.0.0.1 port=1 user=u password = '{SECRET} with space' dbname=db",
]


@pytest.mark.parametrize("url", URL_FORMS)
def test_redact_masks_every_credential_form(url: str) -> None:
    masked = redact(url)
    assert SECRET not in masked
    assert "***" in masked
    assert "127.0.0.1" in masked or "h1" in masked  # still says where the ledger is


def test_redact_leaves_urls_without_secrets_alone() -> None:
    url = "postgresql://u@127.0.0.1:5432/db?sslmode=require"
    assert redact(url) == url


def test_pgpassword_value_is_masked_wherever_it_is_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", SECRET)
    assert SECRET not in scrub(f'connection failed: password "{SECRET}" rejected', "postgresql://u@h/db")
    assert SECRET not in redact(f"postgresql://u:{SECRET}@h/db")


@pytest.mark.parametrize("url", URL_FORMS[:5])
def test_doctor_never_prints_the_password(url: str, capsys: pytest.CaptureFixture[str],
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", SECRET)
    main(["doctor", "--db", url])
    out = capsys.readouterr()
    assert "ledger" in out.out
    assert SECRET not in out.out + out.err


@pytest.mark.parametrize("url", URL_FORMS[1:4])
def test_cannot_reach_the_ledger_warning_is_masked(url: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "llmledger"):
        sink = open_ledger_sink(url, flush_interval=0.05)
        sink.on_record(CallRecord(provider="openai", operation="chat", request_model="m", stream=False,
                                  start_time_ns=time.time_ns()))
        deadline = time.monotonic() + 10
        while not any("cannot reach" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)
        sink.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "cannot reach" in text
    assert SECRET not in text


@pytest.mark.postgres
def test_report_header_masks_a_query_password(postgres_url: str, capsys: pytest.CaptureFixture[str],
                                              tmp_path: Path) -> None:
    # The test server trusts every local connection, so the password in the query is accepted.
    url = f"{postgres_url}?password={SECRET}"
    with open_store(url):
        pass
    config = tmp_path / "llmledger.yaml"
    config.write_text("service_name: t\n")
    code = main(["report", "--db", url, "--config", str(config)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "password=***" in out.out
    assert SECRET not in out.out + out.err
