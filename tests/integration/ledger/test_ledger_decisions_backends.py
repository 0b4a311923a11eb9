"""Overage, what-if repricing, cache savings and plan advice on a small hand-made ledger, over
SQLite and PostgreSQL; every figure worked out by hand in the comments (genai-prices 0.2.3 list
prices: claude-sonnet-4-6 $3 in / $0.30 cache read / $15 out, claude-haiku-4-5 $1 / $0.10 / $5,
gpt-4o-mini $0.15 / $0.075 / $0.60, gpt-4.1-nano $0.10 / $0.025 / $0.40 per million tokens)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from ledger_testdata import at, make_record

from llmledger.ledger import open_store
from llmledger.ledger.plans import PlanBook, load_plans
from llmledger.ledger.report import Report, ReportBy, build_report
from llmledger.ledger.repricing import WhatIf, WhatIfError, parse_what_if
from llmledger.ledger.schema import row_from_record

PLANS: PlanBook = load_plans(
    {"starter": {"monthly_usd": 5},
     "writer": {"monthly_usd": 20, "included_tokens": 1_000_000, "overage_usd_per_mtok": 5},
     "usage": {"monthly_usd": 10, "included_usd": 2, "overage_markup": "1.5"}},
    {"writer-co": {"plan": "writer"}, "heavy-co": {"plan": "usage"}, "starved-co": {"plan": "starter"}},
    "test")
SONNET_TO_HAIKU = parse_what_if("claude-sonnet-4-6=claude-haiku-4-5")
CHAT_MINI_TO_NANO = parse_what_if("chat:gpt-4o-mini=gpt-4.1-nano")


@pytest.fixture()
def october(ledger_url: str) -> str:
    records = []
    for day in range(1, 11):
        # writer-co, 10 drafts on Sonnet 4.6: 100,000 input of which 60,000 cached, 2,000 output:
        # 40,000 * 3/M = 0.12 + 60,000 * 0.3/M = 0.018 + 2,000 * 15/M = 0.03 -> 0.168 a call
        records.append(make_record(at(f"2026-10-{day:02d}"), customer="writer-co", plan="writer",
                                   feature="draft", provider="anthropic", model="claude-sonnet-4-6",
                                   input_tokens=100_000, cache_read=60_000, output_tokens=2_000, cost="0.168"))
    for day in range(1, 5):
        # heavy-co, 4 chats on gpt-4o-mini: 1M input * 0.15/M + 1M output * 0.6/M = 0.75 a call
        records.append(make_record(at(f"2026-10-{day:02d}"), customer="heavy-co", plan="usage",
                                   feature="chat", model="gpt-4o-mini", input_tokens=1_000_000,
                                   output_tokens=1_000_000, cost="0.75"))
    # heavy-co, one draft on Sonnet 4.6: 10,000 * 3/M + 1,000 * 15/M = 0.045
    records.append(make_record(at("2026-10-05"), customer="heavy-co", plan="usage", feature="draft",
                               provider="anthropic", model="claude-sonnet-4-6", input_tokens=10_000,
                               output_tokens=1_000, cost="0.045"))
    for day in range(1, 4):
        # starved-co, 3 chats on gpt-4o-mini: 10M * 0.15/M + 1M * 0.6/M = 2.10 a call
        records.append(make_record(at(f"2026-10-{day:02d}"), customer="starved-co", plan="starter",
                                   feature="chat", model="gpt-4o-mini", input_tokens=10_000_000,
                                   output_tokens=1_000_000, cost="2.1"))
    # starved-co, one "other" call on gpt-4o-mini: 1M * 0.15/M = 0.15 (not in the chat-only what-if)
    records.append(make_record(at("2026-10-06"), customer="starved-co", plan="starter", feature="other",
                               model="gpt-4o-mini", input_tokens=1_000_000, output_tokens=0, cost="0.15"))
    with open_store(ledger_url) as store:
        store.insert([row_from_record(record) for record in records])
    return ledger_url


def _report(url: str, by: ReportBy = "customer", what_ifs: tuple[WhatIf, ...] = ()) -> Report:
    with open_store(url) as store:  # the whole of October: one month of each plan's price
        return build_report(store, PLANS, by, since=at("2026-10-01", 0), until=at("2026-11-01", 0),
                            what_ifs=what_ifs)


def test_overage_revenue_and_margin_after_overage(october: str) -> None:
    rows = {row.key: row for row in _report(october).rows}
    writer = rows["writer-co"]
    # 10 * 102,000 = 1,020,000 tokens, 20,000 past the 1M allowance, at $5/M = 0.10
    assert writer.totals.tokens == 1_020_000 and writer.cost == Decimal("1.68")
    assert (writer.base_revenue, writer.overage_revenue, writer.revenue) == (
        Decimal("20.00"), Decimal("0.10"), Decimal("20.10"))
    assert writer.margin == Decimal("18.42") and writer.over_allowance  # 20.10 - 1.68
    heavy = rows["heavy-co"]
    # cost 4 * 0.75 + 0.045 = 3.045; 1.045 past the $2 allowance, * 1.5 = 1.5675 -> 1.57
    assert heavy.cost == Decimal("3.045") and heavy.included_usd == Decimal("2.00")
    assert (heavy.base_revenue, heavy.overage_revenue, heavy.revenue) == (
        Decimal("10.00"), Decimal("1.57"), Decimal("11.57"))
    assert heavy.margin == Decimal("8.525")
    starved = rows["starved-co"]
    # 3 * 2.10 + 0.15 = 6.45 against $5 and no overage: -1.45
    assert (starved.overage_revenue, starved.margin) == (Decimal("0.00"), Decimal("-1.45"))


def test_plan_advice_for_the_unprofitable(october: str) -> None:
    rows = {row.key: row for row in _report(october).rows}
    advice = rows["starved-co"].advice
    # starved-co uses 33,000,000 tokens costing 6.45:
    #   starter: 5 -> margin -1.45 (no);  writer: 20 + 32,000,000 * 5/M = 180 -> margin 173.55;
    #   usage: 10 + (6.45 - 2) * 1.5 = 10 + 6.675 -> 6.68 (half-even) = 16.68 -> margin 10.23: cheapest.
    assert advice is not None and advice.plan == "usage"
    assert (advice.revenue, advice.margin) == (Decimal("16.68"), Decimal("10.23"))
    # writer-co is over its token allowance; its cost 1.68 fits every plan: starter bills 5.00
    # (margin 3.32), usage 10.00 (1.68 is under its $2 allowance), writer 20.10: starter is cheapest
    assert rows["writer-co"].advice is not None and rows["writer-co"].advice.plan == "starter"
    assert rows["writer-co"].advice.margin == Decimal("3.32")
    assert rows["heavy-co"].advice is not None  # over its USD allowance


def test_cache_savings_per_customer_and_feature(october: str) -> None:
    report = _report(october)
    rows = {row.key: row for row in report.rows}
    # 600,000 cached tokens * (3 - 0.30)/M = 1.62; nobody else read the cache
    assert rows["writer-co"].cache is not None and rows["writer-co"].cache.usd == Decimal("1.62")
    assert rows["writer-co"].cache_read_share == Decimal(60)  # 600,000 of 1,000,000 input tokens
    assert rows["heavy-co"].cache is not None and rows["heavy-co"].cache.usd == 0
    assert report.cache is not None and report.cache.by_feature["draft"].usd == Decimal("1.62")
    features = {row.key: row for row in _report(october, "feature").rows}
    assert features["draft"].cache is not None and features["draft"].cache.usd == Decimal("1.62")
    assert report.total.cache is not None and report.total.cache.usd == Decimal("1.62")


def test_what_if_reprices_the_recorded_tokens(october: str) -> None:
    report = _report(october, what_ifs=(SONNET_TO_HAIKU, CHAT_MINI_TO_NANO))
    result = report.what_if
    assert result is not None
    writer = result.by_customer["writer-co"]
    # per call on Haiku: 40,000 * 1/M = 0.04 + 60,000 * 0.1/M = 0.006 + 2,000 * 5/M = 0.01 = 0.056
    assert (writer.calls, writer.cost_now, writer.cost_if, writer.saving) == (
        10, Decimal("1.68"), Decimal("0.56"), Decimal("1.12"))
    assert writer.margin_if == Decimal("19.54")  # 20.10 (overage counts tokens: unchanged) - 0.56
    heavy = result.by_customer["heavy-co"]
    # Sonnet draft on Haiku: 10,000 * 1/M + 1,000 * 5/M = 0.015; 4 chats on nano: 0.1 + 0.4 = 0.5 each
    assert (heavy.cost_now, heavy.cost_if) == (Decimal("3.045"), Decimal("2.015"))
    # cost if 2.015: 0.015 past $2 * 1.5 = 0.0225 -> 0.02; revenue 10.02 - 2.015 = 8.005
    assert heavy.margin_if == Decimal("8.005")
    starved = result.by_customer["starved-co"]
    # chat only: 3 * (10M * 0.1/M + 1M * 0.4/M = 1.4) = 4.20; the "other" call is not re-priced
    assert (starved.calls, starved.cost_now, starved.cost_if) == (3, Decimal("6.3"), Decimal("4.2"))
    assert result.by_feature["chat"].saving == Decimal("3.1")  # heavy 1.00 + starved 2.10
    assert result.by_feature["draft"].saving == Decimal("1.15")  # 1.12 + 0.03
    assert "other" not in result.by_feature
    assert result.total.saving == Decimal("4.25")


def test_json_totals_equal_the_row_sums(october: str) -> None:
    data = _report(october, what_ifs=(SONNET_TO_HAIKU,)).to_dict()
    rows, total = data["rows"], data["total"]
    for field in ("cost_usd", "revenue_usd", "base_revenue_usd", "overage_revenue_usd", "margin_usd",
                  "cache_savings_usd", "what_if_cost_now_usd", "what_if_cost_if_usd", "what_if_saving_usd"):
        assert sum(Decimal(row[field]) for row in rows if row[field] is not None) == Decimal(total[field]), field
    assert total["overage_revenue_usd"] == "1.67"  # 0.10 + 1.57 + 0
    assert data["what_if"]["total"]["saving_usd"] == "1.15"
    assert sum(Decimal(line["saving_usd"]) for line in data["what_if"]["by_feature"]) == Decimal("1.15")
    assert data["cache_savings"]["total_usd"] == "1.62"
    starved = next(row for row in rows if row["customer"] == "starved-co")
    assert (starved["plan_advice"], starved["plan_advice_margin_usd"]) == ("usage", "10.23")


def test_an_unknown_what_if_target_is_an_error_naming_it(october: str) -> None:
    with pytest.raises(WhatIfError, match="claude-nonexistent-9"):
        _report(october, what_ifs=(parse_what_if("claude-sonnet-4-6=claude-nonexistent-9"),))
