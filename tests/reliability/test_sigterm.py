"""SIGTERM of a process with ledger rows still queued (issue 18, item 9): every row is written, and
the process ends exactly as it would without llmledger (default action, or the app's own handler)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from llmledger.fake_provider import FakeProviderServer

CALLS = 60

_CHILD = """
import signal, sys, time, llmledger, openai
fake, ledger, mode = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "app-handler":
    def on_term(signum, frame):
        print("app handler ran", flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, on_term)
elif mode == "ignored":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
llmledger.init(ledger=ledger, providers=["openai"], service_name="sigterm")
client = openai.OpenAI(base_url=fake + "/v1", api_key="x", max_retries=0)
with llmledger.customer("cust-term"):
    for _ in range(int(sys.argv[4])):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
print("ready", flush=True)
time.sleep(60 if mode != "ignored" else 3)
print("still alive", flush=True)
"""


def _rows(ledger: Path) -> int:
    with sqlite3.connect(ledger) as db:
        return int(db.execute("SELECT COUNT(*) FROM llm_calls").fetchone()[0])


def _terminate(fake: FakeProviderServer, ledger: Path, mode: str) -> tuple[int, str]:
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_CHILD), fake.url, str(ledger), mode,
                              str(CALLS)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        assert line.strip() == "ready", child.stderr.read() if child.stderr else ""
        child.send_signal(signal.SIGTERM)
        out, _ = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return child.returncode, out


def test_sigterm_with_the_default_action_writes_every_row_and_dies_of_sigterm(
        fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    code, _ = _terminate(fake_provider, ledger, "default")
    assert code == -signal.SIGTERM
    assert _rows(ledger) == CALLS


def test_sigterm_chains_the_apps_own_handler(fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    code, out = _terminate(fake_provider, ledger, "app-handler")
    assert "app handler ran" in out
    assert code == 3
    assert _rows(ledger) == CALLS


def test_an_ignored_sigterm_stays_ignored(fake_provider: FakeProviderServer, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.db"
    code, out = _terminate(fake_provider, ledger, "ignored")
    assert "still alive" in out
    assert code == 0
    assert _rows(ledger) == CALLS


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_shutdown_restores_the_previous_handler() -> None:
    import llmledger
    from llmledger import sigterm

    before = signal.getsignal(signal.SIGTERM)
    assert sigterm.install(lambda timeout: None, 1.0)
    assert signal.getsignal(signal.SIGTERM) is not before
    llmledger.shutdown()
    sigterm.uninstall()
    assert signal.getsignal(signal.SIGTERM) is before
