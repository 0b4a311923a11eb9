"""Token sums of priced calls per (customer, feature, provider, model, tier, prompt-size band).

Per customer or per feature (``dimension``; the other key is NULL).

What re-pricing needs (``repricing``): prices are linear in the token counts within one tier band
of one model, so the sums of a group price exactly as the calls one by one would, provided every
call of the group falls in the same band. ``band_floor`` is the smallest input-token count of the
band a group's calls belong to (0, or a threshold + 1), from the thresholds the caller passes.
Only priced calls are read: re-pricing compares what was paid with what would have been.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from llmledger.ledger.queries import Dialect, Filters, ToParam, where_clause
from llmledger.ledger.schema import TABLE

GROUP_KEYS = ("provider", "COALESCE(request_model, response_model)", "service_tier")
Dimension = Literal["customer", "feature", "customer and feature"]
_NONE = "CAST(NULL AS TEXT)"
SUMS = ("COUNT(*)", "SUM(input_tokens)", "SUM(output_tokens)", "SUM(cache_read_tokens)",
        "SUM(cache_write_tokens)", "SUM(cache_write_1h_tokens)", "SUM(reasoning_tokens)",
        "MAX(input_tokens)")


@dataclass(frozen=True, slots=True)
class UsageGroup:
    customer_id: str | None
    feature: str | None
    provider: str
    model: str | None
    service_tier: str | None
    band_floor: int
    calls: int
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cache_write_1h_tokens: int
    reasoning_tokens: int
    max_input_tokens: int
    cost: Decimal
    """Exact sum of the recorded costs."""


def band_expr(thresholds: Sequence[int]) -> str:
    """``band_floor`` of a call: the largest ``threshold + 1`` its input tokens pass, else 0."""
    if not thresholds:
        return "0"
    cases = " ".join(f"WHEN input_tokens > {int(t)} THEN {int(t) + 1}" for t in sorted(set(thresholds),
                                                                                       reverse=True))
    return f"CASE {cases} ELSE 0 END"


def usage_groups_sql(filters: Filters, dialect: Dialect, convert: ToParam, thresholds: Sequence[int],
                     models: Sequence[str] | None, cached_only: bool, cost_columns: Sequence[str],
                     per_call: str | None = None, dimension: Dimension = "customer",
                     table_hint: str = "") -> tuple[str, list[object]]:
    """The grouped sums; ``cost_columns`` are the dialect's cost aggregates, appended last.
    ``cached_only`` keeps calls that read the cache, ``models`` calls of those models; both keep
    the calls that do either.

    ``per_call`` (a condition) asks instead for each matching call's key and exact ``cost_usd``.
    ``table_hint`` follows the table name (SQLite: `` NOT INDEXED``, a scan in table order)."""
    conditions = ["cost_status = 'priced'"]
    model_in = ""
    if models is not None:
        model_in = f"COALESCE(request_model, response_model) IN ({', '.join([dialect.placeholder] * len(models))})"
    if cached_only and models is not None:
        conditions.append(f"(cache_read_tokens > 0 OR {model_in})")  # one scan for both uses
    elif cached_only:
        conditions.append("cache_read_tokens > 0")
    elif models is not None:
        conditions.append(model_in)
    where, params = where_clause(filters, dialect, convert, tuple(conditions))
    if models is not None:
        params = list(models) + params
    if per_call is not None:
        conditions.append(per_call)
    # One dimension per query (the other column NULL): far fewer groups than both at once.
    first = {"customer": ("customer_id", _NONE), "feature": (_NONE, "feature")}.get(
        dimension, ("customer_id", "feature"))
    keys = (*first, *GROUP_KEYS, band_expr(thresholds))
    if per_call is not None:
        where, params = where_clause(filters, dialect, convert, tuple(conditions))
        params = list(models or ()) + params
        return f"SELECT {', '.join(keys)}, cost_usd FROM {TABLE}{table_hint}{where}", params
    select = ", ".join((*keys, *SUMS, *cost_columns))
    positions = ", ".join(str(i + 1) for i in range(len(keys)))
    return f"SELECT {select} FROM {TABLE}{table_hint}{where} GROUP BY {positions}", params


def group_from_row(row: Sequence[Any], cost: Decimal) -> UsageGroup:
    """One result row (keys as text, counts as integers or NULL) as a UsageGroup."""
    customer, feature, provider, model, tier, band = row[:6]
    calls, inputs, outputs, cache_read, cache_write, cache_1h, reasoning, largest = [
        0 if value is None else int(value) for value in row[6:6 + len(SUMS)]]
    return UsageGroup(customer, feature, provider, model, tier, int(band), calls, inputs, outputs, cache_read,
                      cache_write, cache_1h, reasoning, largest, cost)
