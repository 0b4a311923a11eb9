"""Plans and revenue: what each customer pays per month, from the ``plans:``/``customers:`` config.

```yaml
plans:
  free: {monthly_usd: 0}
  starter: {monthly_usd: 19, included_tokens: 2000000}
  pro: {monthly_usd: 99}
customers:
  cust-123: {plan: starter}
  cust-big: {plan: pro, monthly_usd: 250}   # negotiated revenue overrides the plan price
```
A customer seen in calls but not listed here gets the plan named on the call
(``llmledger.customer(..., plan=...)``), if that plan is configured.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from llmledger.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    monthly_usd: Decimal
    included_tokens: int | None = None


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

    def __iter__(self) -> Iterator[CustomerAccount]:
        return iter(self.accounts.values())


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


def load_plans(plans: object, customers: object, source: str) -> PlanBook:
    """Parse the ``plans:`` and ``customers:`` sections (already YAML-decoded)."""
    parsed: dict[str, Plan] = {}
    for name, spec in _mapping(plans or {}, source, "plans").items():
        key = f"plans.{name}"
        spec = _mapping(spec, source, key)
        unknown = set(spec) - {"monthly_usd", "included_tokens"}
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
                                 included)
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
