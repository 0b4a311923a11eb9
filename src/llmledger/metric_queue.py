"""Metric points of finished calls, recorded off the request path.

Recording a histogram point through the OpenTelemetry SDK (1.45) costs 10-20 µs: every point's
attributes are validated, copied and hashed, and an exemplar is considered. A call records four
such points plus the per-customer sums, which together were most of llmledger's per-call cost.
The call path therefore only appends the finished call to a deque (about 0.1 µs); one daemon
thread records the points.

Nothing is lost or late for a reader:
- every collection drains the queue first (llmledger's observable callbacks call ``drain`` before
  the SDK collects the synchronous instruments), so an exported or in-memory read always includes
  every call finished before it;
- ``drain`` is also called by ``llmledger.flush()``, at ``close()`` and at interpreter exit;
- when the queue is full (the worker cannot keep up) the caller records its own points, so points
  are never dropped and the caller never waits on the worker;
- after ``fork()`` the child starts with an empty queue (the parent records its own calls).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from llmledger.background import BackgroundWorker

logger = logging.getLogger("llmledger.telemetry")
BATCH_DELAY_S = 0.005
"""How long the worker lets items gather after waking; collections and flush() drain at once."""

Item = TypeVar("Item")


class MetricQueue(BackgroundWorker[Item]):
    """A bounded queue of items handled by ``handle`` on one worker thread (or by the caller when
    full). ``handle`` runs for each item exactly once; its exceptions are logged, never raised."""

    def __init__(self, handle: Callable[[Item], None], *, max_pending: int = 512,
                 thread_name: str = "llmledger-metrics") -> None:
        self._handle = handle
        self._drain_lock = threading.Lock()
        super().__init__(max_pending=max_pending, thread_name=thread_name)

    # ---- request path --------------------------------------------------------------------------
    def submit(self, item: Item) -> None:
        if not self.offer(item):
            self._handle_one(item)
            return
        if not self._wake.is_set():
            self._wake.set()

    # ---- draining --------------------------------------------------------------------------------
    def drain(self) -> None:
        """Handle every item submitted before this call, on the calling thread if the worker has
        not yet taken them. Returns once they are all handled."""
        with self._drain_lock:
            pending = self._items
            while True:
                try:
                    item = pending.popleft()
                except IndexError:
                    return
                self._handle_one(item)

    def close(self, timeout: float = 10.0) -> None:
        """Handle what is queued and stop the worker; later items are handled by their caller."""
        if self.closed:
            return
        self.closed = True
        self._wake.set()
        self.join_worker(timeout)
        self.drain()
        self.stop_exit_hook()

    # ---- worker ----------------------------------------------------------------------------------
    def _run(self) -> None:
        wake = self._wake
        while not self.closed:
            wake.wait()
            # Let calls finished in the next moment join this batch: while the event stays set, a
            # submit is a deque append and one flag read, with no thread wake-up per call.
            time.sleep(BATCH_DELAY_S)
            wake.clear()  # before draining: an item appended from now on sets it again
            self.drain()

    def _at_exit(self) -> None:
        self.drain()

    def _after_fork(self) -> None:
        super()._after_fork()
        self._drain_lock = threading.Lock()

    def _handle_one(self, item: Item) -> None:
        try:
            self._handle(item)
        except Exception:
            logger.debug("llmledger: could not record metrics", exc_info=True)
