"""Call records with chosen times, customers, tokens and exact costs, for the ledger tests."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from llmledger.ledger import is_postgres
from llmledger.usage import EPOCH, CallRecord, Cost, CustomerContext, Usage


def at(day: str, hour: int = 12) -> datetime:
    """``at("2026-10-03")``: a UTC time on that day."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=timezone.utc)


def make_record(when: datetime, *, customer: str | None = "acme", plan: str | None = "starter",
                feature: str | None = "chat", user: str | None = None, provider: str = "openai",
                model: str = "gpt-4o", input_tokens: int = 1_000, output_tokens: int = 100,
                cache_read: int = 0, cache_write: int = 0, cache_write_1h: int = 0,
                reasoning: int = 0, cost: str | None = "0.0035", status: str | None = None,
                error: str | None = None, usage: bool = True, trace_id: int = 0,
                span_id: int = 0) -> CallRecord:
    """A finished call as the lifecycle hands it over. ``cost`` is the exact USD (None = unpriced)."""
    delta = when - EPOCH
    start = (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000
    cost_status = status or ("priced" if cost is not None else "unpriced")
    return CallRecord(
        provider=provider, operation="chat", request_model=model, stream=False,
        start_time_ns=start, end_time_ns=start + 1_500_000_000, response_model=model,
        usage=Usage(input_tokens, output_tokens, cache_read_tokens=cache_read,
                    cache_write_tokens=cache_write, cache_write_1h_tokens=cache_write_1h,
                    reasoning_tokens=reasoning) if usage else None,
        cost=Cost(cost_status, Decimal(cost), source="test prices") if cost is not None
        else Cost(cost_status),
        customer=CustomerContext(customer, plan, feature, user) if customer else None,
        error_type=error, trace_id=trace_id, span_id=span_id)


def fetch_one(url: str, sql: str) -> tuple[object, ...]:
    """One row of a query, straight from the database (SQLite path or PostgreSQL URL)."""
    if is_postgres(url):
        import psycopg

        with psycopg.connect(url) as db:
            found = db.execute(sql).fetchone()
    else:
        import sqlite3

        db = sqlite3.connect(url)
        found = db.execute(sql).fetchone()
        db.close()
    assert found is not None
    return tuple(found)


def execute(url: str, *statements: str) -> None:
    """Run statements directly, outside llmledger (to lay out old schemas and the like)."""
    if is_postgres(url):
        import psycopg

        with psycopg.connect(url, autocommit=True) as db:
            for statement in statements:
                db.execute(statement)
    else:
        import sqlite3

        db = sqlite3.connect(url, isolation_level=None)
        for statement in statements:
            db.execute(statement)
        db.close()
