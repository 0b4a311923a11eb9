"""Plans and revenue: what each customer pays per month, from the ``plans:``/``customers:`` config.

```yaml
plans:
  free: {monthly_usd: 0}
  starter: {monthly_usd: 19, included_tokens: 2000000, overage_usd_per_mtok: 4}
  pro: {monthly_usd: 99, included_usd: 60, overage_markup: 1.5}
  metered: {monthly_usd: 0, overage_markup: 1.3}    # pure usage-based: no allowance
customers:
  cust-123: {plan: starter}
  cust-big: {plan: pro, monthly_usd: 250}   # negotiated revenue overrides the plan price
```
A customer seen in calls but not listed here gets the plan named on the call
(``llmledger.customer(..., plan=...)``), if that plan is configured.

Revenue over a period (``llmledger report``) is prorated by calendar month: each calendar month
the period overlaps contributes its monthly price times the share of that month covered, so a
whole month is exactly the monthly price (28, 30 or 31 days alike) and 15 days of a 30-day month
are half of it. The result is rounded to the cent. Included allowances (``included_tokens`` or
``included_usd``) are prorated the same way.

Overage: usage past the allowance is billed at ``overage_usd_per_mtok`` (USD per million tokens
over) or at cost times ``overage_markup``; a plan with an overage price and no allowance bills all
of its usage that way. See :mod:`llmledger.billing` for the arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from llmledger.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    monthly_usd: Decimal
    included_tokens: int | None = None
    included_usd: Decimal | None = None
    """An allowance in USD of LLM cost (instead of tokens)."""
    overage_usd_per_mtok: Decimal | None = None
    """Price of the tokens past the allowance, in USD per million tokens."""
    overage_markup: Decimal | None = None
    """Or: the cost of the usage past the allowance times this factor."""

    @property
    def bills_overage(self) -> bool:
        return self.overage_usd_per_mtok is not None or self.overage_markup is not None


@dataclass(frozen=True, slots=True)
class CustomerAccount:
    id: str
    plan: str
    monthly_usd: Decimal


@dataclass(frozen=True, slots=True)
class PlanBook:
    """The configured plans and customer accounts; immutable after ``init()``."""

    plans: Mapping[str, Plan] = field(default_factory=dict)
    accounts: Mapping[str, CustomerAccount] = field(default_factory=dict)

    def revenue(self, customer_id: str, plan: str | None = None) -> Decimal | None:
        """Monthly revenue of a customer, or None when neither the customer nor the plan is known."""
        account = self.accounts.get(customer_id)
        if account is not None:
            return account.monthly_usd
        known = self.plans.get(plan) if plan else None
        return known.monthly_usd if known else None

    def plan_of(self, customer_id: str) -> str | None:
        account = self.accounts.get(customer_id)
        return account.plan if account else None

    def plan_for(self, customer_id: str, plan_on_calls: str | None) -> str | None:
        """The plan that bills a customer: the configured account's, else the one on its calls."""
        return self.plan_of(customer_id) or plan_on_calls

    def revenue_for_period(self, customer_id: str, plan: str | None, since: datetime,
                           until: datetime) -> Decimal | None:
        """Revenue over ``[since, until)``, prorated by calendar month (see the module docstring)."""
        monthly = self.revenue(customer_id, plan)
        if monthly is None:
            return None
        return (monthly * months_covered(since, until)).quantize(CENT, ROUND_HALF_EVEN)

    def allowance_for_period(self, customer_id: str, plan: str | None, since: datetime,
                             until: datetime) -> int | None:
        """The plan's included tokens over ``[since, until)`` (prorated like revenue), if any."""
        known = self.plans.get(self.plan_for(customer_id, plan) or "")
        if known is None or known.included_tokens is None:
            return None
        return int(known.included_tokens * months_covered(since, until))

    def __iter__(self) -> Iterator[CustomerAccount]:
        return iter(self.accounts.values())


CENT = Decimal("0.01")


