"""Rollups: sums kept next to the calls, so reports do not scan every call (SQLite and PostgreSQL).

Aggregating a million calls takes seconds (SQLite sorts at about a microsecond per row; PostgreSQL
scans the table in parallel, a core-second or more). So each insert also adds its calls into small
tables, in the same transaction (they can never disagree with the calls they sum):

Daily, for the cost report (``rollup_reads.aggregate``):

    llm_calls_by_customer (day, customer_id, plan)     -> reports by customer, plan, day
    llm_calls_by_model    (day, provider, model)       -> reports by model
    llm_calls_by_feature  (day, feature)               -> reports by feature

Monthly, for re-pricing (cache savings and what-if, ``rollup_reads.usage``), the token sums of
``usage_groups`` per model, service tier, whether the call read the cache, and cost status:

    llm_usage_by_customer (month, customer_id, provider, model, service_tier, cached, cost_status)
    llm_usage_by_feature  (month, feature, provider, model, service_tier, cached, cost_status)

Monthly, because a day of one customer's calls spread over models is nearly one row per call;
a month of 2,000 customers on 12 models is at most 48,000 rows, whatever the number of calls.

Costs stay exact: in SQLite whole dollars and picodollars in two integer columns (no 64-bit
overflow however large the sums) plus the number of calls whose cost is not a whole number of
picodollars (those are added from the calls' exact text); in PostgreSQL one NUMERIC sum.
Missing keys (no customer, no feature, no tier) are stored as '' because UNIQUE treats NULLs as
distinct; they read back as NULL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from llmledger.ledger.queries import Grouping
from llmledger.ledger.schema import Dialect, LedgerRow

PICO_PER_USD = 10**12
Period = Literal["day", "month"]
_PERIOD_LENGTH = {"day": 10, "month": 7}  # of the UTC time text 'YYYY-MM-DD HH:MM:SS.ffffff'
_SQL_PERIOD = {("sqlite", "day"): "substr(started_at, 1, 10)", ("sqlite", "month"): "substr(started_at, 1, 7)",
               ("postgres", "day"): "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
               ("postgres", "month"): "to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM')"}
_SQL_KEY = {"model": "COALESCE(request_model, response_model, '')",
            "cached": "CASE WHEN cache_read_tokens > 0 THEN '1' ELSE '0' END"}
_SQL_SUM = {"calls": "COUNT(*)",
            "unpriced_calls": "SUM(CASE WHEN cost_status = 'unpriced' THEN 1 ELSE 0 END)",
            "no_usage_calls": "SUM(CASE WHEN cost_status = 'no_usage' AND error_type IS NULL THEN 1 ELSE 0 END)",
            "error_calls": "SUM(CASE WHEN error_type IS NOT NULL THEN 1 ELSE 0 END)",
            "max_input_tokens": "COALESCE(MAX(input_tokens), 0)"}
_COST_COLUMNS = {"sqlite": ("inexact_calls", "cost_usd_whole", "cost_pusd_frac"), "postgres": ("cost_usd",)}
_INTEGER = {"sqlite": "INTEGER", "postgres": "BIGINT"}
_TIME = {"sqlite": "TEXT", "postgres": "TIMESTAMPTZ"}


@dataclass(frozen=True, slots=True)
class Rollup:
    table: str
    period: Period
    keys: tuple[str, ...]
    """Key columns after the period (``day`` or ``month``)."""
    sums: tuple[str, ...]
    maxima: tuple[str, ...] = ()
    times: bool = True
    """Whether it keeps the first and last call time (``first_at``, ``last_at``)."""

    def columns(self, dialect: Dialect) -> tuple[str, ...]:
        times = ("first_at", "last_at") if self.times else ()
        return (self.period, *self.keys, *self.sums, *self.maxima, *_COST_COLUMNS[dialect], *times)

    def create(self, dialect: Dialect) -> str:
        keys = ", ".join(f"{key} TEXT NOT NULL" for key in self.keys)
        integers = (*self.sums, *self.maxima, *_COST_COLUMNS["sqlite"][:1]) if dialect == "sqlite" else (
            *self.sums, *self.maxima)
        numbers = ", ".join(f"{name} {_INTEGER[dialect]} NOT NULL" for name in integers)
        if dialect == "sqlite":
            numbers += ", cost_usd_whole INTEGER NOT NULL, cost_pusd_frac INTEGER NOT NULL"
        else:
            numbers += ", cost_usd NUMERIC NOT NULL"
        times = f", first_at {_TIME[dialect]} NOT NULL, last_at {_TIME[dialect]} NOT NULL" if self.times else ""
        suffix = " WITHOUT ROWID" if dialect == "sqlite" else ""
        return (f"CREATE TABLE {self.table} ({self.period} TEXT NOT NULL, {keys}, {numbers}{times}, "
                f"PRIMARY KEY ({self.period}, {', '.join(self.keys)})){suffix}")

    def upsert(self, dialect: Dialect) -> str:
        columns = self.columns(dialect)
        placeholder = "?" if dialect == "sqlite" else "%s"
        old = "" if dialect == "sqlite" else f"{self.table}."
        least, greatest = ("min", "max") if dialect == "sqlite" else ("LEAST", "GREATEST")
        updates = [f"{n} = {old}{n} + excluded.{n}" for n in self.sums]
        updates += [f"{n} = {greatest}({old}{n}, excluded.{n})" for n in self.maxima]
        if dialect == "sqlite":
            updates += [
                "inexact_calls = inexact_calls + excluded.inexact_calls",
                # Carry whole dollars out of the picodollar column (old values on the right-hand side).
                f"cost_usd_whole = cost_usd_whole + excluded.cost_usd_whole + "
                f"(cost_pusd_frac + excluded.cost_pusd_frac) / {PICO_PER_USD}",
                f"cost_pusd_frac = (cost_pusd_frac + excluded.cost_pusd_frac) % {PICO_PER_USD}"]
        else:
            updates.append(f"cost_usd = {old}cost_usd + excluded.cost_usd")
        if self.times:
            updates += [f"first_at = {least}({old}first_at, excluded.first_at)",
                        f"last_at = {greatest}({old}last_at, excluded.last_at)"]
        return (f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))}) "
                f"ON CONFLICT ({self.period}, {', '.join(self.keys)}) DO UPDATE SET {', '.join(updates)}")

    def backfill(self, dialect: Dialect) -> tuple[str, ...]:
        """Fill from the calls table (a migration); SQLite then carries whole dollars out of the
        picodollar fraction."""
        keys = [_SQL_KEY.get(key, f"COALESCE({key}, '')") for key in self.keys]
        sums = [_SQL_SUM.get(name, f"COALESCE(SUM({name}), 0)") for name in (*self.sums, *self.maxima)]
        if dialect == "sqlite":
            sums += ["SUM(CASE WHEN cost_usd IS NOT NULL AND cost_pusd IS NULL THEN 1 ELSE 0 END)",
                     f"COALESCE(SUM(cost_pusd / {PICO_PER_USD}), 0)", f"COALESCE(SUM(cost_pusd % {PICO_PER_USD}), 0)"]
        else:
            sums.append("COALESCE(SUM(cost_usd), 0)")
        if self.times:
            sums += ["MIN(started_at)", "MAX(started_at)"]
        fill = (f"INSERT INTO {self.table} SELECT {_SQL_PERIOD[(dialect, self.period)]}, {', '.join(keys)}, "
                f"{', '.join(sums)} FROM llm_calls GROUP BY {', '.join(str(i) for i in range(1, len(keys) + 2))}")
        if dialect != "sqlite":
            return (fill,)
        carry = (f"UPDATE {self.table} SET cost_usd_whole = cost_usd_whole + cost_pusd_frac / {PICO_PER_USD}, "
                 f"cost_pusd_frac = cost_pusd_frac % {PICO_PER_USD}")
        return fill, carry


_DAILY_SUMS = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
               "reasoning_tokens", "unpriced_calls", "no_usage_calls", "error_calls")
BY_CUSTOMER = Rollup("llm_calls_by_customer", "day", ("customer_id", "plan"), _DAILY_SUMS)
BY_MODEL = Rollup("llm_calls_by_model", "day", ("provider", "model"), _DAILY_SUMS)
BY_FEATURE = Rollup("llm_calls_by_feature", "day", ("feature",), _DAILY_SUMS)
ROLLUPS = (BY_CUSTOMER, BY_MODEL, BY_FEATURE)

USAGE_KEYS = ("provider", "model", "service_tier", "cached", "cost_status")
USAGE_SUMS = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
              "cache_write_1h_tokens", "reasoning_tokens")
USAGE_BY_CUSTOMER = Rollup("llm_usage_by_customer", "month", ("customer_id", *USAGE_KEYS), USAGE_SUMS,
                           ("max_input_tokens",), times=False)
USAGE_BY_FEATURE = Rollup("llm_usage_by_feature", "month", ("feature", *USAGE_KEYS), USAGE_SUMS,
                          ("max_input_tokens",), times=False)
USAGE_ROLLUPS = (USAGE_BY_CUSTOMER, USAGE_BY_FEATURE)
ALL = (*ROLLUPS, *USAGE_ROLLUPS)


def rollup_for(grouping: Grouping, customer: str | None) -> Rollup | None:
    """The daily rollup that answers a grouping (and customer filter), if one does."""
    if grouping in ("customer", "day"):
        return BY_CUSTOMER
    if customer is not None:
        return None  # one customer's calls are few: the customer index finds them
    return BY_MODEL if grouping == "model" else BY_FEATURE


def group_columns(grouping: Grouping, rollup: Rollup) -> tuple[str, ...]:
    """Key expressions of a grouping over a daily rollup ('' read back as NULL)."""
    if grouping == "day":
        return ("day",)
    return tuple(f"NULLIF({key}, '')" for key in rollup.keys)


def _key_values(row: LedgerRow) -> dict[str, str]:
    """Every key column's value for a row ('' for missing)."""
    tier = row.service_tier
    return {"customer_id": row.customer_id or "", "plan": row.plan or "", "feature": row.feature or "",
            "provider": row.provider, "model": row.request_model or row.response_model or "",
            "service_tier": "" if tier is None else str(tier), "cost_status": row.cost_status,
            "cached": "1" if (row.cache_read_tokens or 0) > 0 else "0"}


