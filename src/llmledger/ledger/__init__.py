"""The local ledger: one row per LLM call, in SQLite (a file) or PostgreSQL (a URL).

``llmledger.init(ledger="llmledger.db")`` (or ``ledger:`` in the config file, or
``LLMLEDGER_LEDGER``) opens a sink with :func:`open_ledger_sink`; ``llmledger report`` reads the
ledger back (:mod:`llmledger.ledger.report`).
"""

from __future__ import annotations

from llmledger.ledger.queries import Filters, Grouping, GroupTotals
from llmledger.ledger.sink import LedgerSink
from llmledger.ledger.store import (
    LedgerNotFound,
    LedgerStore,
    is_postgres,
    open_store,
    redact,
    sqlite_path,
)

__all__ = [
    "Filters",
    "GroupTotals",
    "Grouping",
    "LedgerNotFound",
    "LedgerSink",
    "LedgerStore",
    "is_postgres",
    "open_ledger_sink",
    "open_store",
    "redact",
    "sqlite_path",
]


def open_ledger_sink(url_or_path: str, *, service_name: str | None = None, max_queue: int = 10_000,
                     batch_size: int = 500, flush_interval: float = 1.0) -> LedgerSink:
    """A sink writing every call to the ledger at ``url_or_path`` (a path or ``postgresql://``).

    Errors that are the configuration's fault (a bad URL, psycopg missing, a SQLite file that
    cannot be created) raise ``ConfigError`` here, at ``init()``. A PostgreSQL server that is
    down is not one: the sink connects in the background and retries, and the app starts anyway.
    """
    if is_postgres(url_or_path):
        from llmledger.ledger.postgres_store import PostgresStore, require_psycopg

        require_psycopg()  # psycopg missing is a configuration error: say so now
        return LedgerSink(lambda: PostgresStore(url_or_path), description=redact(url_or_path),
                          url=url_or_path, service_name=service_name, max_queue=max_queue, batch_size=batch_size,
                          flush_interval=flush_interval)
    from llmledger.ledger.sqlite_store import SQLiteStore

    path = sqlite_path(url_or_path)
    return LedgerSink(lambda: SQLiteStore(path), store=SQLiteStore(path), description=str(path),
                      service_name=service_name, max_queue=max_queue, batch_size=batch_size,
                      flush_interval=flush_interval)
