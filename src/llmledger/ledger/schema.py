"""One ledger row per LLM call: its columns, and how a :class:`CallRecord` becomes a row.

The row is backend-neutral (``datetime``, ``Decimal``, ``bool``); each store converts it to what
its database wants. Costs are never floats: ``Decimal`` here, NUMERIC in PostgreSQL, exact decimal
text plus integer picodollars in SQLite (see ``sqlite_store``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from llmledger.usage import CallRecord

TABLE = "llm_calls"
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# The columns every backend stores, in insert order (the id column is the database's own).
COLUMNS: tuple[str, ...] = (
    "started_at",
    "duration_s",
    "time_to_first_chunk_s",
    "trace_id",
    "span_id",
    "service_name",
    "provider",
    "operation",
    "request_model",
    "response_model",
    "response_id",
    "stream",
    "service_tier",
    "customer_id",
    "plan",
    "feature",
    "user_id",
    "input_tokens",
    "output_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "reasoning_tokens",
    "cost_usd",
    "cost_input_usd",
    "cost_output_usd",
    "cost_status",
    "cost_source",
    "priced_model",
    "error_type",
)


def utc_from_ns(ns: int) -> datetime:
    """Exact to the microsecond (``fromtimestamp`` goes through a float and can be off by one)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


@dataclass(frozen=True, slots=True)
class LedgerRow:
    started_at: datetime
    duration_s: float
    time_to_first_chunk_s: float | None
    trace_id: str | None
    span_id: str | None
    service_name: str | None
    provider: str
    operation: str
    request_model: str | None
    response_model: str | None
    response_id: str | None
    stream: bool
    service_tier: str | None
    customer_id: str | None
    plan: str | None
    feature: str | None
    user_id: str | None
    input_tokens: int | None
    output_tokens: int | None
    cache_read_tokens: int | None
    cache_write_tokens: int | None
    cache_write_1h_tokens: int | None
    reasoning_tokens: int | None
    cost_usd: Decimal | None
    cost_input_usd: Decimal | None
    cost_output_usd: Decimal | None
    cost_status: str
    cost_source: str | None
    priced_model: str | None
    error_type: str | None

    def values(self) -> tuple[object, ...]:
        """The column values in ``COLUMNS`` order."""
        return tuple(getattr(self, name) for name in COLUMNS)


def row_from_record(record: CallRecord, service_name: str | None = None) -> LedgerRow:
    usage, cost, customer = record.usage, record.cost, record.customer
    first_chunk = record.first_chunk_time_ns
    return LedgerRow(
        started_at=utc_from_ns(record.start_time_ns),
        duration_s=record.duration_s,
        time_to_first_chunk_s=(first_chunk - record.start_time_ns) / 1e9 if first_chunk else None,
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
