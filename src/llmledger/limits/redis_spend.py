"""The spend of finished calls on its way to Redis: buffered, carried by the next check, or flushed.

A finished call's cost and tokens are not sent on their own round trip. ``add`` appends them to a
buffer (a deque append, no lock, no network); the next limit check of this process takes the whole
buffer and applies it in the same Lua script as the check, so a call costs one round trip. When no
check comes within ``interval_s`` of a spend being buffered, the worker thread sends everything
buffered in one round trip (many calls batched into one script).

If Redis cannot be reached, the spend is kept: a failed check or flush puts what it took back
(merged, one entry per scope and window, so an outage grows the buffer only by scopes, not calls),
the worker retries every ``retry_s``, and each failure is reported through ``on_error`` (counted in
``llmledger.limit.store_errors``). The buffer is bounded (``max_pending`` entries); a spend that
does not fit is dropped and reported (``add`` raises :class:`SpendBufferFull`). A reply lost after
Redis applied a script (a timeout) is sent again: spend counts at least once, never zero times
while the process lives. At interpreter exit and at ``close()`` the buffer is sent once more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from llmledger.background import BackgroundWorker

logger = logging.getLogger("llmledger.limits")

Spend = tuple[str, str, str, int, int, float]
"""scope, month key, day key, picodollars, tokens, when it was buffered (``time.monotonic``)."""

FLUSH_INTERVAL_S = 0.1
"""How long a buffered spend waits for a check to carry it before the worker sends it."""
RETRY_S = 1.0
MAX_PENDING = 100_000


class SpendBufferFull(RuntimeError):
    """The buffer holds ``max_pending`` entries (Redis unreachable for long): this spend is dropped."""


class SpendBuffer(BackgroundWorker[Spend]):
    """Spend waiting for its round trip; ``send`` applies a list of entries in one Lua script."""

    def __init__(self, send: Callable[[list[Spend]], None], *, interval_s: float = FLUSH_INTERVAL_S,
                 retry_s: float = RETRY_S, max_pending: int = MAX_PENDING,
                 on_error: Callable[[str], None] = lambda what: None,
                 on_ok: Callable[[], None] = lambda: None) -> None:
        self._send = send
        self.interval_s, self.retry_s = interval_s, retry_s
        self._on_error, self._on_ok = on_error, on_ok
        self._stopping = threading.Event()
        self.flushes = 0
        """Round trips the worker made (for tests and the benchmark)."""
        super().__init__(max_pending=max_pending, thread_name="llmledger-limit-spend")

    # ---- the call path -------------------------------------------------------------------------
    def add(self, spend: Spend) -> None:
        if not self.offer(spend):
            raise SpendBufferFull(f"{len(self._items)} spends wait for Redis; this one is dropped")
        if not self._wake.is_set():
            self._wake.set()

    def take(self, limit: int) -> list[Spend]:
        """Up to ``limit`` buffered spends, merged per scope and window (oldest time kept)."""
        items = self._items
        merged: dict[tuple[str, str, str], list[int | float]] = {}
        for _ in range(limit):
            try:
                scope, month, day, pusd, tokens, at = items.popleft()
            except IndexError:
                break
            entry = merged.get((scope, month, day))
            if entry is None:
                merged[scope, month, day] = [pusd, tokens, at]
            else:
                entry[0] += pusd
                entry[1] += tokens
        return [(scope, month, day, int(pusd), int(tokens), at)
                for (scope, month, day), (pusd, tokens, at) in merged.items()]

    def put_back(self, spends: list[Spend]) -> None:
        """Spends a failed round trip took: first in line again (the buffer bound is not applied:
        they were counted in before)."""
        for spend in reversed(spends):
            self._items.appendleft(spend)
        if spends and not self._wake.is_set():
            self._wake.set()

    def flush(self) -> None:
        """Send everything buffered now, in one round trip; raises (and keeps it) on failure."""
        spends = self.take(len(self._items) + 16)
        if not spends:
            return
        try:
            self._send(spends)
        except Exception:
            self.put_back(spends)
            raise
        self.flushes += 1

    # ---- the worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        wake, items = self._wake, self._items
        while not self.closed:
            wake.wait()
            wake.clear()
            while not self.closed:
                try:
                    oldest = items[0][5]
                except IndexError:
                    break
                wait = oldest + self.interval_s - time.monotonic()
                if wait > 0:  # a check may come and carry it
                    self._stopping.wait(wait)
                    continue
                try:
                    self.flush()
                except Exception:
                    self._on_error("send buffered spend")
                    self._stopping.wait(self.retry_s)
                else:
                    self._on_ok()

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker and send what is buffered once more (dropped, reported, if that fails)."""
        if self.closed:
            return
        self.closed = True
        self._stopping.set()
        self._wake.set()
        self.join_worker(timeout)
        self._last_flush("close the limit store")
        self.stop_exit_hook()

    def _at_exit(self) -> None:
        self._last_flush("send buffered spend at exit")

    def _last_flush(self, what: str) -> None:
        try:
            self.flush()
        except Exception:
            self._on_error(what)
            logger.debug("llmledger: buffered limit spend could not be sent; it is lost", exc_info=True)
