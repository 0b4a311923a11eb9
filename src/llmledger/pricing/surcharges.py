"""Surcharges and discounts that the request or response reveals, beyond genai-prices' variants.

- Anthropic ``usage.inference_geo == "us"`` (US-only inference, asked for with ``inference_geo``):
  1.1 times the standard rates on the Anthropic API. Another geography has no known rate: unpriced.
- Vertex AI Flex PayGo (``trafficType: ON_DEMAND_FLEX``): 50% of the standard rates, for models whose
  data holds no flex rate of its own (where it does, that rate is used).
- A regional-processing endpoint (OpenAI ``eu.api.openai.com`` ...): no list price is known, so the
  call is unpriced until an override with ``region:`` gives its rate.
Each returns the rest of the price context (what genai-prices' variants must still cover) and the
factor on the standard rates, or a reason the call stays unpriced: never the standard price silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from llmledger.pricing.modifiers import PriceContext

US_ONLY_INFERENCE = Decimal("1.1")
VERTEX_FLEX = Decimal("0.5")


@dataclass(frozen=True, slots=True)
class Surcharge:
    context: PriceContext
    """What is left for genai-prices' price variants."""
    factor: Decimal | None = None
    refusal: str | None = None


def split_surcharges(provider_id: str, model_id: str, context: PriceContext) -> Surcharge:
    factor: Decimal | None = None
    rest = []
    for key, value in context:
        if key == "inference_geo":
            if provider_id != "anthropic" or value != "us":
                return Surcharge(context, refusal=f"no rate is known for {value}-only inference of {model_id!r}")
            factor = US_ONLY_INFERENCE
        elif key == "region":
            return Surcharge(
                context,
                refusal=f"no list price is known for {value} regional processing of {model_id!r}; give it "
                f"under `pricing:` with `region: {value}`",
            )
        else:
            rest.append((key, value))
    return Surcharge(tuple(rest), factor)


def flex_fallback(provider_id: str, context: PriceContext) -> Surcharge | None:
    """Vertex/Gemini flex without a flex rate in the data: the standard rates at 50%."""
    if provider_id != "google" or ("service_tier", "flex") not in context:
        return None
    return Surcharge(tuple(item for item in context if item != ("service_tier", "flex")), VERTEX_FLEX)


def combine(first: Decimal | None, second: Decimal | None) -> Decimal | None:
    if first is None:
        return second
    if second is None:
        return first
    return first * second
