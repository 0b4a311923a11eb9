"""A throw-away PostgreSQL server on 127.0.0.1 for the report benchmark, and its CPU time.

Uses the Debian server binaries (``bash scripts/postgres.sh`` installs them) as the ledger tests
do: a temporary data directory, ``fsync=off``, run as the ``postgres`` user when we are root,
stopped and deleted on exit. Autovacuum is off: the benchmark runs ``VACUUM ANALYZE`` itself after
loading, as autovacuum would, so no maintenance runs while reports are timed. ``server_cpu()``
sums the user+system CPU seconds of the processes that serve queries (the postmaster, backends,
parallel workers, live or reaped; not the checkpointer and other background writers), so a
benchmark can state the database's own CPU next to the client's.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    if not found:
        raise SystemExit("no PostgreSQL server binaries: run `bash scripts/postgres.sh`")
    return Path(found[0]).parent


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, url: str, data: Path) -> None:
        self.url = url
        self.data = data

    def _postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def server_cpu(self) -> float:
        """CPU seconds (user + system) used so far by the server's processes, live and reaped."""
        ticks = os.sysconf("SC_CLK_TCK")
        master = self._postmaster()
        total = 0
        for stat in glob.glob("/proc/[0-9]*/stat"):
            try:
                fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # the process ended meanwhile
            pid, ppid = int(stat.split("/")[2]), int(fields[1])
            if ppid == master and _background(pid):
                continue
            if pid == master or ppid == master:
                # utime, stime, and for the postmaster its reaped children's cutime, cstime
                total += int(fields[11]) + int(fields[12])
                if pid == master:
                    total += int(fields[13]) + int(fields[14])
        return total / ticks


_BACKGROUND = (b"checkpointer", b"background writer", b"walwriter", b"autovacuum", b"logical replication",
               b"stats collector", b"archiver")


def _background(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return any(name in command for name in _BACKGROUND)


@contextmanager
def local_postgres() -> Iterator[Server]:
    bindir = _bindir()
    root = Path(tempfile.mkdtemp(prefix="llmledger-bench-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                    "-E", "UTF8", "--locale=C", "--no-sync"], check=True, capture_output=True)
    options = (f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off "
               "-c synchronous_commit=off -c full_page_writes=off -c autovacuum=off")
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"),
                    "-o", options, "-w", "-t", "60", "start"], check=True, capture_output=True)
    try:
        subprocess.run([*as_postgres, str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                        "postgres", "ledger"], check=True, capture_output=True)
        yield Server(f"postgresql://postgres@127.0.0.1:{port}/ledger", data)
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
