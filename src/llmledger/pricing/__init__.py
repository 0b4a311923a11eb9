"""Price a call's :class:`~llmledger.usage.Usage` in exact USD.

One pricing path: the pinned genai-prices bundled data, with the operator's ``pricing:`` overrides
evaluated first. See ``docs/pricing.md`` and :mod:`llmledger.pricing.overrides` for the YAML schema.
"""

from __future__ import annotations

from llmledger.pricing.engine import Pricer
from llmledger.pricing.overrides import PriceOverrides, load_price_overrides

__all__ = ["PriceOverrides", "Pricer", "load_price_overrides"]
