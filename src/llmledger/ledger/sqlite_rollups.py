"""SQLite daily rollups: per-day sums kept next to the calls, so reports do not scan every call.

SQLite aggregates by sorting, about a microsecond per row and column set; a million calls would
take seconds. So each insert also adds its calls into three small tables, in the same
transaction (they can never disagree with the calls they sum):

    llm_calls_by_customer (day, customer_id, plan)     -> reports by customer, plan, day
    llm_calls_by_model    (day, provider, model)       -> reports by model
    llm_calls_by_feature  (day, feature)               -> reports by feature

A report whose bounds are whole UTC days reads a rollup instead of the calls (a month of 2,000
customers is 60,000 rollup rows, whatever the number of calls); sub-day bounds, and model or
feature reports of one customer, read the calls. Before trusting a rollup the store checks that
it counts as many calls as the calls table holds for the same filter (an index-only count), so
rows deleted or added by hand send the report back to the calls.

Costs stay exact: whole dollars and picodollars in two integer columns (no 64-bit overflow
however large the sums), plus the number of calls whose cost is not a whole number of
picodollars (those are added from the calls' exact text).
Missing keys (no customer, no feature) are stored as '' because SQLite's UNIQUE treats NULLs
as distinct; they read back as NULL.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from llmledger.ledger.queries import Grouping
from llmledger.ledger.schema import LedgerRow

PICO_PER_USD = 10**12
SUMS = ("calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
        "reasoning_tokens", "unpriced_calls", "no_usage_calls", "error_calls", "inexact_calls",
        "cost_usd_whole", "cost_pusd_frac")


@dataclass(frozen=True, slots=True)
class Rollup:
    table: str
    keys: tuple[str, ...]
    """Key columns after ``day``."""

    def create(self) -> str:
        keys = ", ".join(f"{key} TEXT NOT NULL" for key in self.keys)
        sums = ", ".join(f"{name} INTEGER NOT NULL" for name in SUMS)
        return (f"CREATE TABLE {self.table} (day TEXT NOT NULL, {keys}, {sums}, first_at TEXT NOT NULL, "
                f"last_at TEXT NOT NULL, PRIMARY KEY (day, {', '.join(self.keys)})) WITHOUT ROWID")

    def upsert(self) -> str:
        columns = ("day", *self.keys, *SUMS, "first_at", "last_at")
        updates = [f"{name} = {name} + excluded.{name}" for name in SUMS[:-2]]
        updates += [
            # Carry whole dollars out of the picodollar column (old values on the right-hand side).
            f"cost_usd_whole = cost_usd_whole + excluded.cost_usd_whole + "
            f"(cost_pusd_frac + excluded.cost_pusd_frac) / {PICO_PER_USD}",
            f"cost_pusd_frac = (cost_pusd_frac + excluded.cost_pusd_frac) % {PICO_PER_USD}",
            "first_at = min(first_at, excluded.first_at)", "last_at = max(last_at, excluded.last_at)",
        ]
        return (f"INSERT INTO {self.table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT (day, {', '.join(self.keys)}) DO UPDATE SET {', '.join(updates)}")

    def backfill(self) -> tuple[str, str]:
        """Fill from the calls table (a migration), then carry whole dollars out of the fraction."""
        raw_keys = {"model": "COALESCE(request_model, response_model, '')"}
        keys = [raw_keys.get(key, f"COALESCE({key}, '')") for key in self.keys]
        sums = ["COUNT(*)", *(f"COALESCE(SUM({c}), 0)" for c in SUMS[1:6]),
                "SUM(cost_status = 'unpriced')", "SUM(cost_status = 'no_usage' AND error_type IS NULL)",
                "SUM(error_type IS NOT NULL)", "SUM(cost_usd IS NOT NULL AND cost_pusd IS NULL)",
                f"COALESCE(SUM(cost_pusd / {PICO_PER_USD}), 0)", f"COALESCE(SUM(cost_pusd % {PICO_PER_USD}), 0)"]
        fill = (f"INSERT INTO {self.table} SELECT substr(started_at, 1, 10), {', '.join(keys)}, "
                f"{', '.join(sums)}, MIN(started_at), MAX(started_at) FROM llm_calls "
                f"GROUP BY {', '.join(str(i) for i in range(1, len(keys) + 2))}")
        carry = (f"UPDATE {self.table} SET cost_usd_whole = cost_usd_whole + cost_pusd_frac / {PICO_PER_USD}, "
                 f"cost_pusd_frac = cost_pusd_frac % {PICO_PER_USD}")
        return fill, carry


BY_CUSTOMER = Rollup("llm_calls_by_customer", ("customer_id", "plan"))
BY_MODEL = Rollup("llm_calls_by_model", ("provider", "model"))
BY_FEATURE = Rollup("llm_calls_by_feature", ("feature",))
ROLLUPS = (BY_CUSTOMER, BY_MODEL, BY_FEATURE)


def rollup_for(grouping: Grouping, customer: str | None) -> Rollup | None:
    """The rollup that answers a grouping (and customer filter), if one does."""
    if grouping in ("customer", "day"):
        return BY_CUSTOMER
    if customer is not None:
        return None  # one customer's calls are few: the customer index finds them
    return BY_MODEL if grouping == "model" else BY_FEATURE


def group_columns(grouping: Grouping, rollup: Rollup) -> tuple[str, ...]:
    """Key expressions of a grouping over a rollup ('' read back as NULL)."""
    if grouping == "day":
        return ("day",)
    return tuple(f"NULLIF({key}, '')" for key in rollup.keys)


def _key_value(row: LedgerRow, key: str) -> str:
    if key == "model":
        return row.request_model or row.response_model or ""
    value = getattr(row, key)
    return str(value) if value is not None else ""


class _Sums:
    """One rollup row's increments from a batch."""

    __slots__ = ("counts", "first", "frac", "last", "whole")

    def __init__(self, started: str) -> None:
        self.counts = [0] * 10
        self.whole = self.frac = 0
        self.first = self.last = started

    def add(self, counts: tuple[int, ...], pico: int | None, started: str) -> None:
        for index, amount in enumerate(counts):
            self.counts[index] += amount
        if pico is not None:
            whole, frac = divmod(pico, PICO_PER_USD)
            carry, self.frac = divmod(self.frac + frac, PICO_PER_USD)
            self.whole += whole + carry
        self.first, self.last = min(self.first, started), max(self.last, started)

    def values(self) -> tuple[object, ...]:
        return (*self.counts, self.whole, self.frac, self.first, self.last)


