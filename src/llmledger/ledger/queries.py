"""The ledger's aggregate queries, written once for both backends.

Every report is one ``GROUP BY`` over the calls table, filtered by time and customer; the
backends differ only in placeholders, the day expression and how an exact cost sum is written
(``Dialect``). Results come back as :class:`GroupTotals` with an exact ``Decimal`` cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from llmledger.ledger.schema import TABLE

Grouping = Literal["customer", "model", "feature", "day"]
GROUPINGS: tuple[Grouping, ...] = ("customer", "model", "feature", "day")


@dataclass(frozen=True, slots=True)
class Filters:
    since: datetime | None = None
    """Inclusive, timezone-aware."""
    until: datetime | None = None
    """Exclusive, timezone-aware."""
    customer: str | None = None


@dataclass(slots=True)
class GroupTotals:
    """The sums over one group of calls. ``key`` depends on the grouping:
    customer -> (customer_id, plan); model -> (provider, model); feature -> (feature,);
    day -> ('YYYY-MM-DD',). Missing values are None."""

    key: tuple[str | None, ...]
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = field(default_factory=Decimal)
    """Exact sum of the priced calls' costs."""
    unpriced_calls: int = 0
    no_usage_calls: int = 0
    """Successful calls whose response reported no usage (a failed call counts as an error)."""
    error_calls: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def add(self, other: GroupTotals) -> None:
        self.calls += other.calls
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens
        self.reasoning_tokens += other.reasoning_tokens
        self.cost += other.cost
        self.unpriced_calls += other.unpriced_calls
        self.no_usage_calls += other.no_usage_calls
        self.error_calls += other.error_calls
        if other.first_at is not None and (self.first_at is None or other.first_at < self.first_at):
            self.first_at = other.first_at
        if other.last_at is not None and (self.last_at is None or other.last_at > self.last_at):
            self.last_at = other.last_at


@dataclass(frozen=True, slots=True)
class Dialect:
    placeholder: str
    day_expr: str
    cost_sum: str
    """An expression summing costs exactly (or, in SQLite, the fast integer part of it)."""
    extra_select: tuple[str, ...] = ()
    """Backend-specific aggregates appended after the common ones."""


def key_columns(grouping: Grouping, dialect: Dialect) -> tuple[str, ...]:
    if grouping == "customer":
        return ("customer_id", "plan")
    if grouping == "model":
        return ("provider", "COALESCE(request_model, response_model)")
    if grouping == "feature":
        return ("feature",)
    return (dialect.day_expr,)


ToParam = Callable[[datetime], object]
ToDatetime = Callable[[object], datetime | None]


def where_clause(
    filters: Filters, dialect: Dialect, convert: ToParam, extra: tuple[str, ...] = ()
) -> tuple[str, list[object]]:
    """``WHERE ...`` (or empty) and its parameters; ``convert`` turns datetimes into parameters."""
    conditions: list[str] = list(extra)
    params: list[object] = []
    if filters.since is not None:
        conditions.append(f"started_at >= {dialect.placeholder}")
        params.append(convert(filters.since))
    if filters.until is not None:
        conditions.append(f"started_at < {dialect.placeholder}")
        params.append(convert(filters.until))
    if filters.customer is not None:
        conditions.append(f"customer_id = {dialect.placeholder}")
        params.append(filters.customer)
    return (" WHERE " + " AND ".join(conditions) if conditions else ""), params


# The common aggregates, in the order ``GroupTotals`` takes them after the key.
_AGGREGATES = (
    "COUNT(*)",
    "SUM(input_tokens)",
    "SUM(output_tokens)",
    "SUM(cache_read_tokens)",
    "SUM(cache_write_tokens)",
    "SUM(reasoning_tokens)",
    "SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN cost_status = 'no_usage' AND error_type IS NULL THEN 1 ELSE 0 END)",
    "SUM(CASE WHEN error_type IS NOT NULL THEN 1 ELSE 0 END)",
    "MIN(started_at)",
    "MAX(started_at)",
)


def aggregate_sql(
    grouping: Grouping, filters: Filters, dialect: Dialect, convert: ToParam
) -> tuple[str, list[object]]:
    keys = key_columns(grouping, dialect)
    where, params = where_clause(filters, dialect, convert)
    select = ", ".join((*keys, *_AGGREGATES, dialect.cost_sum, *dialect.extra_select))
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    return f"SELECT {select} FROM {TABLE}{where} GROUP BY {positions}", params


def cost_rows_sql(
    grouping: Grouping, filters: Filters, dialect: Dialect, convert: ToParam, condition: str
) -> tuple[str, list[object]]:
    """The group key and exact cost text of the calls matching ``condition`` (summed in Python)."""
    keys = key_columns(grouping, dialect)
    where, params = where_clause(filters, dialect, convert, (condition,))
    return f"SELECT {', '.join(keys)}, cost_usd FROM {TABLE}{where}", params


def totals_from_row(
    row: tuple[object, ...], key_count: int, cost: Decimal, convert: ToDatetime
) -> GroupTotals:
    """Build GroupTotals from one result row of ``aggregate_sql`` (cost already made exact)."""
    values = row[key_count:]

    def count(value: Any) -> int:
        return int(value) if value is not None else 0

    return GroupTotals(
        key=tuple(None if v is None else str(v) for v in row[:key_count]),
        calls=count(values[0]),
        input_tokens=count(values[1]),
        output_tokens=count(values[2]),
        cache_read_tokens=count(values[3]),
        cache_write_tokens=count(values[4]),
        reasoning_tokens=count(values[5]),
        unpriced_calls=count(values[6]),
        no_usage_calls=count(values[7]),
        error_calls=count(values[8]),
        first_at=convert(values[9]),
        last_at=convert(values[10]),
        cost=cost,
    )


AGGREGATE_COUNT = len(_AGGREGATES)
"""Number of common aggregates; the cost sum follows them, then ``Dialect.extra_select``."""