def _numbers(row: LedgerRow) -> dict[str, int]:
    """Every summed (or maximised) column's amount for a row."""
    error = row.error_type is not None
    return {"calls": 1, "input_tokens": row.input_tokens or 0, "output_tokens": row.output_tokens or 0,
            "cache_read_tokens": row.cache_read_tokens or 0, "cache_write_tokens": row.cache_write_tokens or 0,
            "cache_write_1h_tokens": row.cache_write_1h_tokens or 0, "reasoning_tokens": row.reasoning_tokens or 0,
            "unpriced_calls": int(row.cost_status == "unpriced"),
            "no_usage_calls": int(row.cost_status == "no_usage" and not error), "error_calls": int(error),
            "max_input_tokens": row.input_tokens or 0}


class _Sums:
    """One rollup row's increments from a batch."""

    __slots__ = ("cost", "first", "frac", "inexact", "last", "maxima", "sums", "whole")

    def __init__(self, rollup: Rollup, started: str) -> None:
        self.sums = [0] * len(rollup.sums)
        self.maxima = [0] * len(rollup.maxima)
        self.whole = self.frac = self.inexact = 0
        self.cost = Decimal(0)
        self.first = self.last = started

    def add(self, sums: list[int], maxima: list[int], cost: tuple[Decimal, int, int, int] | None,
            started: str) -> None:
        """``cost``: the call's exact cost, whole dollars, picodollars and 1 if not whole picodollars."""
        self.sums = [total + amount for total, amount in zip(self.sums, sums, strict=True)]
        if maxima:
            self.maxima = [max(most, amount) for most, amount in zip(self.maxima, maxima, strict=True)]
        if cost is not None:
            self.cost += cost[0]
            self.inexact += cost[3]
            carry, self.frac = divmod(self.frac + cost[2], PICO_PER_USD)
            self.whole += cost[1] + carry
        if started < self.first:
            self.first = started
        elif started > self.last:
            self.last = started

    def values(self, dialect: Dialect, times: bool, time_param: Callable[[str], Any]) -> tuple[object, ...]:
        cost: tuple[object, ...] = ((self.inexact, self.whole, self.frac) if dialect == "sqlite"
                                    else (self.cost,))
        moments = (time_param(self.first), time_param(self.last)) if times else ()
        return (*self.sums, *self.maxima, *cost, *moments)