def _month_start(year: int, month: int) -> datetime:
    return datetime(year + (month - 1) // 12, (month - 1) % 12 + 1, 1, tzinfo=timezone.utc)


def _micros(delta_start: datetime, delta_end: datetime) -> int:
    delta = delta_end - delta_start
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def months_covered(since: datetime, until: datetime) -> Decimal:
    """How many calendar months (UTC) ``[since, until)`` spans, as an exact-ish fraction: each
    month counts for the share of it that the period covers."""
    since, until = since.astimezone(timezone.utc), until.astimezone(timezone.utc)
    total = Decimal(0)
    year, month = since.year, since.month
    while (start := _month_start(year, month)) < until:
        end = _month_start(year, month + 1)
        covered = _micros(max(start, since), min(end, until))
        if covered >= _micros(start, end):
            total += 1
        elif covered > 0:
            total += Decimal(covered) / Decimal(_micros(start, end))
        year, month = end.year, end.month
    return total


def _money(value: object, source: str, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError(f"expected a number of USD, got {value!r}", source=source, key=key)
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ConfigError(f"expected a number of USD, got {value!r}", source=source, key=key) from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"expected a non-negative amount, got {value!r}", source=source, key=key)
    return amount


def _mapping(value: object, source: str, key: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise ConfigError(f"expected a mapping, got {type(value).__name__}", source=source, key=key)
    return value


_PLAN_FIELDS = frozenset({"monthly_usd", "included_tokens", "included_usd", "overage_usd_per_mtok",
                          "overage_markup"})


def _overage_terms(spec: Mapping[str, object], source: str, key: str) -> dict[str, Decimal | None]:
    """``included_usd``, ``overage_usd_per_mtok`` and ``overage_markup``, checked together."""
    terms = {name: _money(spec[name], source, f"{key}.{name}") if spec.get(name) is not None else None
             for name in ("included_usd", "overage_usd_per_mtok", "overage_markup")}
    if terms["overage_usd_per_mtok"] is not None and terms["overage_markup"] is not None:
        raise ConfigError("give overage_usd_per_mtok or overage_markup, not both", source=source,
                          key=f"{key}.overage_markup")
    if terms["included_usd"] is not None and spec.get("included_tokens") is not None:
        raise ConfigError("give included_tokens or included_usd, not both", source=source,
                          key=f"{key}.included_usd")
    return terms


def load_plans(plans: object, customers: object, source: str) -> PlanBook:
    """Parse the ``plans:`` and ``customers:`` sections (already YAML-decoded)."""
    parsed: dict[str, Plan] = {}
    for name, spec in _mapping(plans or {}, source, "plans").items():
        key = f"plans.{name}"
        spec = _mapping(spec, source, key)
        unknown = set(spec) - _PLAN_FIELDS
        if unknown:
            raise ConfigError(f"unknown field(s) {sorted(unknown)}", source=source, key=key)
        if "monthly_usd" not in spec:
            raise ConfigError("missing monthly_usd", source=source, key=key)
        included = spec.get("included_tokens")
        if included is not None and (not isinstance(included, int) or isinstance(included, bool)
                                     or included < 0):
            raise ConfigError(f"expected a non-negative integer, got {included!r}",
                              source=source, key=f"{key}.included_tokens")
        parsed[str(name)] = Plan(str(name), _money(spec["monthly_usd"], source, f"{key}.monthly_usd"),
                                 included, **_overage_terms(spec, source, key))
    accounts: dict[str, CustomerAccount] = {}
    for cid, spec in _mapping(customers or {}, source, "customers").items():
        key = f"customers.{cid}"
        spec = _mapping(spec, source, key)
        unknown = set(spec) - {"plan", "monthly_usd"}
        if unknown:
            raise ConfigError(f"unknown field(s) {sorted(unknown)}", source=source, key=key)
        plan_name = spec.get("plan")
        if plan_name is None:
            raise ConfigError("missing plan", source=source, key=key)
        if str(plan_name) not in parsed:
            raise ConfigError(f"plan {plan_name!r} is not defined under plans",
                              source=source, key=f"{key}.plan")
        if "monthly_usd" in spec:
            revenue = _money(spec["monthly_usd"], source, f"{key}.monthly_usd")
        else:
            revenue = parsed[str(plan_name)].monthly_usd
        accounts[str(cid)] = CustomerAccount(str(cid), str(plan_name), revenue)
    return PlanBook(parsed, accounts)
