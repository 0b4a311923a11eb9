"""One ledger row per LLM call: its columns, and how a :class:`CallRecord` becomes a row.

The row is backend-neutral (``datetime``, ``Decimal``, ``bool``); each store converts it to what
its database wants. Costs are never floats: ``Decimal`` here, NUMERIC in PostgreSQL, exact decimal
text plus integer picodollars in SQLite (see ``sqlite_store``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from types import UnionType
from typing import Any, Literal, get_args, get_type_hints

from llmledger.usage import CallRecord, utc_from_ns

TABLE = "llm_calls"


def _since(version: int, comment: str = "") -> dict[str, Any]:
    """A column added by migration ``version``; ``comment`` goes into the SQLite DDL."""
    return {"since": version, "comment": comment}


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """The ledger's columns, declared once: ``COLUMNS``, both dialects' DDL (``ddl``) and the
    migrations that add columns are derived from these fields (type, ``| None`` = NULL allowed,
    and the schema version that added each). Never change a released field: add one with a new
    ``since`` and a migration calling ``add_columns``."""

    started_at: datetime = field(metadata=_since(1, "UTC, 'YYYY-MM-DD HH:MM:SS.ffffff' (sorts as time)"))
    duration_s: float = field(metadata=_since(1))
    time_to_first_chunk_s: float | None = field(metadata=_since(1))
    trace_id: str | None = field(metadata=_since(1))
    span_id: str | None = field(metadata=_since(1))
    service_name: str | None = field(metadata=_since(1))
    provider: str = field(metadata=_since(1))
    operation: str = field(metadata=_since(1))
    request_model: str | None = field(metadata=_since(1))
    response_model: str | None = field(metadata=_since(1))
    response_id: str | None = field(metadata=_since(1))
    stream: bool = field(metadata=_since(1))
    service_tier: str | None = field(metadata=_since(1))
    customer_id: str | None = field(metadata=_since(1))
    plan: str | None = field(metadata=_since(1))
    feature: str | None = field(metadata=_since(1))
    user_id: str | None = field(metadata=_since(1))
    input_tokens: int | None = field(metadata=_since(1))
    output_tokens: int | None = field(metadata=_since(1))
    cache_read_tokens: int | None = field(metadata=_since(1))
    cache_write_tokens: int | None = field(metadata=_since(1))
    cache_write_1h_tokens: int | None = field(metadata=_since(1))
    reasoning_tokens: int | None = field(metadata=_since(1))
    cost_usd: Decimal | None = field(metadata=_since(1, "exact decimal; NULL unless cost_status = 'priced'"))
    cost_input_usd: Decimal | None = field(metadata=_since(1))
    cost_output_usd: Decimal | None = field(metadata=_since(1))
    cost_status: str = field(metadata=_since(1))
    cost_source: str | None = field(metadata=_since(1))
    priced_model: str | None = field(metadata=_since(1))
    error_type: str | None = field(metadata=_since(1))

    def values(self) -> tuple[object, ...]:
        """The column values in ``COLUMNS`` order."""
        return tuple(getattr(self, name) for name in COLUMNS)


Dialect = Literal["sqlite", "postgres"]
# Python type -> (SQLite type, PostgreSQL type). Costs: exact text in SQLite, NUMERIC in PostgreSQL.
_SQL_TYPES: dict[type, tuple[str, str]] = {
    datetime: ("TEXT", "TIMESTAMPTZ"), float: ("REAL", "DOUBLE PRECISION"), str: ("TEXT", "TEXT"),
    bool: ("INTEGER", "BOOLEAN"), int: ("INTEGER", "BIGINT"), Decimal: ("TEXT", "NUMERIC"),
}
_ID_COLUMN = {"sqlite": "id INTEGER PRIMARY KEY", "postgres": "id BIGSERIAL PRIMARY KEY"}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    name: str
    python_type: type
    nullable: bool
    since: int
    comment: str

    def sql(self, dialect: Dialect) -> str:
        sqlite_type, postgres_type = _SQL_TYPES[self.python_type]
        text = f"{self.name} {sqlite_type if dialect == 'sqlite' else postgres_type}"
        return text if self.nullable else text + " NOT NULL"


def _column_specs() -> tuple[ColumnSpec, ...]:
    hints = get_type_hints(LedgerRow)
    specs = []
    for spec in fields(LedgerRow):
        hint = hints[spec.name]
        arguments = [arg for arg in get_args(hint) if arg is not type(None)]
        nullable = isinstance(hint, UnionType) and len(arguments) < len(get_args(hint))
        python_type = arguments[0] if nullable else hint
        specs.append(ColumnSpec(spec.name, python_type, nullable, spec.metadata["since"],
                                spec.metadata["comment"]))
    return tuple(specs)


SPECS: tuple[ColumnSpec, ...] = _column_specs()
COLUMNS: tuple[str, ...] = tuple(spec.name for spec in SPECS)
"""The columns every backend stores, in insert order (the id column is the database's own)."""


def create_table(dialect: Dialect, version: int) -> str:
    """``CREATE TABLE`` of the calls table as schema ``version`` created it (columns since <= it)."""
    specs = [spec for spec in SPECS if spec.since <= version]
    lines = [f"    {_ID_COLUMN[dialect]},"]
    for index, spec in enumerate(specs):
        comma = "," if index < len(specs) - 1 else ""
        comment = f"  -- {spec.comment}" if spec.comment and dialect == "sqlite" else ""
        lines.append(f"    {spec.sql(dialect)}{comma}{comment}")
    return f"CREATE TABLE {TABLE} (\n" + "\n".join(lines) + "\n)"


def add_columns(dialect: Dialect, version: int) -> tuple[str, ...]:
    """``ALTER TABLE ... ADD COLUMN`` for the columns schema ``version`` added (for its migration)."""
    return tuple(f"ALTER TABLE {TABLE} ADD COLUMN {spec.sql(dialect)}" for spec in SPECS if spec.since == version)


def row_from_record(record: CallRecord, service_name: str | None = None) -> LedgerRow:
    usage, cost, customer = record.usage, record.cost, record.customer
    return LedgerRow(
        started_at=utc_from_ns(record.start_time_ns),
        duration_s=record.duration_s,
        time_to_first_chunk_s=record.time_to_first_chunk_s,
        trace_id=f"{record.trace_id:032x}" if record.trace_id else None,
        span_id=f"{record.span_id:016x}" if record.span_id else None,
        service_name=service_name,
        provider=record.provider,
        operation=record.operation,
        request_model=record.request_model,
        response_model=record.response_model,
        response_id=record.response_id,
        stream=record.stream,
        service_tier=record.modifiers.service_tier,
        customer_id=customer.id if customer else None,
        plan=customer.plan if customer else None,
        feature=customer.feature if customer else None,
        user_id=customer.user if customer else None,
        input_tokens=usage.input_tokens if usage else None,
        output_tokens=usage.output_tokens if usage else None,
        cache_read_tokens=usage.cache_read_tokens if usage else None,
        cache_write_tokens=usage.cache_write_tokens if usage else None,
        cache_write_1h_tokens=usage.cache_write_1h_tokens if usage else None,
        reasoning_tokens=usage.reasoning_tokens if usage else None,
        # Only a priced call has a cost: an unpriced one stays NULL, never a fake 0.
        cost_usd=cost.total if cost.status == "priced" else None,
        cost_input_usd=cost.input if cost.status == "priced" else None,
        cost_output_usd=cost.output if cost.status == "priced" else None,
        cost_status=cost.status,
        cost_source=cost.source,
        priced_model=cost.matched_model,
        error_type=record.error_type,
    )
