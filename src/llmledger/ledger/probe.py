"""A read-only look at a ledger (``llmledger doctor``): reachable? which schema? how many calls?

Unlike opening a store, a probe never creates, migrates or writes anything.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmledger.ledger.migrations import SCHEMA_VERSION, VERSION_TABLE
from llmledger.ledger.schema import TABLE
from llmledger.ledger.store import is_postgres, redact, scrub, sqlite_path


@dataclass(frozen=True, slots=True)
class Probe:
    description: str
    ok: bool
    detail: str
    fix: str | None = None


def _state(version: int, calls: int | None) -> tuple[bool, str, str | None]:
    if version > SCHEMA_VERSION:
        return False, f"schema v{version} is newer than this llmledger (v{SCHEMA_VERSION})", \
            "upgrade llmledger to the version that wrote this ledger"
    calls_text = f"{calls:,} calls" if calls is not None else "no calls yet"
    if version < SCHEMA_VERSION:
        return True, f"schema v{version} (upgraded to v{SCHEMA_VERSION} when the app next opens it), " \
            f"{calls_text}", None
    return True, f"schema v{version}, {calls_text}", None


def probe(url_or_path: str, *, timeout: int = 3) -> Probe:
    if is_postgres(url_or_path):
        return _probe_postgres(url_or_path, timeout)
    return _probe_sqlite(sqlite_path(url_or_path))


def _probe_sqlite(path: Path) -> Probe:
    where = str(path)
    if not path.exists():
        parent = path.parent if str(path.parent) else Path(".")
        if parent.is_dir() and os.access(parent, os.W_OK):
            return Probe(where, True, "does not exist yet; created at the first recorded call")
        return Probe(where, False, f"cannot be created: {parent} is missing or not writable",
                     f"create {parent} or point ledger: at a writable path")
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=3)
        try:
            tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if VERSION_TABLE not in tables:
                return Probe(where, False, "exists but is not an llmledger ledger",
                             "point ledger: at another file")
            version = int(db.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()[0] or 0)
            calls = (int(db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])
                     if TABLE in tables else None)
        finally:
            db.close()
    except sqlite3.Error as exc:
        if "not a database" in str(exc):
            return Probe(where, False, "is not an SQLite file, so not an llmledger ledger",
                         "point ledger: at another file")
        return Probe(where, False, f"cannot be read: {exc}", "check the file's permissions")
    ok, detail, fix = _state(version, calls)
    return Probe(where, ok, detail, fix)


def _probe_postgres(url: str, timeout: int) -> Probe:
    where = redact(url)
    try:
        import psycopg
    except ImportError:
        return Probe(where, False, "psycopg is not installed", "pip install 'llmledger[postgres]'")
    try:
        with psycopg.connect(url, connect_timeout=timeout, autocommit=True) as db:
            def scalar(sql: str, *params: object) -> Any:
                row = db.execute(sql, params).fetchone()
                return row[0] if row else None

            if scalar("SELECT to_regclass(%s)", VERSION_TABLE) is None:
                return Probe(where, True, "reachable; tables are created at the first recorded call")
            version = int(scalar(f"SELECT MAX(version) FROM {VERSION_TABLE}") or 0)
            has_calls = scalar("SELECT to_regclass(%s)", TABLE) is not None
            calls = int(scalar(f"SELECT COUNT(*) FROM {TABLE}")) if has_calls else None
    except psycopg.Error as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return Probe(where, False, f"cannot connect: {scrub(message, url)}",
                     "start PostgreSQL or correct the URL (user, password, host, port, database)")
    ok, detail, fix = _state(version, calls)
    return Probe(where, ok, detail, fix)
