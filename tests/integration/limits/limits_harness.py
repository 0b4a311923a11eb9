"""``limited(rules)``: the instrumented test harness with limit rules configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from harness import Harness, instrumented
from llmledger.config import load_config
from llmledger.plans import load_plans


@contextmanager
def limited(rules: list[dict], plans: dict | None = None, **settings: object) -> Iterator[Harness]:
    """The harness with limit rules configured (and plans, for cost_share_of_revenue)."""
    config = load_config(None, env={}, limits=rules,
                         plans=load_plans(plans, None, "test") if plans else None, **settings)
    with instrumented(config) as harness:
        harness.instrumentor_config = config  # type: ignore[attr-defined]
        yield harness
