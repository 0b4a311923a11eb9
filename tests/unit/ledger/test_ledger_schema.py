"""A CallRecord becomes one ledger row: every field, exact cost, nothing invented."""

from __future__ import annotations

import sqlite3
from dataclasses import fields
from decimal import Decimal
from pathlib import Path

import pytest

from llmledger.ledger.migrations import MIGRATIONS, SCHEMA_VERSION
from llmledger.ledger.schema import (
    COLUMNS,
    SPECS,
    Dialect,
    LedgerRow,
    add_columns,
    create_table,
    row_from_record,
    utc_from_ns,
)
from llmledger.ledger.sqlite_store import SQLiteStore
from llmledger.usage import CallRecord, Cost, CustomerContext, PriceModifiers, Usage

# 2026-10-01 09:00:00.123456789 UTC
START_NS = 1_790_845_200_123_456_789


def _record(**changes: object) -> CallRecord:
    record = CallRecord(
        provider="anthropic", operation="chat", request_model="claude-sonnet-4-5", stream=True,
        start_time_ns=START_NS, end_time_ns=START_NS + 2_500_000_000,
        first_chunk_time_ns=START_NS + 400_000_000, response_model="claude-sonnet-4-5-20250929",
        response_id="msg_1", modifiers=PriceModifiers(service_tier="priority"),
        usage=Usage(input_tokens=52_000, output_tokens=1_000, cache_read_tokens=1_500,
                    cache_write_tokens=500, cache_write_1h_tokens=500, reasoning_tokens=200),
        # 50,000*$3/M + 1,500*$0.30/M + 500*$6/M + 1,000*$15/M = 0.15 + 0.00045 + 0.003 + 0.015
        cost=Cost("priced", Decimal("0.16845"), Decimal("0.15345"), Decimal("0.015"), "genai-prices 0.2.3",
                  "claude-sonnet-4-5"),
        customer=CustomerContext("brightline", "starter", "summarize", "u-1"),
        trace_id=0x0AF7651916CD43DD8448EB211C80319C, span_id=0x00F067AA0BA902B7)
    for name, value in changes.items():
        setattr(record, name, value)
    return record


