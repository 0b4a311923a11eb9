"""Margin reports over SQLite and PostgreSQL ledgers: exact totals, prorated revenue, sorting."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from ledger_testdata import at, make_record

from llmledger.ledger import open_store
from llmledger.ledger.report import NO_PLAN, UNATTRIBUTED, build_report
from llmledger.ledger.schema import row_from_record
from llmledger.plans import PlanBook, load_plans

PLANS: PlanBook = load_plans(
    {"starter": {"monthly_usd": 19, "included_tokens": 2_000_000}, "pro": {"monthly_usd": 99}},
    {"brightline": {"plan": "starter"}, "globex": {"plan": "pro", "monthly_usd": "350"},
     "idle-co": {"plan": "starter"}},
    "test")


@pytest.fixture()
def october(ledger_url: str) -> str:
    """October 2026 (31 days) of a few customers; every cost worked out below."""
    records = []
    for day in range(1, 32):
        for hour in (9, 11, 14, 16):
            # claude-sonnet-4-5: 50,000*$3/M + 1,000*$15/M = 0.165 a summary; 124 of them = 20.46
            records.append(make_record(at(f"2026-10-{day:02d}", hour), customer="brightline",
                                       plan="starter", feature="summarize", provider="anthropic",
                                       model="claude-sonnet-4-5", input_tokens=50_000,
                                       output_tokens=1_000, cost="0.165"))
    records += [make_record(at("2026-10-05"), customer="globex", plan="pro", cost="12.5"),
                make_record(at("2026-10-06"), customer="acme", plan="pro", cost="4.75"),
                make_record(at("2026-10-07"), customer="acme", plan="pro", cost=None),
                make_record(at("2026-10-08"), customer="mystery", plan="enterprise", cost="0.25"),
                make_record(at("2026-10-09"), customer=None, cost="1.0")]
    with open_store(ledger_url) as store:
        store.insert([row_from_record(record) for record in records])
    return ledger_url


def test_customers_with_revenue_margin_and_the_loss_first(october: str) -> None:
    with open_store(october) as store:
        report = build_report(store, PLANS, "customer")
    assert (report.period.since, report.period.until) == (at("2026-10-01", 0), at("2026-11-01", 0))
    rows = {row.key: row for row in report.rows}
    first = report.rows[0]
    assert first.key == "brightline" and first.unprofitable
    assert (first.cost, first.revenue, first.margin) == (Decimal("20.46"), Decimal("19.00"),
                                                         Decimal("-1.46"))
    assert first.allowance == 2_000_000 and first.over_allowance  # 124 * 51,000 = 6,324,000 tokens
    assert [row.key for row in report.rows[1:]] == ["globex", "acme", UNATTRIBUTED, "mystery", "idle-co"]
    assert rows["globex"].revenue == Decimal("350.00")  # the negotiated price wins over pro's $99
    assert rows["acme"].revenue == Decimal("99.00")  # not configured: the plan named on its calls
    assert (rows["acme"].totals.calls, rows["acme"].totals.unpriced_calls) == (2, 1)
    assert rows["mystery"].revenue is None and rows["mystery"].margin is None  # plan not configured
    assert rows["idle-co"].totals.calls == 0 and rows["idle-co"].margin == Decimal("19.00")
    assert rows[UNATTRIBUTED].revenue is None
    # Totals are the exact sums of the rows: 20.46 + 12.5 + 4.75 + 0.25 + 1.0 = 38.96
    assert report.total.cost == sum((row.cost for row in report.rows), Decimal(0)) == Decimal("38.96")
    assert report.total.revenue == Decimal("487.00")  # 19 + 350 + 99 + 19
    assert report.total.margin == Decimal("448.04")
    assert report.total.totals.calls == 129


def test_plans(october: str) -> None:
    with open_store(october) as store:
        report = build_report(store, PLANS, "plan")
    rows = {row.key: row for row in report.rows}
    assert (rows["starter"].customers, rows["starter"].revenue, rows["starter"].cost) == (
        2, Decimal("38.00"), Decimal("20.46"))
    assert (rows["pro"].customers, rows["pro"].revenue, rows["pro"].cost) == (
        2, Decimal("449.00"), Decimal("17.25"))
    assert rows["enterprise"].revenue is None
    assert rows[NO_PLAN].customers == 0 and rows[NO_PLAN].cost == Decimal("1.0")
    assert report.total.cost == Decimal("38.96")


def test_revenue_is_prorated_over_part_of_a_month(october: str) -> None:
    with open_store(october) as store:
        report = build_report(store, PLANS, "customer", since=at("2026-10-01", 0),
                              until=at("2026-10-16", 0), customer="brightline")
    (row,) = report.rows
    # 15 of October's 31 days: 19 * 15/31 = 9.1935... -> $9.19; cost 15 days * 4 * 0.165 = 9.90
    assert row.revenue == Decimal("9.19")
    assert row.cost == Decimal("9.900")
    assert row.allowance == 967_741  # 2,000,000 * 15/31, rounded down
    assert report.period.days == 15


def test_models_features_days(october: str) -> None:
    with open_store(october) as store:
        by_model = build_report(store, PLANS, "model")
        by_feature = build_report(store, PLANS, "feature")
        by_day = build_report(store, PLANS, "day")
    assert by_model.rows[0].key == "anthropic/claude-sonnet-4-5"
    assert by_model.rows[0].revenue is None
    # The unattributed call has no customer context, hence no feature either.
    assert {row.key: row.totals.calls for row in by_feature.rows} == {"summarize": 124, "chat": 4,
                                                                       "(none)": 1}
    assert [row.key for row in by_day.rows][:2] == ["2026-10-01", "2026-10-02"]  # in date order
    assert len(by_day.rows) == 31
    for report in (by_model, by_feature, by_day):
        assert report.total.cost == Decimal("38.96")


def test_a_customer_who_upgraded_is_billed_at_the_last_plan(ledger_url: str) -> None:
    with open_store(ledger_url) as store:
        store.insert([row_from_record(make_record(at("2026-10-02"), customer="grower", plan="starter")),
                      row_from_record(make_record(at("2026-10-20"), customer="grower", plan="pro"))])
        report = build_report(store, PlanBook(PLANS.plans), "customer", since=at("2026-10-01", 0),
                              until=at("2026-11-01", 0))
    (row,) = report.rows
    assert (row.plan, row.revenue, row.totals.calls) == ("pro", Decimal("99.00"), 2)


def test_an_empty_ledger(ledger_url: str) -> None:
    with open_store(ledger_url) as store:
        report = build_report(store, PlanBook(PLANS.plans), "customer",
                              now=at("2026-10-10", 15) + timedelta(minutes=1))
    assert report.rows == [] and report.total.cost == 0 and report.total.revenue is None
    assert report.period.since == at("2026-10-10", 0)
