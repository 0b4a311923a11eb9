"""The demo's simulated clock: a month of calls made in seconds, recorded on the days they simulate.

Nothing patches ``time``: the code that makes a simulated call says when it happens
(``with simulated_time(at): ...``), and :class:`SimulatedClockSink`, wrapped around the ledger
sink, moves each finished call record to that moment (keeping its real duration and time to first
chunk) before the ledger sees it. Spans and metrics keep real time, so a collector fed by the demo
shows the run as it happens.

The sink receives a call's record on the thread and in the context that made the call (the
lifecycle records synchronously when a call or its stream ends), which is why a context variable
is enough. A first-class hook (a clock in ``Config`` used by the lifecycle) would make this
wrapper unnecessary; until then it stays here, in the demo.
"""

from __future__ import annotations

import contextvars
import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from llmledger.usage import CallRecord

_simulated_at: contextvars.ContextVar[datetime | None] = contextvars.ContextVar(
    "llmledger_demo_simulated_at", default=None)


@contextmanager
def simulated_time(at: datetime) -> Iterator[None]:
    token = _simulated_at.set(at)
    try:
        yield
    finally:
        _simulated_at.reset(token)


def _ns(moment: datetime) -> int:
    delta = moment.astimezone(timezone.utc) - datetime(1970, 1, 1, tzinfo=timezone.utc)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def shifted(record: CallRecord, at: datetime) -> CallRecord:
    """A copy of ``record`` started at ``at``, same duration (the original is left untouched:
    other sinks may hold it)."""
    offset = _ns(at) - record.start_time_ns
    first_chunk = record.first_chunk_time_ns
    return dataclasses.replace(
        record, start_time_ns=record.start_time_ns + offset,
        end_time_ns=record.end_time_ns + offset if record.end_time_ns else 0,
        first_chunk_time_ns=first_chunk + offset if first_chunk is not None else None)


class SimulatedClockSink:
    """Passes records to ``inner`` (a ledger sink), moved to the simulated time of their call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def on_record(self, record: CallRecord) -> None:
        at = _simulated_at.get()
        self.inner.on_record(shifted(record, at) if at is not None else record)

    def bind_telemetry(self, telemetry: Any) -> None:
        self.inner.bind_telemetry(telemetry)

    def flush(self) -> bool:
        return bool(self.inner.flush())

    def close(self) -> None:
        self.inner.close()
