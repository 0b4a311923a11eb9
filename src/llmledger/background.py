"""The one background-worker helper: a bounded queue, one daemon thread, a hook at interpreter
exit, and a fresh start in a forked child.

Used by the metric queue (``metric_queue.py``: points recorded off the request path) and the
ledger sink (``ledger/sink.py``: rows written in batches). Each subclass says what its thread does
(``_run``), what happens at exit (``_at_exit``: drain or close) and, if more than an empty queue
and no thread, what a forked child needs (``_after_fork``). Appending to the queue takes no lock.
"""

from __future__ import annotations

import atexit
import os
import threading
import weakref
from abc import ABC, abstractmethod
from collections import deque
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")


class BackgroundWorker(ABC, Generic[Item]):
    """``_items`` (at most ``max_pending``, appended by ``offer``) handled by one daemon thread
    named ``thread_name``, started on the first item (or by ``_start_worker``)."""

    def __init__(self, *, max_pending: int, thread_name: str) -> None:
        self.max_pending = max_pending
        self.thread_name = thread_name
        self.closed = False
        self._fresh()
        atexit.register(self._at_exit)
        _fresh_in_forked_children(self)

    def _fresh(self) -> None:
        """The state a new worker (or a forked child: the parent's thread does not exist there)
        starts with: an empty queue and no thread."""
        self._items: deque[Item] = deque()
        self._wake = threading.Event()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None

    # ---- request path --------------------------------------------------------------------------
    def offer(self, item: Item) -> bool:
        """Queue ``item`` for the worker; False (nothing queued) when closed or full."""
        if self.closed or len(self._items) >= self.max_pending:
            return False
        self._items.append(item)
        if self._worker is None:
            self._start_worker()
        return True

    def pending(self) -> int:
        return len(self._items)

    # ---- the thread ------------------------------------------------------------------------------
    def _start_worker(self) -> None:
        with self._start_lock:
            if self._worker is None and not self.closed:
                worker = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
                worker.start()
                self._worker = worker

    def join_worker(self, timeout: float) -> bool:
        """Wait for the thread to end (never from itself); True if it has."""
        worker = self._worker
        if worker is None or worker is threading.current_thread():
            return True
        worker.join(timeout)
        return not worker.is_alive()

    def stop_exit_hook(self) -> None:
        atexit.unregister(self._at_exit)

    @abstractmethod
    def _run(self) -> None:
        """The thread's body; returns when the worker is closed."""

    @abstractmethod
    def _at_exit(self) -> None:
        """At interpreter exit: handle what is queued."""

    def _after_fork(self) -> None:
        self._fresh()


def _fresh_in_forked_children(worker: BackgroundWorker[Any]) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(worker)

    def fresh() -> None:
        alive = ref()
        if alive is not None and not alive.closed:
            alive._after_fork()

    os.register_at_fork(after_in_child=fresh)
