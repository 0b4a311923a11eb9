"""A real Redis server for the Celery propagation tests, started on 127.0.0.1 and stopped after.

``bash scripts/redis.sh`` installs redis-server; with ``LLMLEDGER_REQUIRE_REDIS=1`` (set by
scripts/test.sh) a missing binary fails the run instead of skipping these tests.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed (bash scripts/redis.sh)"
        if os.environ.get("LLMLEDGER_REQUIRE_REDIS") == "1":
            pytest.fail(f"{message} (LLMLEDGER_REQUIRE_REDIS=1)", pytrace=False)
        pytest.skip(message)
    workdir: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    log = open(workdir / "redis.log", "wb")  # noqa: SIM115 (the server writes it until the end)
    process = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes"],
        stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("redis-server did not start:\n" + (workdir / "redis.log").read_text(),
                            pytrace=False)
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
