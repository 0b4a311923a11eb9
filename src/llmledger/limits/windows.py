"""Limit windows: UTC calendar months and days, and the rolling minute, on an injectable clock.

A clock is any ``() -> float`` giving seconds since the epoch (``time.time`` by default); tests
pass their own to cross month and day boundaries. A :class:`Moment` computes, once per check, the
keys naming the current month and day and when each resets.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from llmledger.limits.rules import Window

Clock = Callable[[], float]
MINUTE_S = 60.0


@dataclass(slots=True)
class Moment:
    now: float
    """Seconds since the epoch."""
    month: str
    """``2026-12``: the key of the current UTC calendar month."""
    day: str
    """``2026-12-07``: the key of the current UTC day."""

    @classmethod
    def at(cls, now: float) -> Moment:
        moment = datetime.fromtimestamp(now, timezone.utc)
        return cls(now, f"{moment.year:04d}-{moment.month:02d}",
                   f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}")

    def key(self, window: Window) -> str:
        return self.month if window == "month" else self.day if window == "day" else "minute"

    def resets_at(self, window: Window, oldest_call: float | None = None) -> datetime:
        """When the window frees up: the next month or day start; for the rolling minute, when the
        oldest call in it is a minute old (now + 60 s if unknown)."""
        moment = datetime.fromtimestamp(self.now, timezone.utc)
        if window == "month":
            return (month_start(moment) + timedelta(days=32)).replace(day=1)
        if window == "day":
            return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc) + timedelta(days=1)
        start = self.now if oldest_call is None else oldest_call
        return datetime.fromtimestamp(start + MINUTE_S, timezone.utc)


class Moments:
    """``Moment.at`` with the day's keys cached: one comparison per call until midnight UTC."""

    __slots__ = ("_day", "_day_end", "_day_start", "_month")

    def __init__(self) -> None:
        self._day_start = self._day_end = 0.0
        self._month = self._day = ""

    def at(self, now: float) -> Moment:
        if not self._day_start <= now < self._day_end:
            moment = Moment.at(now)
            start = day_start(datetime.fromtimestamp(now, timezone.utc)).timestamp()
            self._day_start, self._day_end = start, start + 86_400
            self._month, self._day = moment.month, moment.day
            return moment
        return Moment(now, self._month, self._day)


def month_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, 1, tzinfo=timezone.utc)


def day_start(moment: datetime) -> datetime:
    return datetime(moment.year, moment.month, moment.day, tzinfo=timezone.utc)
