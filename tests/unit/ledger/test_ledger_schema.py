"""A CallRecord becomes one ledger row: every field, exact cost, nothing invented."""

from __future__ import annotations

from decimal import Decimal

from llmledger.ledger.schema import COLUMNS, row_from_record, utc_from_ns
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
