"""Exceptions llmledger raises at its boundaries (never inside a user's LLM call)."""

from __future__ import annotations

import math
from datetime import datetime, timezone


class LLMLedgerError(Exception):
    """Base class of everything llmledger raises on purpose."""


class ConfigError(LLMLedgerError, ValueError):
    """Bad configuration, raised at ``init()``; the message names the file, key and value."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        where = ", ".join(part for part in (source, f"key {key!r}" if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key


class LimitExceeded(LLMLedgerError):
    """A customer's configured limit with ``action: block`` was reached; no request was sent.

    Raised before the SDK call (and by ``llmledger.check``). ``used`` and ``limit`` are in the
    rule's unit (USD for ``usd_per_*`` and ``cost_share_of_revenue``, tokens, or calls);
    ``resets_at`` is when the window frees up (UTC), ``retry_after_s`` the seconds until then.
    ``used`` and ``limit`` are None when the limit store was unreachable and
    ``limits_fail_closed: true`` refused the call.
    """

    def __init__(self, customer: str, rule: str, window: str, used: object, limit: object,
                 resets_at: datetime | None, reason: str | None = None) -> None:
        self.customer, self.rule, self.window = customer, rule, window
        self.used, self.limit, self.resets_at = used, limit, resets_at
        what = reason or f"used {used} of {limit} this {window}"
        when = f"; resets at {resets_at.isoformat()}" if resets_at is not None else ""
        super().__init__(f"customer {customer!r} reached limit {rule} ({what}){when}")

    @property
    def retry_after_s(self) -> int:
        """Whole seconds until the window resets (at least 1; 60 when unknown)."""
        if self.resets_at is None:
            return 60
        left = (self.resets_at - datetime.now(timezone.utc)).total_seconds()
        return max(1, math.ceil(left))