def add_rows(db: Any, dialect: Dialect, rows: Sequence[LedgerRow], started: Sequence[str],
             picos: Sequence[int | None], time_param: Callable[[str], Any] = str) -> None:
    """Add inserted calls to every rollup, inside the caller's transaction. ``started`` are the rows'
    UTC times as 'YYYY-MM-DD HH:MM:SS.ffffff', ``picos`` their costs in whole picodollars (SQLite;
    None when not whole), ``time_param`` turns a time text into the database's parameter. Rows are
    written in key order, so concurrent writers lock rollup rows in one order (no deadlock)."""
    totals: dict[Rollup, dict[tuple[str, ...], _Sums]] = {rollup: {} for rollup in ALL}
    for row, time_text, pico in zip(rows, started, picos, strict=True):
        keys, numbers = _key_values(row), _numbers(row)
        cost = None
        if row.cost_usd is not None:
            whole, frac = divmod(pico, PICO_PER_USD) if pico is not None else (0, 0)
            cost = (row.cost_usd, whole, frac, int(pico is None))
        picked: dict[tuple[str, ...], list[int]] = {}
        for rollup, found in totals.items():
            key = (time_text[:_PERIOD_LENGTH[rollup.period]], *[keys[name] for name in rollup.keys])
            sums = found.get(key)
            if sums is None:
                sums = found[key] = _Sums(rollup, time_text)
            amounts = picked.get(rollup.sums)
            if amounts is None:
                amounts = picked[rollup.sums] = [numbers[name] for name in rollup.sums]
            sums.add(amounts, [numbers[name] for name in rollup.maxima], cost, time_text)
    for rollup, found in totals.items():
        batch = [(*key, *found[key].values(dialect, rollup.times, time_param)) for key in sorted(found)]
        if batch:
            db.executemany(rollup.upsert(dialect), batch)
