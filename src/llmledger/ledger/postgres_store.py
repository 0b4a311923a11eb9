"""The PostgreSQL ledger, for many processes and machines writing one ledger (psycopg 3).

Costs are NUMERIC, so ``SUM`` is exact in the database; rows are written with ``COPY``, the
fastest path PostgreSQL has, and added to the rollups (``rollups``) in the same transaction.
Times are TIMESTAMPTZ; days are UTC days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from llmledger.errors import ConfigError
from llmledger.ledger import migrations, queries, rollup_reads, rollups
from llmledger.ledger.queries import Filters, Grouping, GroupTotals
from llmledger.ledger.schema import COLUMNS, TABLE, LedgerRow
from llmledger.ledger.store import LedgerStore, redact, scrub
from llmledger.ledger.usage_groups import Dimension, UsageGroup, group_from_row, usage_groups_sql

_DIALECT = queries.Dialect(placeholder="%s", day_expr="(started_at AT TIME ZONE 'UTC')::date",
                   cost_sum="SUM(cost_usd)")
_COPY = f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN"
# Any fixed number: serialises concurrent migrations of the same database.
_MIGRATION_LOCK = 0x6C6C6D6C


def require_psycopg() -> Any:
    try:
        import psycopg
    except ImportError:
        raise ConfigError("a postgresql:// ledger needs psycopg: pip install 'llmledger[postgres]'",
                          key="ledger") from None
    return psycopg


def _same(moment: datetime) -> object:
    return moment


def _utc(value: object) -> datetime | None:
    return value.astimezone(timezone.utc) if isinstance(value, datetime) else None


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")


def _from_utc_text(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


class PostgresStore(LedgerStore):
    _dialect = _DIALECT
    _to_db = staticmethod(_same)
    _from_db = staticmethod(_utc)
    _rollup_cost_sql = "SUM(cost_usd)"

    def __init__(self, url: str, *, connect_timeout: int = 5) -> None:
        psycopg = require_psycopg()
        self.description = redact(url)
        try:
            self._db = psycopg.connect(url, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.Error as exc:
            raise ConfigError(f"cannot connect to the PostgreSQL ledger: {scrub(exc, url)}".strip(),
                              source=self.description, key="ledger") from exc
        try:
            self._migrate()
        except BaseException:
            self._db.close()
            raise

    def _migrate(self) -> None:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {migrations.VERSION_TABLE} ("
                             "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                             "applied_at TIMESTAMPTZ NOT NULL)")
            for migration in migrations.pending(self.schema_version(), self.description):
                for statement in migration.postgres:
                    self._db.execute(statement)
                self._db.execute(f"INSERT INTO {migrations.VERSION_TABLE} (version, description, "
                                 "applied_at) VALUES (%s, %s, now())",
                                 (migration.version, migration.description))

    def _begin_snapshot(self) -> None:
        self._db.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def insert(self, rows: Sequence[LedgerRow]) -> None:
        with self._db.transaction(), self._db.cursor() as cursor:
            with cursor.copy(_COPY) as copy:
                for row in rows:
                    copy.write_row(row.values())
            rollups.add_rows(cursor, "postgres", rows, [_utc_text(row.started_at) for row in rows],
                             [None] * len(rows), _from_utc_text)

    def aggregate(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        found = rollup_reads.aggregate(self, grouping, filters)
        if found is not None:
            return found[0]
        return self._aggregate_calls(grouping, filters)

    def _aggregate_calls(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        keys = len(queries.key_columns(grouping, _DIALECT))
        sql, params = queries.aggregate_sql(grouping, filters, _DIALECT, _same)
        return [queries.totals_from_row(row, keys, Decimal(row[keys + queries.AGGREGATE_COUNT] or 0), _utc)
                for row in self._db.execute(sql, params).fetchall()]

    def _usage_groups_calls(self, filters: Filters, *, thresholds: Sequence[int] = (),
                            models: Sequence[str] | None = None, cached_only: bool = False,
                            dimension: Dimension = "customer") -> list[UsageGroup]:
        sql, params = usage_groups_sql(filters, _DIALECT, _same, thresholds, models, cached_only,
                                       ("SUM(cost_usd)",), dimension=dimension)
        return [group_from_row(row, Decimal(row[-1] or 0)) for row in self._db.execute(sql, params).fetchall()]
