"""The ledger's versioned schema: an ordered list of migrations, each for SQLite and PostgreSQL.

A ledger records the migrations applied to it in ``schema_version`` (one row per version). Opening
a ledger applies the missing ones in order, all in one transaction, under a lock
(``BEGIN IMMEDIATE`` in SQLite, an advisory lock in PostgreSQL) so that several processes opening
the same ledger at once migrate it once. A ledger written by a newer llmledger is refused rather
than half-understood.

Never edit a released migration: append a new one. The calls table's columns come from
``schema.LedgerRow`` (declared once): version 1 creates the columns marked ``since`` 1, and a
migration that adds columns runs ``schema.add_columns(dialect, its version)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from llmledger.errors import ConfigError
from llmledger.ledger.rollups import ROLLUPS, USAGE_ROLLUPS
from llmledger.ledger.schema import create_table

VERSION_TABLE = "schema_version"

@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]
    sqlite_data: Callable[[Any], None] | None = None
    """A data step run after ``sqlite``'s statements, inside the same transaction (gets the
    connection); used where SQL alone cannot do exact decimal arithmetic."""


def _backfill_picodollars(connection: Any) -> None:
    # Imported here: sqlite_store imports this module.
    from llmledger.ledger.sqlite_store import picodollars

    rows = connection.execute("SELECT id, cost_usd FROM llm_calls WHERE cost_usd IS NOT NULL").fetchall()
    connection.executemany(
        "UPDATE llm_calls SET cost_pusd = ? WHERE id = ?",
        [(picodollars(cost), row_id) for row_id, cost in rows],
    )


# The report's "calls blocked by a limit" (``limits.report``, error_type = limits.guard.BLOCKED) reads
# this small partial index instead of every call of the period.
BLOCKED_INDEX = ("CREATE INDEX llm_calls_limit_blocked ON llm_calls (started_at, customer_id) "
                 "WHERE error_type = 'LimitExceeded'")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "calls table, indexed by time",
        sqlite=(create_table("sqlite", 1), "CREATE INDEX llm_calls_started_at ON llm_calls (started_at)"),
        postgres=(create_table("postgres", 1), "CREATE INDEX llm_calls_started_at ON llm_calls (started_at)"),
    ),
    Migration(
        2,
        "SQLite: integer picodollar cost for exact, fast sums; index by customer",
        sqlite=(
            "ALTER TABLE llm_calls ADD COLUMN cost_pusd INTEGER",
            "CREATE INDEX llm_calls_customer ON llm_calls (customer_id, started_at)",
        ),
        postgres=("CREATE INDEX llm_calls_customer ON llm_calls (customer_id, started_at)",),
        sqlite_data=_backfill_picodollars,
    ),
    Migration(
        3, "SQLite: daily rollups by customer, model and feature, for fast reports",
        sqlite=tuple(statement for rollup in ROLLUPS for statement in (
            rollup.create("sqlite"), *rollup.backfill("sqlite"))),
        postgres=(),
    ),
    Migration(
        4, "monthly usage rollups for cache savings and what-if; PostgreSQL: the daily rollups too; "
           "an index of the calls a limit blocked",
        sqlite=(*(statement for rollup in USAGE_ROLLUPS for statement in (
            rollup.create("sqlite"), *rollup.backfill("sqlite"))), BLOCKED_INDEX),
        postgres=(*(statement for rollup in (*ROLLUPS, *USAGE_ROLLUPS) for statement in (
            rollup.create("postgres"), *rollup.backfill("postgres"))), BLOCKED_INDEX),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def pending(current: int, where: str) -> tuple[Migration, ...]:
    """The migrations a ledger at ``current`` still needs; refuses a ledger from the future."""
    if current > SCHEMA_VERSION:
        raise ConfigError(
            f"the ledger has schema version {current}, newer than this llmledger understands "
            f"({SCHEMA_VERSION}); upgrade llmledger",
            source=where,
        )
    return tuple(m for m in MIGRATIONS if m.version > current)
