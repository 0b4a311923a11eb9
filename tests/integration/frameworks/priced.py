"""The check every framework test makes: one llmledger span, priced, for the right customer."""

from __future__ import annotations

from typing import Any

import pytest


def one_priced_span(harness: Any, model: str, cost: float, customer: str) -> dict[str, Any]:
    """The attributes of the one llmledger span recorded (framework spans aside), checked to be
    ``model``'s call priced at ``cost`` and attributed to ``customer``."""
    spans = [s for s in harness.spans() if s.instrumentation_scope.name == "llmledger"]
    assert len(spans) == 1, [s.name for s in spans]
    attrs = dict(spans[0].attributes)
    assert attrs["gen_ai.request.model"] == model
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, abs=1e-9)
    assert attrs["customer.id"] == customer
    return attrs
