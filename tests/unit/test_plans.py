"""Revenue over a period: calendar-month proration of plan prices and token allowances."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from llmledger.errors import ConfigError
from llmledger.plans import load_plans, months_covered


def utc(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=timezone.utc)


@pytest.mark.parametrize(("since", "until", "months"), [
    (utc(2026, 10, 1), utc(2026, 11, 1), Decimal(1)),             # a whole 31-day month
    (utc(2026, 2, 1), utc(2026, 3, 1), Decimal(1)),               # a whole 28-day month
    (utc(2026, 9, 16), utc(2026, 10, 1), Decimal("0.5")),         # 15 of September's 30 days
    (utc(2026, 10, 1), utc(2027, 1, 1), Decimal(3)),              # a quarter
    (utc(2026, 10, 1, 12), utc(2026, 10, 1, 18), Decimal(6) / (31 * 24)),  # six hours of October
    (utc(2026, 10, 5), utc(2026, 10, 5), Decimal(0)),
])
def test_months_covered(since: datetime, until: datetime, months: Decimal) -> None:
    assert months_covered(since, until) == months


def test_a_period_across_months_counts_each_month_at_its_own_length() -> None:
    # Dec 20 -> Jan 5: 12 of December's 31 days + 4 of January's 31 = 16/31
    assert months_covered(utc(2026, 12, 20), utc(2027, 1, 5)) == Decimal(12) / 31 + Decimal(4) / 31


BOOK = load_plans({"starter": {"monthly_usd": 19, "included_tokens": 2_000_000},
                   "pro": {"monthly_usd": "99.00"}},
                  {"big": {"plan": "pro", "monthly_usd": 250}, "small": {"plan": "starter"}}, "test.yaml")


def test_revenue_for_period_is_rounded_to_the_cent() -> None:
    october = (utc(2026, 10, 1), utc(2026, 11, 1))
    assert BOOK.revenue_for_period("small", None, *october) == Decimal("19.00")
    assert BOOK.revenue_for_period("big", "starter", *october) == Decimal("250.00")  # account wins
    assert BOOK.revenue_for_period("someone", "pro", *october) == Decimal("99.00")  # plan on calls
    assert BOOK.revenue_for_period("someone", "unknown", *october) is None
    assert BOOK.revenue_for_period("someone", None, *october) is None
    # 10 days of October: 19 * 10/31 = 6.1290... -> 6.13
    assert BOOK.revenue_for_period("small", None, utc(2026, 10, 1), utc(2026, 10, 11)) == Decimal("6.13")


def test_allowance_for_period() -> None:
    september_half = (utc(2026, 9, 1), utc(2026, 9, 16))
    assert BOOK.allowance_for_period("small", None, *september_half) == 1_000_000
    assert BOOK.allowance_for_period("someone", "starter", *september_half) == 1_000_000
    assert BOOK.allowance_for_period("big", None, *september_half) is None  # pro has none


def test_plan_for_prefers_the_configured_account() -> None:
    assert BOOK.plan_for("big", "starter") == "pro"
    assert BOOK.plan_for("someone", "starter") == "starter"
    assert BOOK.plan_for("someone", None) is None


def test_a_customer_on_an_undefined_plan_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"customers\.c1\.plan"):
        load_plans({"pro": {"monthly_usd": 99}}, {"c1": {"plan": "gold"}}, "test.yaml")


# ---- overage terms -------------------------------------------------------------------------------
@pytest.mark.parametrize(("spec", "key", "message"), [
    ({"monthly_usd": 9, "overage_usd_per_mtok": 2, "overage_markup": 1.5}, "plans.p.overage_markup",
     "not both"),
    ({"monthly_usd": 9, "included_tokens": 10, "included_usd": 5}, "plans.p.included_usd", "not both"),
    ({"monthly_usd": 9, "overage_markup": "lots"}, "plans.p.overage_markup", "number of USD"),
    ({"monthly_usd": 9, "included_usd": -1}, "plans.p.included_usd", "non-negative"),
    ({"monthly_usd": 9, "overage_per_token": 1}, "plans.p", "unknown field"),
])
def test_bad_overage_terms_name_the_key(spec: dict[str, object], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        load_plans({"p": spec}, {}, "plans.yaml")
    assert caught.value.key == key and "plans.yaml" in str(caught.value)


def test_overage_in_other_units_converts_through_the_share_over() -> None:
    from llmledger.billing import bill

    tokens_plan = load_plans({"t": {"monthly_usd": 10, "included_tokens": 1_000_000, "overage_markup": 2}},
                             {}, "x").plans["t"]
    # 4,000,000 tokens costing $8: 3,000,000 (75%) past the allowance -> 0.75 * 8 * 2 = 12.00
    assert bill(tokens_plan, Decimal(10), Decimal(1), 4_000_000, Decimal(8)).overage == Decimal("12.00")
    usd_plan = load_plans({"u": {"monthly_usd": 10, "included_usd": 2, "overage_usd_per_mtok": 3}},
                          {}, "x").plans["u"]
    # $8 of cost, $6 (75%) past the $2 allowance: 0.75 * 4,000,000 tokens = 3,000,000 at $3/M = 9.00;
    # half a month: allowance $1, $7 past = 87.5% -> 3,500,000 tokens = 10.50, base 10 * 0.5 = 5.00
    assert bill(usd_plan, Decimal(10), Decimal(1), 4_000_000, Decimal(8)).overage == Decimal("9.00")
    half = bill(usd_plan, Decimal(10), Decimal("0.5"), 4_000_000, Decimal(8))
    assert (half.base, half.overage, half.included_usd) == (Decimal("5.00"), Decimal("10.50"), Decimal("1.00"))
