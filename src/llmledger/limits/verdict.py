"""The outcome of checking one customer against its rule: a :class:`Verdict` per cap over the limit,
and :class:`LimitUsage` rows for the read API (``llmledger.usage`` / ``llmledger.check``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from llmledger.errors import LimitExceeded
from llmledger.limits.rules import Cap, Rule, Window


@dataclass(frozen=True, slots=True)
class LimitUsage:
    """One cap of the rule that applies to a customer, in the cap's unit (USD, tokens, calls)."""

    rule: str
    """``plan=starter``, ``customer=cust-123``, ``feature=summarize``."""
    cap: str
    """``usd_per_month``, ``calls_per_minute``, ``cost_share_of_revenue``, ..."""
    window: Window
    used: Decimal | int
    limit: Decimal | int
    remaining: Decimal | int
    resets_at: datetime
    action: str

    @property
    def exceeded(self) -> bool:
        return self.used >= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "cap": self.cap, "window": self.window, "used": str(self.used),
                "limit": str(self.limit), "remaining": str(self.remaining),
                "resets_at": self.resets_at.isoformat(), "action": self.action, "exceeded": self.exceeded}


@dataclass(frozen=True, slots=True)
class Verdict:
    """A customer over a cap of its rule (``cap`` None: the store could not be asked, fail closed)."""

    customer: str
    plan: str | None
    rule: Rule
    cap: Cap | None
    used: Decimal | int | None
    limit: Decimal | int | None
    resets_at: datetime | None
    window_key: str
    """Names the window instance (``2026-12``, ``2026-12-07``, a minute): one log line per one."""

    @property
    def window(self) -> str:
        return self.cap.window if self.cap is not None else "store"

    def describe(self) -> str:
        if self.cap is None:
            return "the limit store is unreachable and limits_fail_closed is true"
        return f"{self.cap.key}: used {self.used} of {self.limit} this {self.window}"

    def error(self) -> LimitExceeded:
        return LimitExceeded(self.customer, self.rule.name, self.window, self.used, self.limit,
                             self.resets_at, None if self.cap is not None else self.describe())

    def span_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {"llmledger.limit.rule": self.rule.name,
                                 "llmledger.limit.window": self.window,
                                 "llmledger.limit.action": self.rule.action}
        if self.cap is not None:
            attrs["llmledger.limit.cap"] = self.cap.key
        if self.used is not None:
            attrs["llmledger.limit.used"] = float(self.used)
        if self.limit is not None:
            attrs["llmledger.limit.limit"] = float(self.limit)
        if self.resets_at is not None:
            attrs["llmledger.limit.resets_at"] = self.resets_at.isoformat()
        return attrs
