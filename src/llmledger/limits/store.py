"""Where limit windows are counted: the store interface and the in-process store.

Amounts are integers: USD in picodollars (exact for every price genai-prices knows, and an int64
in Redis holds 9.2 million dollars per window), tokens, calls. A store answers one ``check`` per
call (all windows of one scope at once, and for ``calls_per_minute`` the call's reservation, made
atomically with the check) and one ``add`` per finished call (its spend, into every scope it counts
for; the Redis store buffers it for its next check's round trip).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from llmledger.limits.windows import MINUTE_S, Moment

PICO = 10**12


def to_pico(usd: Decimal) -> int:
    return round(usd.scaleb(12))  # round() of a Decimal: to an int, half to even


def plain(value: Decimal) -> Decimal:
    """Without trailing zeros or exponent: ``0.04``, ``15``, ``100`` (never ``1E+2``)."""
    return value.quantize(Decimal(1)) if value == value.to_integral_value() else value.normalize()


def from_pico(pusd: int) -> Decimal:
    return plain(Decimal(pusd) / PICO)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """The limits of one rule as the store compares them (None = not limited)."""

    month_pusd: int | None = None
    day_pusd: int | None = None
    month_tokens: int | None = None
    day_tokens: int | None = None
    calls: int | None = None
    """calls_per_minute; when set, the store counts the rolling minute and reserves the call."""
    block: bool = True
    """A blocking rule reserves no call slot once any threshold is reached (the call is refused)."""
    reserve: bool = True
    """False for a read (``llmledger.usage``/``check``): count the rolling minute, reserve nothing."""


@dataclass(slots=True)
class Totals:
    month_pusd: int = 0
    day_pusd: int = 0
    month_tokens: int = 0
    day_tokens: int = 0
    calls: int = 0
    """Calls in the rolling minute before this one."""
    oldest_call: float | None = None
    """When the oldest call of the rolling minute was made (epoch seconds)."""


def reached(totals: Totals, limits: Thresholds) -> bool:
    """Whether any threshold is reached (used >= limit): the next call is over the limit."""
    limit = limits.month_pusd
    if limit is not None and totals.month_pusd >= limit:
        return True
    limit = limits.day_pusd
    if limit is not None and totals.day_pusd >= limit:
        return True
    limit = limits.month_tokens
    if limit is not None and totals.month_tokens >= limit:
        return True
    limit = limits.day_tokens
    if limit is not None and totals.day_tokens >= limit:
        return True
    return limits.calls is not None and totals.calls >= limits.calls


class LimitStore(ABC):
    description: str

    @abstractmethod
    def check(self, scope: str, moment: Moment, limits: Thresholds) -> Totals:
        """The scope's totals in every window; reserves a call slot when ``limits.calls`` is set
        (unless the rule blocks and a threshold is reached). Raises on a store failure."""

    @abstractmethod
    def add(self, scopes: Sequence[str], moment: Moment, pusd: int, tokens: int) -> None:
        """Add one finished call's spend to each scope's month and day. Raises on a store failure."""

    def close(self) -> None:  # noqa: B027 - the in-process store holds nothing to release
        """Release connections."""


class _Counters:
    __slots__ = ("calls", "day", "day_pusd", "day_tokens", "month", "month_pusd", "month_tokens")

    def __init__(self, moment: Moment) -> None:
        self.month, self.day = moment.month, moment.day
        self.month_pusd = self.day_pusd = self.month_tokens = self.day_tokens = 0
        self.calls: deque[float] = deque()

    def roll(self, moment: Moment) -> None:
        if self.month != moment.month:
            self.month, self.month_pusd, self.month_tokens = moment.month, 0, 0
        if self.day != moment.day:
            self.day, self.day_pusd, self.day_tokens = moment.day, 0, 0


class MemoryStore(LimitStore):
    """Exact for one process: a dict of counters under one lock (a few hundred nanoseconds)."""

    description = "in-process"

    def __init__(self) -> None:
        self._counters: dict[str, _Counters] = {}
        self._lock = threading.Lock()

    def _get(self, scope: str, moment: Moment) -> _Counters:
        counters = self._counters.get(scope)
        if counters is None:
            counters = self._counters[scope] = _Counters(moment)
        elif counters.day != moment.day:  # a new day, maybe a new month
            counters.roll(moment)
        return counters

    def check(self, scope: str, moment: Moment, limits: Thresholds) -> Totals:
        with self._lock:
            counters = self._get(scope, moment)
            calls, oldest = 0, None
            if limits.calls is not None:
                window = counters.calls
                while window and window[0] <= moment.now - MINUTE_S:
                    window.popleft()
                calls, oldest = len(window), (window[0] if window else None)
            totals = Totals(counters.month_pusd, counters.day_pusd, counters.month_tokens,
                            counters.day_tokens, calls, oldest)
            if limits.calls is not None and limits.reserve and not (limits.block and reached(totals, limits)):
                counters.calls.append(moment.now)
            return totals

    def add(self, scopes: Sequence[str], moment: Moment, pusd: int, tokens: int) -> None:
        with self._lock:
            for scope in scopes:
                counters = self._get(scope, moment)
                counters.month_pusd += pusd
                counters.day_pusd += pusd
                counters.month_tokens += tokens
                counters.day_tokens += tokens

    def seed(self, scope: str, moment: Moment, *, month_pusd: int, month_tokens: int, day_pusd: int,
             day_tokens: int) -> None:
        """Start a scope's month and day from sums recorded before this process started."""
        with self._lock:
            counters = self._get(scope, moment)
            counters.month_pusd += month_pusd
            counters.month_tokens += month_tokens
            counters.day_pusd += day_pusd
            counters.day_tokens += day_tokens