def add_rows(db: sqlite3.Connection, rows: Sequence[LedgerRow], started: Sequence[str],
             picos: Sequence[int | None]) -> None:
    """Add inserted calls to every rollup, inside the caller's transaction. ``started`` and
    ``picos`` are the rows' stored time text and picodollar cost."""
    totals: dict[tuple[Rollup, tuple[str, ...]], _Sums] = {}
    for row, time_text, pico in zip(rows, started, picos, strict=True):
        counts = (
            1, row.input_tokens or 0, row.output_tokens or 0, row.cache_read_tokens or 0,
            row.cache_write_tokens or 0, row.reasoning_tokens or 0,
            int(row.cost_status == "unpriced"), int(row.cost_status == "no_usage" and row.error_type is None),
            int(row.error_type is not None), int(row.cost_usd is not None and pico is None),
        )
        for rollup in ROLLUPS:
            key = (time_text[:10], *(_key_value(row, name) for name in rollup.keys))
            sums = totals.get((rollup, key))
            if sums is None:
                sums = totals[(rollup, key)] = _Sums(time_text)
            sums.add(counts, pico, time_text)
    for rollup in ROLLUPS:
        batch = [(*key, *sums.values()) for (owner, key), sums in totals.items() if owner is rollup]
        if batch:
            db.executemany(rollup.upsert(), batch)
