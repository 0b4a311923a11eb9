"""What a ledger backend is (``LedgerStore``), and which one a path or URL opens.

A plain path (``llmledger.db``) or ``sqlite:///path`` opens SQLite, the zero-setup default for one
process (or a few on one machine). ``postgresql://...`` (or ``postgres://``) opens PostgreSQL, for
many processes and machines; it needs ``pip install 'llmledger[postgres]'``.
"""

from __future__ import annotations

import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any

from llmledger.errors import ConfigError, LLMLedgerError
from llmledger.ledger import rollup_reads
from llmledger.ledger.migrations import VERSION_TABLE
from llmledger.ledger.queries import Dialect, Filters, Grouping, GroupTotals, where_clause
from llmledger.ledger.schema import TABLE, LedgerRow
from llmledger.ledger.usage_groups import Dimension, UsageGroup


class LedgerNotFound(LLMLedgerError):
    """A report was asked of a SQLite ledger file that does not exist."""


class LedgerStore(ABC):
    """One connection to a ledger database. Not thread-safe: one thread uses a store at a time."""

    description: str
    """Where the ledger lives, safe to print (no password)."""
    _db: Any
    """The DB-API connection."""
    _dialect: Dialect
    _to_db: Callable[[datetime], object]
    """A moment as the database stores it."""
    _from_db: Callable[[object], datetime | None]
    """A stored moment back as an aware UTC datetime."""
    _rollup_cost_sql: str
    """The exact cost sums of a rollup query (``rollup_reads``), read back by ``_rollup_cost``."""

    def _rollup_cost(self, values: Sequence[Any]) -> tuple[Decimal, bool]:
        """The exact cost from ``_rollup_cost_sql``'s values, and whether some calls' costs must be
        added from the calls (SQLite: not whole picodollars)."""
        return Decimal(values[0] or 0), False

    def _rollup_rows(self, sql: str, params: Sequence[object]) -> list[Any] | None:
        """A rollup query's rows; None when its sums cannot be done in the database (overflow)."""
        return list(self._db.execute(sql, params).fetchall())

    @abstractmethod
    def insert(self, rows: Sequence[LedgerRow]) -> None:
        """Write the rows in one transaction (all or none)."""

    @abstractmethod
    def aggregate(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        """Exact sums per group of the calls matching ``filters``."""

    def usage_groups(self, filters: Filters, *, thresholds: Sequence[int] = (),
                     models: Sequence[str] | None = None, cached_only: bool = False,
                     dimension: Dimension = "customer") -> list[UsageGroup]:
        """Token sums and exact cost of the priced calls per ``usage_groups.UsageGroup`` key;
        ``models`` limits them to those models, ``cached_only`` to calls that read the cache. From the
        monthly rollups where they hold the answer (no price-tier ``thresholds``), else the calls."""
        if not thresholds:
            found = rollup_reads.usage(self, filters, models, cached_only, dimension)
            if found is not None:
                return found
        return self._usage_groups_calls(filters, thresholds=thresholds, models=models, cached_only=cached_only,
                                        dimension=dimension)

    def _usage_groups_calls(self, filters: Filters, *, thresholds: Sequence[int] = (),
                            models: Sequence[str] | None = None, cached_only: bool = False,
                            dimension: Dimension = "customer") -> list[UsageGroup]:
        """``usage_groups`` from the calls table."""
        raise NotImplementedError(f"{type(self).__name__} cannot re-price its calls")

    def time_range(self, filters: Filters) -> tuple[datetime, datetime] | None:
        """First and last call time matching ``filters`` (UTC), or None when there is none."""
        where, params = where_clause(filters, self._dialect, self._to_db)
        # Two subqueries: each of MIN and MAX alone is one step down the time index; together in
        # one SELECT, SQLite reads the whole index.
        first, last = self._db.execute(
            f"SELECT (SELECT MIN(started_at) FROM {TABLE}{where}), (SELECT MAX(started_at) FROM {TABLE}{where})",
            [*params, *params]).fetchone()
        start, end = self._from_db(first), self._from_db(last)
        return (start, end) if start is not None and end is not None else None

    def schema_version(self) -> int:
        """The newest migration applied to this ledger (0 for a new database)."""
        found = self._db.execute(f"SELECT MAX(version) FROM {VERSION_TABLE}").fetchone()
        return int(found[0] or 0)

    _call_counts: dict[tuple[object, ...], int] | None = None
    """Inside ``snapshot()``: calls counted so far, per time range (``rollup_reads``)."""

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read one consistent state of the ledger (a read transaction): a report's queries see
        the same calls even while other processes insert, and its rollup checks count once."""
        if self._call_counts is not None:
            yield  # already inside one
            return
        self._begin_snapshot()
        self._call_counts = {}
        try:
            yield
        finally:
            self._call_counts = None
            self._db.execute("COMMIT")

    def _begin_snapshot(self) -> None:
        self._db.execute("BEGIN")

    def count(self) -> int:
        """Number of calls in the ledger."""
        return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()


def is_postgres(url_or_path: str) -> bool:
    return url_or_path.startswith(("postgresql://", "postgres://"))


def sqlite_path(url_or_path: str) -> Path:
    """The file of a SQLite ledger given as a path or a ``sqlite:///`` URL."""
    if url_or_path.startswith("sqlite:///"):
        return Path(url_or_path[len("sqlite:///"):])
    if "://" in url_or_path:
        raise ConfigError(f"unsupported ledger URL {redact(url_or_path)!r}: use a file path, "
                          "sqlite:///path or postgresql://...", key="ledger")
    return Path(url_or_path)


def redact(url: str) -> str:
    """The ledger URL or libpq connection string, safe to print: every credential form libpq
    accepts is ``***`` (the userinfo password, ``password=``/``sslpassword=`` in a URL query or a
    ``key=value`` string) and so is the value of ``PGPASSWORD`` wherever it appears."""
    return scrub(url, url)


_KEYWORD_SECRET = re.compile(r"\b(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&#]+)", re.IGNORECASE)
"""``password=...`` in a libpq ``key=value`` string or a URL query (libpq reads both)."""


def _secrets(url: str) -> list[str]:
    """The credentials written in a ledger URL or libpq connection string, longest first."""
    found = [match.group(1) for match in _KEYWORD_SECRET.finditer(url)]
    if "://" in url:
        authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
        userinfo = authority.rpartition("@")[0]
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    if os.environ.get("PGPASSWORD"):
        found.append(os.environ["PGPASSWORD"])
    return sorted({secret for secret in found if secret}, key=len, reverse=True)


def scrub(text: object, url: str) -> str:
    """``text`` (a URL, or an error message about the ledger at ``url``: drivers sometimes echo the
    connection string) with every credential of ``url`` and of ``PGPASSWORD`` masked."""
    message = str(text)
    for secret in _secrets(url):
        message = message.replace(secret, "***")
    return _KEYWORD_SECRET.sub(lambda m: m.group(0)[:m.start(1) - m.start(0)] + "***", message)


def open_store(url_or_path: str, *, create: bool = True) -> LedgerStore:
    """Open (and migrate) a ledger. ``create=False`` raises LedgerNotFound for a missing SQLite file."""
    if is_postgres(url_or_path):
        from llmledger.ledger.postgres_store import PostgresStore

        return PostgresStore(url_or_path)
    from llmledger.ledger.sqlite_store import SQLiteStore

    path = sqlite_path(url_or_path)
    if not create and not path.is_file():
        raise LedgerNotFound(f"no ledger at {path}")
    return SQLiteStore(path)