def test_every_column_of_a_priced_streamed_call() -> None:
    row = row_from_record(_record(), "billing-api")
    assert row.started_at.isoformat() == "2026-10-01T09:00:00.123456+00:00"
    assert row.duration_s == 2.5 and row.time_to_first_chunk_s == 0.4
    assert (row.trace_id, row.span_id) == ("0af7651916cd43dd8448eb211c80319c", "00f067aa0ba902b7")
    assert (row.service_name, row.provider, row.operation, row.stream) == (
        "billing-api", "anthropic", "chat", True)
    assert (row.request_model, row.response_model, row.response_id, row.service_tier) == (
        "claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "msg_1", "priority")
    assert (row.customer_id, row.plan, row.feature, row.user_id) == ("brightline", "starter", "summarize", "u-1")
    assert (row.input_tokens, row.output_tokens, row.cache_read_tokens, row.cache_write_tokens,
            row.cache_write_1h_tokens, row.reasoning_tokens) == (52_000, 1_000, 1_500, 500, 500, 200)
    assert isinstance(row.cost_usd, Decimal) and row.cost_usd == Decimal("0.16845")
    assert (row.cost_input_usd, row.cost_output_usd) == (Decimal("0.15345"), Decimal("0.015"))
    assert (row.cost_status, row.cost_source, row.priced_model) == ("priced", "genai-prices 0.2.3",
                                                                    "claude-sonnet-4-5")
    assert row.error_type is None
    assert len(row.values()) == len(COLUMNS)


def test_unpriced_and_failed_calls_have_no_cost_not_zero() -> None:
    unpriced = row_from_record(_record(cost=Cost("unpriced", source=None)))
    assert unpriced.cost_usd is None and unpriced.cost_status == "unpriced"
    failed = row_from_record(_record(usage=None, cost=Cost("no_usage"), error_type="RateLimitError",
                                     first_chunk_time_ns=None, customer=None, trace_id=0, span_id=0))
    assert (failed.input_tokens, failed.output_tokens, failed.cost_usd) == (None, None, None)
    assert (failed.error_type, failed.time_to_first_chunk_s, failed.customer_id, failed.trace_id) == (
        "RateLimitError", None, None, None)


def test_times_are_exact_to_the_microsecond() -> None:
    # A float timestamp would round 0.999999999 s up to the next second.
    assert utc_from_ns(1_790_845_200_999_999_999).isoformat() == "2026-10-01T09:00:00.999999+00:00"


# ---- the schema declared once (LedgerRow) gives back the released DDL --------------------------
# The calls table exactly as llmledger 0.1 (schema version 1) created it, copied from that release.
RELEASED_V1_SQLITE = """
CREATE TABLE llm_calls (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,            -- UTC, 'YYYY-MM-DD HH:MM:SS.ffffff' (sorts as time)
    duration_s REAL NOT NULL,
    time_to_first_chunk_s REAL,
    trace_id TEXT,
    span_id TEXT,
    service_name TEXT,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_model TEXT,
    response_model TEXT,
    response_id TEXT,
    stream INTEGER NOT NULL,
    service_tier TEXT,
    customer_id TEXT,
    plan TEXT,
    feature TEXT,
    user_id TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER,
    cache_read_tokens INTEGER,
    cache_write_tokens INTEGER,
    cache_write_1h_tokens INTEGER,
    reasoning_tokens INTEGER,
    cost_usd TEXT,                       -- exact decimal; NULL unless cost_status = 'priced'
    cost_input_usd TEXT,
    cost_output_usd TEXT,
    cost_status TEXT NOT NULL,
    cost_source TEXT,
    priced_model TEXT,
    error_type TEXT
)"""
RELEASED_V1_POSTGRES = """
CREATE TABLE llm_calls (
    id BIGSERIAL PRIMARY KEY,
    started_at TIMESTAMPTZ NOT NULL,
    duration_s DOUBLE PRECISION NOT NULL,
    time_to_first_chunk_s DOUBLE PRECISION,
    trace_id TEXT,
    span_id TEXT,
    service_name TEXT,
    provider TEXT NOT NULL,
    operation TEXT NOT NULL,
    request_model TEXT,
    response_model TEXT,
    response_id TEXT,
    stream BOOLEAN NOT NULL,
    service_tier TEXT,
    customer_id TEXT,
    plan TEXT,
    feature TEXT,
    user_id TEXT,
    input_tokens BIGINT,
    output_tokens BIGINT,
    cache_read_tokens BIGINT,
    cache_write_tokens BIGINT,
    cache_write_1h_tokens BIGINT,
    reasoning_tokens BIGINT,
    cost_usd NUMERIC,                    -- exact; NULL unless cost_status = 'priced'
    cost_input_usd NUMERIC,
    cost_output_usd NUMERIC,
    cost_status TEXT NOT NULL,
    cost_source TEXT,
    priced_model TEXT,
    error_type TEXT
)"""


def _definitions(ddl: str) -> list[str]:
    """The column definitions of a CREATE TABLE, comments and spacing left out."""
    body = ddl[ddl.index("(") + 1:ddl.rindex(")")]
    lines = (line.split("--")[0].strip().rstrip(",") for line in body.splitlines())
    return [" ".join(line.split()) for line in lines if line]


@pytest.mark.parametrize(("dialect", "released"), [("sqlite", RELEASED_V1_SQLITE),
                                                   ("postgres", RELEASED_V1_POSTGRES)])
def test_version_1_ddl_derived_from_the_row_is_the_released_one(dialect: Dialect, released: str) -> None:
    assert _definitions(create_table(dialect, 1)) == _definitions(released)
    assert MIGRATIONS[0].sqlite[0] == create_table("sqlite", 1)
    assert MIGRATIONS[0].postgres[0] == create_table("postgres", 1)


def test_columns_and_values_follow_the_row_type() -> None:
    assert tuple(spec.name for spec in fields(LedgerRow)) == COLUMNS
    assert [spec.name for spec in SPECS if not spec.nullable] == [
        "started_at", "duration_s", "provider", "operation", "stream", "cost_status"]
    assert add_columns("sqlite", 1) == tuple(f"ALTER TABLE llm_calls ADD COLUMN {spec.sql('sqlite')}"
                                            for spec in SPECS)
    assert add_columns("postgres", SCHEMA_VERSION + 1) == ()  # no column is newer than the schema


def test_a_ledger_created_with_the_released_v1_ddl_migrates_to_the_same_table(tmp_path: Path) -> None:
    old, new = tmp_path / "old.db", tmp_path / "new.db"
    with sqlite3.connect(old) as db:
        db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                   "applied_at TEXT NOT NULL)")
        db.execute(RELEASED_V1_SQLITE)
        db.execute("INSERT INTO schema_version VALUES (1, 'calls table', '2026-09-01')")
        db.execute("INSERT INTO llm_calls (started_at, duration_s, provider, operation, stream, cost_usd, "
                   "cost_status) VALUES ('2026-09-30 10:00:00.000000', 1.0, 'openai', 'chat', 0, '0.0425', "
                   "'priced')")
    for path in (old, new):
        SQLiteStore(path).close()
    with sqlite3.connect(old) as a, sqlite3.connect(new) as b:
        assert a.execute("PRAGMA table_info(llm_calls)").fetchall() == b.execute(
            "PRAGMA table_info(llm_calls)").fetchall()
        assert a.execute("SELECT cost_pusd FROM llm_calls").fetchall() == [(42_500_000_000,)]
