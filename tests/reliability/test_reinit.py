"""``init()`` twice, a failed re-init and ``init()`` after ``shutdown()`` (issue 18, item 3).

Each scenario runs in a child process (OpenTelemetry's global providers are set once per process)
that calls the real openai SDK against the fake provider and exports over OTLP/HTTP to a loopback
receiver: what the test checks is what really left the process.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from otlp_receiver import OtlpReceiver

from llmledger.fake_provider import FakeProviderServer

_PRELUDE = """
import sys, llmledger, openai
from llmledger import ConfigError
otlp, fake, bad_ledger = sys.argv[1], sys.argv[2], sys.argv[3]
OTLP = dict(otlp_endpoint=otlp, otlp_protocol="http/protobuf", service_name="reinit", providers=["openai"])
client = openai.OpenAI(base_url=fake + "/v1", api_key="x", max_retries=0)

def call(customer):
    with llmledger.customer(customer):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
"""


def _run(script: str, receiver: OtlpReceiver, fake: FakeProviderServer, tmp_path: Path) -> str:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code = _PRELUDE + textwrap.dedent(script)
    done = subprocess.run([sys.executable, "-c", code, receiver.url, fake.url, str(blocker / "x.db")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_second_init_keeps_exporting(fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        _run("""
            llmledger.init(**OTLP)
            call("first")
            llmledger.init(**OTLP, ledger=sys.argv[3].replace("a-file/x.db", "ok.db"))
            call("second")
            llmledger.shutdown()
        """, receiver, fake_provider, tmp_path)
    assert sorted(receiver.span_customers()) == ["first", "second"]
    assert {"first", "second"} <= receiver.metric_customers("llmledger.customer.calls")


def test_failed_reinit_leaves_the_previous_set_up_working(fake_provider: FakeProviderServer,
                                                          tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        out = _run("""
            llmledger.init(**OTLP)
            call("first")
            try:
                llmledger.init(**OTLP, ledger=bad_ledger)
            except ConfigError as exc:
                print("refused:", exc)
            call("after-failed-init")
            llmledger.shutdown()
        """, receiver, fake_provider, tmp_path)
    assert "refused:" in out
    assert sorted(receiver.span_customers()) == ["after-failed-init", "first"]


def test_reinit_that_changes_the_exporter_is_refused_clearly(fake_provider: FakeProviderServer,
                                                             tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        out = _run("""
            llmledger.init(**OTLP)
            try:
                llmledger.init(**{**OTLP, "otlp_endpoint": "http://127.0.0.1:1"})
            except ConfigError as exc:
                print("refused:", exc)
            call("still-exported")
            llmledger.shutdown()
        """, receiver, fake_provider, tmp_path)
    assert "refused: llmledger.init(), key 'otlp_endpoint'" in out
    assert "Restart the process" in out
    assert receiver.span_customers() == ["still-exported"]


def test_init_after_shutdown_exports_again(fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    with OtlpReceiver() as receiver:
        _run("""
            llmledger.init(**OTLP)
            call("before")
            llmledger.shutdown()
            llmledger.init(**OTLP)
            call("after")
            llmledger.shutdown()
        """, receiver, fake_provider, tmp_path)
    assert sorted(receiver.span_customers()) == ["after", "before"]
