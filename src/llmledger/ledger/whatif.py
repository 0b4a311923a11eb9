"""``llmledger report --what-if FROM=TO``: the recorded tokens of FROM's calls re-priced as TO.

Per customer and per feature: cost now (what those calls cost, as recorded), cost if (the same
tokens at TO's current rates, see ``repricing``), and the saving. The report adds the margin if.
A ``FEATURE:FROM=TO`` spec applies to that feature's calls only and wins over a plain ``FROM=TO``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from llmledger.ledger.queries import Filters
from llmledger.ledger.repricing import PROVIDERS, Grouped, RateCards, WhatIf, both_dimensions, price_group
from llmledger.ledger.store import LedgerStore
from llmledger.ledger.usage_groups import UsageGroup
from llmledger.pricing.ratecard import RateCard


@dataclass(slots=True)
class WhatIfLine:
    key: str | None
    calls: int = 0
    cost_now: Decimal = field(default_factory=Decimal)
    cost_if: Decimal = field(default_factory=Decimal)
    margin_if: Decimal | None = None
    """Customer lines, set by the report: revenue if (overage follows cost) minus total cost if."""

    @property
    def saving(self) -> Decimal:
        return self.cost_now - self.cost_if

    def add(self, calls: int, now: Decimal, if_: Decimal) -> None:
        self.calls += calls
        self.cost_now += now
        self.cost_if += if_


@dataclass(slots=True)
class WhatIfResult:
    specs: tuple[WhatIf, ...]
    by_customer: dict[str | None, WhatIfLine] = field(default_factory=dict)
    by_feature: dict[str | None, WhatIfLine] = field(default_factory=dict)
    total: WhatIfLine = field(default_factory=lambda: WhatIfLine("total"))
    too_large_calls: int = 0
    """Calls with prompts larger than the target has rates for (left out, cost now included)."""

    @property
    def labels(self) -> list[str]:
        return [spec.label for spec in self.specs]


def _spec_for(specs: Sequence[WhatIf], group: UsageGroup) -> WhatIf | None:
    general = None
    for spec in specs:
        if spec.source != group.model:
            continue
        if spec.feature is not None and spec.feature == group.feature:
            return spec
        if spec.feature is None and general is None:
            general = spec
    return general


def what_if_cards(specs: Sequence[WhatIf], cards: RateCards) -> Callable[[UsageGroup], list[RateCard]]:
    """The target card that re-prices a group (none when no spec applies to it)."""
    for spec in specs:  # an unknown target is an error even when no call matches
        cards.target_card(spec.target, PROVIDERS[0], None)

    def cards_of(group: UsageGroup) -> list[RateCard]:
        spec = _spec_for(specs, group)
        return [] if spec is None else [cards.target_card(spec.target, group.provider, group.service_tier)]

    return cards_of


def what_if_from(groups: Grouped, specs: Sequence[WhatIf], cards: RateCards) -> WhatIfResult:
    cards_of = what_if_cards(specs, cards)
    result = WhatIfResult(tuple(specs))
    for listed, by_customer in ((groups.by_customer, True), (groups.by_feature, False)):
        for group in listed:
            found = cards_of(group)
            if not found:
                continue  # another model, or the spec is for another feature
            cost_if = price_group(found[0], group)
            if cost_if is None:
                result.too_large_calls += group.calls if by_customer else 0
                cost_if = group.cost
            table, key = ((result.by_customer, group.customer_id) if by_customer
                          else (result.by_feature, group.feature))
            line = table.get(key)
            if line is None:
                line = table[key] = WhatIfLine(key)
            line.add(group.calls, group.cost, cost_if)
            if by_customer:
                result.total.add(group.calls, group.cost, cost_if)
    return result


def sources(specs: Sequence[WhatIf]) -> list[str]:
    return sorted({spec.source for spec in specs})


def what_if(store: LedgerStore, filters: Filters, specs: Sequence[WhatIf], cards: RateCards) -> WhatIfResult:
    groups = both_dimensions(store, filters, what_if_cards(specs, cards), models=sources(specs), specs=specs)
    return what_if_from(groups, specs, cards)
