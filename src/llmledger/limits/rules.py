"""Limit rules from the config: who they apply to, what they cap, and what happens past the cap.

```yaml
limits:
  - plan: starter                  # or customer: cust-123, or feature: summarize
    usd_per_month: 15              # any of: usd_per_month, usd_per_day, tokens_per_month,
    calls_per_minute: 20           #   tokens_per_day, calls_per_minute, cost_share_of_revenue
    action: block                  # block (default) | warn
limits_store: redis://127.0.0.1:6379/0   # optional; default: in-process
limits_fail_closed: false                # refuse calls while the store is unreachable
limit_response: 429                      # ASGI/WSGI middleware: LimitExceeded -> HTTP 429
```
One rule applies to a call, the most specific that matches: ``customer`` before ``feature``
before ``plan``. A ``feature`` rule counts the customer's calls for that feature only; the others
count all of the customer's calls. Calls with no customer are never limited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

from llmledger.errors import ConfigError
from llmledger.plans import PlanBook

Metric = Literal["usd", "tokens", "calls"]
Window = Literal["month", "day", "minute"]
Action = Literal["block", "warn"]
Scope = Literal["customer", "feature", "plan"]

# config key -> (metric, window)
CAP_KEYS: dict[str, tuple[Metric, Window]] = {
    "usd_per_month": ("usd", "month"),
    "usd_per_day": ("usd", "day"),
    "tokens_per_month": ("tokens", "month"),
    "tokens_per_day": ("tokens", "day"),
    "calls_per_minute": ("calls", "minute"),
    "cost_share_of_revenue": ("usd", "month"),
}
SCOPES: tuple[Scope, ...] = ("customer", "feature", "plan")
_RULE_KEYS = set(CAP_KEYS) | set(SCOPES) | {"action"}


@dataclass(frozen=True, slots=True)
class Cap:
    key: str
    """The config key, e.g. ``usd_per_month``; also the cap's name on spans and metrics."""
    metric: Metric
    window: Window
    amount: Decimal
    """The limit, or for ``cost_share_of_revenue`` the share of the customer's monthly revenue."""

    @property
    def share_of_revenue(self) -> bool:
        return self.key == "cost_share_of_revenue"


@dataclass(frozen=True, slots=True)
class Rule:
    scope: Scope
    match: str
    caps: tuple[Cap, ...]
    action: Action = "block"
    name: str = field(default="", compare=False)
    """``plan=starter``, ``customer=cust-123``, ``feature=summarize`` (set from scope and match)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", f"{self.scope}={self.match}")

    @property
    def calls_cap(self) -> Cap | None:
        return next((cap for cap in self.caps if cap.metric == "calls"), None)


@dataclass(frozen=True, slots=True)
class LimitRules:
    """The configured rules, indexed for the per-call lookup. Empty = limits off."""

    by_customer: Mapping[str, Rule]
    by_feature: Mapping[str, Rule]
    by_plan: Mapping[str, Rule]
    store_url: str | None = None
    fail_closed: bool = False

    def __bool__(self) -> bool:
        return bool(self.by_customer or self.by_feature or self.by_plan)

    @property
    def has_feature_rules(self) -> bool:
        return bool(self.by_feature)

    def rule_for(self, customer: str, plan: str | None, feature: str | None) -> Rule | None:
        rule = self.by_customer.get(customer)
        if rule is None and feature is not None:
            rule = self.by_feature.get(feature)
        if rule is None and plan is not None:
            rule = self.by_plan.get(plan)
        return rule

    def all_rules(self) -> list[Rule]:
        return [*self.by_customer.values(), *self.by_feature.values(), *self.by_plan.values()]


NO_RULES = LimitRules({}, {}, {})


def _amount(value: object, source: str, key: str, *, integer: bool) -> Decimal:
    try:
        amount = Decimal(str(value)) if not isinstance(value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0 or (integer and amount != amount.to_integral()):
        kind = "a positive whole number" if integer else "a positive number"
        raise ConfigError(f"expected {kind}, got {value!r}", source=source, key=key)
    return amount


def _rule(entry: object, index: int, source: str, plans: PlanBook) -> Rule:
    where = f"limits[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(f"expected a mapping with plan:, customer: or feature:, got {entry!r}",
                          source=source, key=where)
    unknown = set(entry) - _RULE_KEYS
    if unknown:
        raise ConfigError(f"unknown key(s) {sorted(map(str, unknown))}; known: {sorted(_RULE_KEYS)}",
                          source=source, key=where)
    scopes = [scope for scope in SCOPES if scope in entry]
    if len(scopes) != 1:
        raise ConfigError("give exactly one of plan:, customer: or feature:", source=source, key=where)
    scope = scopes[0]
    match = entry[scope]
    if not isinstance(match, (str, int)) or isinstance(match, bool) or not str(match).strip():
        raise ConfigError(f"expected a name, got {match!r}", source=source, key=f"{where}.{scope}")
    match = str(match).strip()
    action = entry.get("action", "block")
    if action not in ("block", "warn"):
        raise ConfigError(f"expected 'block' or 'warn', got {action!r}", source=source, key=f"{where}.action")
    caps = []
    for key, (metric, window) in CAP_KEYS.items():
        if key in entry:
            amount = _amount(entry[key], source, f"{where}.{key}", integer=metric != "usd")
            caps.append(Cap(key, metric, window, amount))
    if not caps:
        raise ConfigError(f"no limit given; use any of {', '.join(CAP_KEYS)}", source=source, key=where)
    if "cost_share_of_revenue" in entry and scope == "plan" and match not in plans.plans:
        raise ConfigError(f"cost_share_of_revenue needs the plan's price: plan {match!r} has no monthly_usd "
                          "under plans:", source=source, key=f"{where}.cost_share_of_revenue")
    return Rule(scope, match, tuple(caps), action)


def load_limit_rules(limits: object, store: object, fail_closed: object, source: str,
                     plans: PlanBook) -> LimitRules:
    """Validate the ``limits:`` list (and the store settings); errors name the file and key."""
    if limits is None:
        limits = []
    if not isinstance(limits, list):
        raise ConfigError(f"expected a list of rules, got {limits!r}", source=source, key="limits")
    indexes: dict[Scope, dict[str, Rule]] = {scope: {} for scope in SCOPES}
    for index, entry in enumerate(limits):
        rule = _rule(entry, index, source, plans)
        if rule.match in indexes[rule.scope]:
            raise ConfigError(f"a second rule for {rule.name}", source=source, key=f"limits[{index}]")
        indexes[rule.scope][rule.match] = rule
    store_url = None
    if store is not None:
        if not isinstance(store, str) or not store.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError(f"expected redis://host:port/db (or rediss://, unix://), got {store!r}",
                              source=source, key="limits_store")
        store_url = store
    if not isinstance(fail_closed, bool):
        raise ConfigError(f"expected true or false, got {fail_closed!r}", source=source,
                          key="limits_fail_closed")
    return LimitRules(indexes["customer"], indexes["feature"], indexes["plan"], store_url, fail_closed)
