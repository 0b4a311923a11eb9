"""The SQLite ledger: one file, WAL mode, no server.

Exact and fast cost sums: each priced call's cost is stored twice, as exact decimal text
(``cost_usd``, the truth) and as an integer number of picodollars (``cost_pusd``, 1e-12 USD).
Every price expressed with up to six decimals per million tokens gives a cost that is a whole
number of picodollars, so SQLite's integer ``SUM`` is exact and runs at full speed. The rare cost
that is not (a price with more decimals) gets ``cost_pusd = NULL`` and its text is added in
Python with ``Decimal``; if an integer sum would overflow (over $9.2 million in one group), the
whole sum is redone in Python. Either way the total is exact.

Times are stored as UTC text ``YYYY-MM-DD HH:MM:SS.ffffff``: fixed width, so text order is time
order, and readable in any SQLite shell.

Reports read rollups kept in the same transactions when they can (``rollups``, ``rollup_reads``).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmledger.errors import ConfigError
from llmledger.ledger import migrations, rollup_reads, rollups
from llmledger.ledger.queries import (
    AGGREGATE_COUNT,
    Dialect,
    Filters,
    Grouping,
    GroupTotals,
    aggregate_sql,
    cost_rows_sql,
    key_columns,
    totals_from_row,
    where_clause,
)
from llmledger.ledger.rollups import PICO_PER_USD
from llmledger.ledger.schema import COLUMNS, TABLE, LedgerRow
from llmledger.ledger.store import LedgerStore
from llmledger.ledger.usage_groups import Dimension, UsageGroup, group_from_row, usage_groups_sql

logger = logging.getLogger("llmledger.ledger")

_INSERT = (f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}, cost_pusd) "
           f"VALUES ({', '.join('?' * (len(COLUMNS) + 1))})")
_FAST = Dialect(
    placeholder="?", day_expr="substr(started_at, 1, 10)", cost_sum="SUM(cost_pusd)",
    extra_select=("SUM(CASE WHEN cost_usd IS NOT NULL AND cost_pusd IS NULL THEN 1 ELSE 0 END)",))
_PICO = Decimal(1) / PICO_PER_USD


def picodollars(cost: Decimal | str | None) -> int | None:
    """The cost as a whole number of picodollars, or None if it is not one (or absent)."""
    if cost is None:
        return None
    scaled = Decimal(cost).scaleb(12)
    whole = scaled.to_integral_value()
    return int(whole) if scaled == whole else None


def to_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def from_text(value: object) -> datetime | None:
    if value is None:
        return None
    return datetime.fromisoformat(str(value)).replace(tzinfo=timezone.utc)


def _decimal_text(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


_STREAM, _COSTS = COLUMNS.index("stream"), tuple(
    COLUMNS.index(name) for name in ("cost_usd", "cost_input_usd", "cost_output_usd"))


def _sql_values(row: LedgerRow, started: str, pico: int | None) -> tuple[object, ...]:
    values: list[object] = list(row.values())
    values[0] = started
    values[_STREAM] = int(row.stream)
    for index in _COSTS:
        cost = values[index]
        values[index] = _decimal_text(cost) if isinstance(cost, Decimal) else None
    values.append(pico)
    return tuple(values)


class SQLiteStore(LedgerStore):
    _dialect = _FAST
    _to_db = staticmethod(to_text)
    _from_db = staticmethod(from_text)
    _rollup_cost_sql = "SUM(cost_usd_whole), SUM(cost_pusd_frac), SUM(inexact_calls)"

    def _rollup_cost(self, values: Sequence[Any]) -> tuple[Decimal, bool]:
        return Decimal(values[0] or 0) + Decimal(values[1] or 0) * _PICO, bool(values[2])

    def _rollup_rows(self, sql: str, params: Sequence[object]) -> list[Any] | None:
        try:
            return list(self._db.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            return None  # sums past 64 bits: the calls, summed in Python

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.description = str(self.path)
        try:
            if self.path.parent != Path():
                self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are explicit (BEGIN/COMMIT) below.
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                       check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise ConfigError(f"cannot open the SQLite ledger: {exc}", source=str(self.path),
                              key="ledger") from exc

    def _migrate(self) -> None:
        db = self._db
        try:
            if self.schema_version() == migrations.SCHEMA_VERSION:
                return  # the usual case: no write lock needed
        except sqlite3.OperationalError:
            pass  # a new file: no version table yet
        db.execute("BEGIN IMMEDIATE")  # one process migrates; the others wait, then find it done
        try:
            db.execute(f"CREATE TABLE IF NOT EXISTS {migrations.VERSION_TABLE} ("
                       "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)")
            for migration in migrations.pending(self.schema_version(), str(self.path)):
                for statement in migration.sqlite:
                    db.execute(statement)
                if migration.sqlite_data is not None:
                    migration.sqlite_data(db)
                db.execute(f"INSERT INTO {migrations.VERSION_TABLE} VALUES (?, ?, ?)",
                           (migration.version, migration.description, to_text(datetime.now(timezone.utc))))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def insert(self, rows: Sequence[LedgerRow]) -> None:
        started = [to_text(row.started_at) for row in rows]
        picos = [picodollars(row.cost_usd) for row in rows]
        values = [_sql_values(*parts) for parts in zip(rows, started, picos, strict=True)]
        self._db.execute("BEGIN")
        try:
            self._db.executemany(_INSERT, values)
            rollups.add_rows(self._db, "sqlite", rows, started, picos)
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def aggregate(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        found = rollup_reads.aggregate(self, grouping, filters)
        if found is None:
            return self._aggregate_calls(grouping, filters)
        totals, inexact = found
        if inexact:
            extra = self._text_costs(grouping, filters, "cost_usd IS NOT NULL AND cost_pusd IS NULL")
            for group in totals:
                group.cost += extra.get(group.key, Decimal(0))
        return totals

    def _aggregate_calls(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        keys = len(key_columns(grouping, _FAST))
        sql, params = aggregate_sql(grouping, filters, _FAST, to_text)
        try:
            rows = self._db.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            return self._aggregate_in_python(grouping, filters, keys)
        totals = []
        needs_text: set[tuple[object, ...]] = set()
        for row in rows:
            pico, inexact = row[keys + AGGREGATE_COUNT], row[keys + AGGREGATE_COUNT + 1]
            totals.append(totals_from_row(row, keys, Decimal(pico or 0) * _PICO, from_text))
            if inexact:
                needs_text.add(tuple(row[:keys]))
        if needs_text:
            extra = self._text_costs(grouping, filters, "cost_usd IS NOT NULL AND cost_pusd IS NULL")
            for group in totals:
                group.cost += extra.get(group.key, Decimal(0))
        return totals

    def _text_costs(self, grouping: Grouping, filters: Filters,
                    condition: str) -> dict[tuple[str | None, ...], Decimal]:
        sql, params = cost_rows_sql(grouping, filters, _FAST, to_text, condition)
        sums: dict[tuple[str | None, ...], Decimal] = {}
        for *key, cost in self._db.execute(sql, params):
            group = tuple(None if part is None else str(part) for part in key)
            sums[group] = sums.get(group, Decimal(0)) + Decimal(cost)
        return sums

    def _aggregate_in_python(self, grouping: Grouping, filters: Filters, keys: int) -> list[GroupTotals]:
        """Every sum in Python, exactly: for ledgers whose integer sums pass SQLite's 64 bits."""
        key_sql = key_columns(grouping, _FAST)
        where, params = where_clause(filters, _FAST, to_text)
        sql = (f"SELECT {', '.join(key_sql)}, input_tokens, output_tokens, cache_read_tokens, "
               f"cache_write_tokens, reasoning_tokens, cost_status, error_type, started_at, cost_usd "
               f"FROM {TABLE}{where}")
        groups: dict[tuple[str | None, ...], list[Any]] = {}
        for *key_parts, i, o, cr, cw, r, status, error, started, cost in self._db.execute(sql, params):
            key = tuple(None if part is None else str(part) for part in key_parts)
            sums = groups.get(key)
            if sums is None:
                sums = groups[key] = [0, 0, 0, 0, 0, 0, 0, 0, 0, started, started, Decimal(0)]
            for index, amount in enumerate((1, i, o, cr, cw, r, status == "unpriced", status == "no_usage",
                                            error is not None)):
                sums[index] += int(amount or 0)
            sums[9], sums[10] = min(sums[9], started), max(sums[10], started)
            if cost is not None:
                sums[11] += Decimal(cost)
        return [totals_from_row((*key, *sums[:11]), keys, sums[11], from_text) for key, sums in groups.items()]

    def _usage_groups_calls(self, filters: Filters, *, thresholds: Sequence[int] = (),
                            models: Sequence[str] | None = None, cached_only: bool = False,
                            dimension: Dimension = "customer") -> list[UsageGroup]:
        # Integer picodollar sums; the rare cost that is not a whole number of picodollars (or a
        # sum that overflows) is added from the exact text instead.
        exact = "SUM(CASE WHEN cost_pusd IS NULL THEN 1 ELSE 0 END)"
        # Over all customers a scan in table order is far faster than the time index's random reads
        # (the planner picks the index for the time bounds); one customer's calls use its index.
        hint = " NOT INDEXED" if filters.customer is None else ""
        sql, params = usage_groups_sql(filters, _FAST, to_text, thresholds, models, cached_only,
                                       ("SUM(cost_pusd)", exact), dimension=dimension,
                                           table_hint=hint)
        overflowed = False
        try:
            rows = self._db.execute(sql, params).fetchall()
            text_costs = any(row[-1] for row in rows)
        except sqlite3.OperationalError as exc:
            if "overflow" not in str(exc):
                raise
            sql, params = usage_groups_sql(filters, _FAST, to_text, thresholds, models, cached_only,
                                           ("0", "COUNT(*)"), dimension=dimension,
                                           table_hint=hint)
            rows, text_costs, overflowed = self._db.execute(sql, params).fetchall(), True, True
        extra: dict[tuple[object, ...], Decimal] = {}
        if text_costs:
            condition = "1 = 1" if overflowed else "cost_pusd IS NULL"
            sql, params = usage_groups_sql(filters, _FAST, to_text, thresholds, models, cached_only,
                                           (), per_call=condition, dimension=dimension,
                                           table_hint=hint)
            for *key, cost in self._db.execute(sql, params):
                extra[tuple(key)] = extra.get(tuple(key), Decimal(0)) + Decimal(cost)
        return [group_from_row(row, Decimal(row[-2] or 0) * _PICO + extra.get(tuple(row[:6]), Decimal(0)))
                for row in rows]
