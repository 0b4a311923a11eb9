"""Price a call's :class:`~llmledger.usage.Usage` in exact USD.

One pricing path: the pinned genai-prices bundled data, with the operator's ``pricing:`` overrides
evaluated first. See ``docs/pricing.md`` and :mod:`llmledger.pricing.overrides` for the YAML schema.

Modules: engine (the memoised Pricer), resolve (deployment map -> overrides -> genai-prices),
normalize (model-id spellings), modifiers (batch/tiers/speed -> price context), catalog (the pinned
data), corrections (known data errors), compile + ratecard (fast exact arithmetic), breakdown
(per-line quotes for the CLI), overrides (the YAML section), providers (OTel -> genai-prices ids).
"""

from __future__ import annotations

from llmledger.pricing.breakdown import Quote, QuoteLine
from llmledger.pricing.engine import Pricer
from llmledger.pricing.overrides import PriceOverrides, load_price_overrides

__all__ = ["PriceOverrides", "Pricer", "Quote", "QuoteLine", "load_price_overrides"]
