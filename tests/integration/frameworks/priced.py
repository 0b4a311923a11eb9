"""The check every framework test makes: one llmledger span, priced, for the right customer."""

from __future__ import annotations

from typing import Any

import pytest


def one_priced_span(harness: Any, model: str, cost: float, customer: str, *,
                    besides_refused: bool = False) -> dict[str, Any]:
    """The attributes of the one llmledger span recorded (framework spans aside), checked to be
    ``model``'s call priced at ``cost`` and attributed to ``customer``. ``besides_refused``: spans of
    calls the SDK refused (a ``ValueError``, no usage, no cost) may come first (pydantic-ai asks
    Anthropic's SDK for a non-streamed message with a large max_tokens, the SDK says "Streaming is
    required", and pydantic-ai streams instead)."""
    spans = [s for s in harness.spans() if s.instrumentation_scope.name == "llmledger"]
    if besides_refused:
        refused = [s for s in spans if dict(s.attributes).get("error.type") == "ValueError"]
        assert all(dict(s.attributes)["llmledger.cost.status"] == "no_usage" for s in refused)
        spans = [s for s in spans if s not in refused]
    assert len(spans) == 1, [s.name for s in spans]
    attrs = dict(spans[0].attributes)
    assert attrs["gen_ai.request.model"] == model
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, abs=1e-9)
    assert attrs["customer.id"] == customer
    return attrs
