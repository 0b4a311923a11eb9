"""Reports from the rollups (``rollups``) when they answer exactly; None sends the store to the calls.

* ``aggregate``: a report whose bounds are whole UTC days reads a daily rollup (a month of 2,000
  customers is 60,000 rows, whatever the number of calls). Sub-day bounds, and model or feature
  reports of one customer, read the calls.
* ``usage``: the token sums that re-pricing needs read the monthly usage rollups when every month
  the period touches has all its calls inside the period (the default period, from the first to
  the last call, and ``--month`` always do). Otherwise, for one customer, for a what-if limited to
  a feature, and when tier thresholds must split the sums, they read the calls.

Before trusting a rollup the store checks that it counts as many calls as the calls table holds
for the same time range (an index-only count), so rows deleted or added by hand send the report
back to the calls, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time, timezone
from typing import TYPE_CHECKING

from llmledger.ledger.queries import AGGREGATE_COUNT, Filters, Grouping, GroupTotals, totals_from_row, where_clause
from llmledger.ledger.rollups import USAGE_BY_CUSTOMER, USAGE_BY_FEATURE, group_columns, rollup_for
from llmledger.ledger.schema import TABLE
from llmledger.ledger.usage_groups import Dimension, UsageGroup, group_from_row

if TYPE_CHECKING:
    from llmledger.ledger.store import LedgerStore

logger = logging.getLogger("llmledger.ledger")
_DAILY_SUMS = ", ".join(f"SUM({name})" for name in (
    "calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "reasoning_tokens", "unpriced_calls", "no_usage_calls", "error_calls"))
_USAGE_SUMS = ", ".join(f"SUM({name})" for name in (
    "calls", "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
    "cache_write_1h_tokens", "reasoning_tokens")) + ", MAX(max_input_tokens)"


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc)


def _whole_days(filters: Filters) -> bool:
    return all(bound is None or _utc(bound).time() == time(0) for bound in (filters.since, filters.until))


def _agrees(store: LedgerStore, counted: int, filters: Filters) -> bool:
    if filters.customer is None and not _any_calls(store, None, filters.since) and not _any_calls(
            store, filters.until, None):
        filters = Filters()  # the bounds hold every call: counting them all reads no key (4x faster)
    key = (filters.since, filters.until, filters.customer)
    calls = None if store._call_counts is None else store._call_counts.get(key)
    if calls is None:
        where, params = where_clause(filters, store._dialect, store._to_db)
        calls = int(store._db.execute(f"SELECT COUNT(*) FROM {TABLE}{where}", params).fetchone()[0])
        if store._call_counts is not None:  # one read transaction: the count cannot change
            store._call_counts[key] = calls
    if int(counted) == calls:
        return True
    logger.warning("llmledger: the ledger's rollups of %s disagree with its calls (edited by hand?); "
                   "reading the calls instead, which is slower", store.description)
    return False


def aggregate(store: LedgerStore, grouping: Grouping, filters: Filters) -> tuple[list[GroupTotals], bool] | None:
    """Exact sums per group from a daily rollup, and whether some calls' costs are not whole
    picodollars (SQLite: the caller adds those from their text); None when no rollup answers."""
    rollup = rollup_for(grouping, filters.customer) if _whole_days(filters) else None
    if rollup is None:
        return None
    mark = store._dialect.placeholder
    keys = group_columns(grouping, rollup)
    conditions: list[str] = []
    params: list[object] = []
    if filters.since is not None:
        conditions.append(f"day >= {mark}")
        params.append(_utc(filters.since).strftime("%Y-%m-%d"))
    if filters.until is not None:
        conditions.append(f"day < {mark}")
        params.append(_utc(filters.until).strftime("%Y-%m-%d"))
    if filters.customer is not None:
        conditions.append(f"customer_id = {mark}")
        params.append(filters.customer)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    sql = (f"SELECT {', '.join(keys)}, {_DAILY_SUMS}, MIN(first_at), MAX(last_at), {store._rollup_cost_sql} "
           f"FROM {rollup.table}{where} GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}")
    rows = store._rollup_rows(sql, params)
    if rows is None or not _agrees(store, sum(row[len(keys)] for row in rows), filters):
        return None
    totals, inexact = [], False
    base = len(keys) + AGGREGATE_COUNT
    for row in rows:
        cost, some_inexact = store._rollup_cost(row[base:])
        totals.append(totals_from_row(row, len(keys), cost, store._from_db))
        inexact = inexact or some_inexact
    return totals, inexact


def _month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=timezone.utc)


def _any_calls(store: LedgerStore, since: datetime | None, until: datetime | None) -> bool:
    """Whether some call started in [since, until); an unbounded side is empty."""
    if since is None and until is None:
        return False
    mark = store._dialect.placeholder
    conditions = [f"started_at {operator} {mark}" for bound, operator in ((since, ">="), (until, "<"))
                  if bound is not None]
    params = [store._to_db(bound) for bound in (since, until) if bound is not None]
    # MIN, not "SELECT 1 ... LIMIT 1": PostgreSQL's generic plan for a prepared statement (psycopg
    # prepares a query run 5 times) would scan the whole table for the latter when nothing matches.
    found = store._db.execute(f"SELECT MIN(started_at) FROM {TABLE} WHERE {' AND '.join(conditions)}",
                              params).fetchone()
    return found[0] is not None


def _whole_months(store: LedgerStore, filters: Filters) -> Filters | None:
    """The months the period touches, as time bounds, when every call in them is in the period."""
    since = until = None
    if filters.since is not None:
        since = _month_start(_utc(filters.since))
        if since < filters.since and _any_calls(store, since, filters.since):
            return None
    if filters.until is not None:
        start = _month_start(_utc(filters.until))
        until = start if start == filters.until else _next_month(start)
        if filters.until < until and _any_calls(store, filters.until, until):
            return None
    return Filters(since, until)


def usage(store: LedgerStore, filters: Filters, models: Sequence[str] | None, cached_only: bool,
          dimension: Dimension) -> list[UsageGroup] | None:
    """``LedgerStore.usage_groups`` (without tier thresholds) from the monthly usage rollups, or
    None when they cannot answer exactly."""
    if filters.customer is not None or dimension == "customer and feature":
        return None
    months = _whole_months(store, filters)
    if months is None:
        return None
    mark = store._dialect.placeholder
    conditions: list[str] = []
    params: list[object] = []
    for bound, operator in ((months.since, ">="), (months.until, "<")):
        if bound is not None:
            conditions.append(f"month {operator} {mark}")
            params.append(bound.strftime("%Y-%m"))
    rollup = USAGE_BY_CUSTOMER if dimension == "customer" else USAGE_BY_FEATURE
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    counted = store._db.execute(f"SELECT COALESCE(SUM(calls), 0) FROM {rollup.table}{where}", params).fetchone()[0]
    if not _agrees(store, counted, months):
        return None
    conditions.append("cost_status = 'priced'")
    model_in = f"model IN ({', '.join([mark] * len(models or ()))})"
    if cached_only and models is not None:
        conditions.append(f"(cached = '1' OR {model_in})")
    elif cached_only:
        conditions.append("cached = '1'")
    elif models is not None:
        conditions.append(model_in)
    params += list(models or ())
    first = ("NULLIF(customer_id, '')", "CAST(NULL AS TEXT)") if dimension == "customer" else (
        "CAST(NULL AS TEXT)", "NULLIF(feature, '')")
    keys = (*first, "provider", "NULLIF(model, '')", "NULLIF(service_tier, '')", "0")
    sql = (f"SELECT {', '.join(keys)}, {_USAGE_SUMS}, {store._rollup_cost_sql} FROM {rollup.table} "
           f"WHERE {' AND '.join(conditions)} GROUP BY 1, 2, 3, 4, 5, 6")
    rows = store._rollup_rows(sql, params)
    if rows is None:
        return None
    groups = []
    base = len(keys) + 8
    for row in rows:
        cost, inexact = store._rollup_cost(row[base:])
        if inexact:
            return None  # a cost that is not whole picodollars: summed exactly from the calls
        groups.append(group_from_row(row[:base], cost))
    return groups

