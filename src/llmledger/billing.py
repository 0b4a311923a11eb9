"""What a customer is billed over a period: the prorated plan price plus overage, and plan advice.

Overage is the usage past the plan's allowance, prorated like the price (``plans``):

* ``included_tokens`` (input + output tokens): ``over_tokens = tokens - allowance``;
* ``included_usd`` (LLM cost): ``over_cost = cost - allowance``;
* no allowance but an overage price: all usage is over (a usage-based plan).

It is billed at ``overage_usd_per_mtok`` (``over_tokens * rate / 1e6``) or at
``over_cost * overage_markup``. When the allowance and the price are in different units the share
of usage over the allowance converts one into the other (``over_cost = cost * over_tokens /
tokens``, and the other way round). Each amount is rounded to the cent, like the plan price.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from llmledger.plans import CENT, Plan, PlanBook

MILLION = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Bill:
    base: Decimal
    """The plan price prorated over the period."""
    overage: Decimal
    """Revenue from usage past the allowance (0 when the plan bills none)."""
    included_tokens: int | None = None
    included_usd: Decimal | None = None
    """The allowances over the period, when the plan has one."""
    over_share: Decimal = Decimal(0)
    """The share of the period's usage past the allowance, in [0, 1]."""

    @property
    def total(self) -> Decimal:
        return self.base + self.overage


def bill(plan: Plan, monthly_usd: Decimal, months: Decimal, tokens: int, cost: Decimal) -> Bill:
    """What ``tokens`` / ``cost`` of usage over ``months`` bill on ``plan`` at ``monthly_usd``."""
    base = (monthly_usd * months).quantize(CENT, ROUND_HALF_EVEN)
    allow_tokens = int(plan.included_tokens * months) if plan.included_tokens is not None else None
    allow_usd = plan.included_usd * months if plan.included_usd is not None else None
    over_tokens: Decimal
    over_cost: Decimal
    if allow_tokens is not None:
        over_tokens = Decimal(max(tokens - allow_tokens, 0))
        share = over_tokens / tokens if tokens else Decimal(0)
        over_cost = cost * share
    elif allow_usd is not None:
        over_cost = max(cost - allow_usd, Decimal(0))
        share = over_cost / cost if cost else Decimal(0)
        over_tokens = tokens * share
    elif plan.bills_overage:
        share, over_tokens, over_cost = Decimal(1), Decimal(tokens), cost
    else:
        share, over_tokens, over_cost = Decimal(0), Decimal(0), Decimal(0)
    if plan.overage_usd_per_mtok is not None:
        overage = over_tokens * plan.overage_usd_per_mtok / MILLION
    elif plan.overage_markup is not None:
        overage = over_cost * plan.overage_markup
    else:
        overage = Decimal(0)
    return Bill(base, overage.quantize(CENT, ROUND_HALF_EVEN), allow_tokens,
                None if allow_usd is None else allow_usd.quantize(CENT, ROUND_HALF_EVEN), share)


def customer_bill(plans: PlanBook, customer_id: str, plan_name: str | None, months: Decimal,
                  tokens: int, cost: Decimal) -> Bill | None:
    """The customer's bill (its account's price, else its plan's), or None when no plan is known."""
    monthly = plans.revenue(customer_id, plan_name)
    if monthly is None:
        return None
    plan = plans.plans.get(plans.plan_for(customer_id, plan_name) or "")
    if plan is None:  # an account whose price is known but whose plan is not (cannot happen in config)
        return Bill((monthly * months).quantize(CENT, ROUND_HALF_EVEN), Decimal(0))
    return bill(plan, monthly, months, tokens, cost)


@dataclass(frozen=True, slots=True)
class PlanAdvice:
    plan: str | None
    """The cheapest plan (by what the customer would pay) with a margin >= 0; None: none of them."""
    revenue: Decimal | None = None
    margin: Decimal | None = None


def advise(plans: PlanBook, months: Decimal, tokens: int, cost: Decimal) -> PlanAdvice:
    """The cheapest configured plan on which this usage has a margin >= 0, at list prices."""
    best: tuple[Decimal, str, Bill] | None = None
    for plan in plans.plans.values():
        candidate = bill(plan, plan.monthly_usd, months, tokens, cost)
        if candidate.total - cost < 0:
            continue
        if best is None or (candidate.total, plan.name) < best[:2]:
            best = (candidate.total, plan.name, candidate)
    if best is None:
        return PlanAdvice(None)
    return PlanAdvice(best[1], best[0], best[0] - cost)
