"""The ledger sink: receives every finished call and writes it to the ledger, off the request path.

``on_record`` only appends to a bounded in-memory queue (a lock, an append: about a microsecond);
when the queue is full the record is dropped and counted (``llmledger.records.dropped``,
``reason=ledger_queue_full``) rather than slowing the application. One daemon thread turns records
into rows and inserts them in batches: when a batch is full, every ``flush_interval`` seconds, on
``flush()`` and at ``close()`` (also registered with ``atexit``, so a normal interpreter exit
writes everything). If the database is unreachable the worker keeps the records queued and retries
with a growing pause; a batch the database rejects is retried row by row so that one bad row does
not lose its neighbours. After ``fork()`` the child starts its own worker and connection.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import Any

from llmledger.ledger.schema import LedgerRow, row_from_record
from llmledger.ledger.store import LedgerStore, scrub
from llmledger.usage import CallRecord

logger = logging.getLogger("llmledger.ledger")

_RETRY_MIN_S, _RETRY_MAX_S = 0.5, 30.0
_WARN_EVERY_S = 60.0


class LedgerSink:
    """A RecordSink writing to a LedgerStore. ``connect`` opens a new store (used again to
    reconnect); ``store`` is an already open one to start with."""

    def __init__(self, connect: Callable[[], LedgerStore], *, store: LedgerStore | None = None,
                 description: str = "ledger", service_name: str | None = None,
                 max_queue: int = 10_000, batch_size: int = 500, flush_interval: float = 1.0,
                 url: str = "") -> None:
        self._connect = connect
        self._url = url
        """The ledger's URL as configured: its credentials are masked in every warning."""
        self._store = store
        self.description = description
        self.service_name = service_name
        self.max_queue = max_queue
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self._telemetry: Any = None
        self.dropped: dict[str, int] = {}
        """Records dropped so far, by reason (also exported as ``llmledger.records.dropped``)."""
        self._last_warning: dict[str, float] = {}
        self._accounting = threading.Lock()
        self._start()
        atexit.register(self.close)
        _forked_children_restart(self)

    def _start(self) -> None:
        self._cond = threading.Condition()
        self._pending: deque[CallRecord] = deque()
        self._accepted = 0
        self._done = 0
        self._flush_wanted = False
        self._closing = False
        self._closed = False
        self._worker = threading.Thread(target=self._run, name="llmledger-ledger", daemon=True)
        self._worker.start()

    def bind_telemetry(self, telemetry: Any) -> None:
        """Count drops on ``telemetry`` and take the service name from its tracer's resource."""
        self._telemetry = telemetry
        if self.service_name is None:
            resource = getattr(getattr(telemetry, "tracer", None), "resource", None)
            name = getattr(resource, "attributes", {}).get("service.name")
            self.service_name = str(name) if name else None

    # ---- request path --------------------------------------------------------------------------
    def on_record(self, record: CallRecord) -> None:
        with self._cond:
            if self._closed:
                reason = "ledger_closed"
            elif len(self._pending) >= self.max_queue:
                reason = "ledger_queue_full"
            else:
                self._pending.append(record)
                self._accepted += 1
                if len(self._pending) >= self.batch_size:
                    self._cond.notify()
                return
        self._drop(reason, 1)

    # ---- flush and close ---------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> bool:
        """Write everything accepted so far; False if that did not finish within ``timeout``."""
        with self._cond:
            target = self._accepted
            self._flush_wanted = True
            self._cond.notify_all()
            return self._cond.wait_for(
                lambda: self._done >= target or not self._worker.is_alive(), timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, stop the worker and close the database. Safe to call twice."""
        with self._cond:
            if self._closed:
                return
            self._closing = True
            self._cond.notify_all()
        self._worker.join(timeout)
        with self._cond:
            self._closed = True
            left = len(self._pending)
            self._pending.clear()
        atexit.unregister(self.close)
        if left:
            self._drop("ledger_unavailable", left)
        if self._worker.is_alive():
            return  # stuck in the database: leave its connection to the end of the process
        if self._store is not None:
            try:
                self._store.close()
            except Exception:
                logger.debug("llmledger: closing the ledger failed", exc_info=True)
            self._store = None

    # ---- worker ------------------------------------------------------------------------------
    def _run(self) -> None:
        retry_pause = _RETRY_MIN_S
        while True:
            with self._cond:
                self._cond.wait_for(lambda: len(self._pending) >= self.batch_size or self._flush_wanted
                                    or self._closing, self.flush_interval)
                if not self._pending:
                    self._flush_wanted = False
                    if self._closing:
                        return
                    continue
                batch = [self._pending.popleft() for _ in range(min(self.batch_size, len(self._pending)))]
            if self._ensure_store() and self._write(batch):
                retry_pause = _RETRY_MIN_S
                with self._cond:
                    self._done += len(batch)
                    self._cond.notify_all()
                continue
            # The database is unreachable: keep the records (oldest first) and wait.
            with self._cond:
                if self._closing:  # give up at shutdown rather than hang the exit
                    self._done += len(batch)
                    self._cond.notify_all()
                    dropped = len(batch)
                else:
                    self._pending.extendleft(reversed(batch))
                    self._cond.wait(retry_pause)
                    dropped = 0
            if dropped:
                self._drop("ledger_unavailable", dropped)
            retry_pause = min(retry_pause * 2, _RETRY_MAX_S)

    def _ensure_store(self) -> bool:
        if self._store is not None:
            return True
        try:
            self._store = self._connect()
            return True
        except Exception as exc:
            self._warn("unavailable", "llmledger: cannot reach the ledger %s (%s); records are kept "
                       "in memory (up to %d) and retried", self.description, scrub(exc, self._url),
                       self.max_queue)
            return False

    def _write(self, batch: list[CallRecord]) -> bool:
        """Insert the batch; False when the database became unreachable (the batch is kept)."""
        rows: list[LedgerRow] = []
        for record in batch:
            try:
                rows.append(row_from_record(record, self.service_name))
            except Exception:
                logger.debug("llmledger: cannot turn a call into a ledger row", exc_info=True)
                self._drop("ledger_bad_record", 1)
        if not rows or self._insert(rows):
            return True
        # The batch failed: perhaps the connection dropped. Reconnect, then retry row by row so
        # that one row the database rejects does not take its batch with it.
        self._reset_store()
        if not self._ensure_store():
            return False
        failed = sum(0 if self._insert([row]) else 1 for row in rows)
        if failed:
            self._drop("ledger_write_failed", failed)
        return True

    def _insert(self, rows: list[LedgerRow]) -> bool:
        store = self._store
        if store is None:
            return False
        try:
            store.insert(rows)
            return True
        except Exception as exc:
            self._warn("write", "llmledger: writing %d call(s) to the ledger %s failed: %s",
                       len(rows), self.description, scrub(exc, self._url))
            return False

    def _reset_store(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            try:
                store.close()
            except Exception:
                logger.debug("llmledger: closing a failed ledger connection failed", exc_info=True)

    # ---- accounting ----------------------------------------------------------------------------
    def _drop(self, reason: str, count: int) -> None:
        with self._accounting:  # the request path and the worker both drop
            self.dropped[reason] = total = self.dropped.get(reason, 0) + count
        if self._telemetry is not None:
            try:
                self._telemetry.record_dropped(reason, count)
            except Exception:
                logger.debug("llmledger: could not count dropped records", exc_info=True)
        self._warn(reason, "llmledger: dropped %d call record(s) (%s); %d dropped so far",
                   count, reason, total)

    def _warn(self, key: str, message: str, *args: object) -> None:
        """Log a warning at most once a minute per kind: a flood must not flood the log."""
        now = time.monotonic()
        if now - self._last_warning.get(key, -_WARN_EVERY_S) >= _WARN_EVERY_S:
            self._last_warning[key] = now
            logger.warning(message, *args)

    def _after_fork(self) -> None:
        # The parent's thread does not exist in the child, and the parent's connection must be
        # neither used nor closed here (closing a PostgreSQL connection would end the parent's
        # session): keep it referenced, unclosed, and open a new one.
        self._inherited_store, self._store = self._store, None
        self._start()


def _forked_children_restart(sink: LedgerSink) -> None:
    if not hasattr(os, "register_at_fork"):
        return
    ref = weakref.ref(sink)

    def restart() -> None:
        alive = ref()
        if alive is not None and not alive._closed:
            alive._after_fork()

    os.register_at_fork(after_in_child=restart)
