"""MetricQueue: every item handled exactly once, by the worker, a drain, or a caller when full."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from llmledger.metric_queue import MetricQueue


class Collected:
    def __init__(self) -> None:
        self.items: list[int] = []
        self.threads: set[str] = set()
        self.lock = threading.Lock()
        self.got = threading.Condition(self.lock)

    def __call__(self, item: int) -> None:
        with self.got:
            self.items.append(item)
            self.threads.add(threading.current_thread().name)
            self.got.notify_all()

    def wait_for(self, count: int) -> bool:
        with self.got:
            return self.got.wait_for(lambda: len(self.items) >= count, timeout=30)


def test_the_worker_handles_items_without_any_drain() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen)
    for i in range(100):
        queue.submit(i)
    assert seen.wait_for(100)
    assert sorted(seen.items) == list(range(100))
    assert seen.threads == {"llmledger-metrics"}
    queue.close()


def test_drain_returns_after_everything_submitted_before_it_is_handled() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen)
    queue._start_worker = lambda: None  # type: ignore[method-assign]  # no worker: only drain can help
    for i in range(50):
        queue.submit(i)
    assert seen.items == []
    queue.drain()
    assert seen.items == list(range(50))
    assert queue.pending() == 0


def test_concurrent_submitters_and_drains_handle_each_item_exactly_once() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen, max_pending=500)  # small: some callers go inline
    per_thread, threads = 5_000, 6

    def submit(base: int) -> None:
        for i in range(per_thread):
            queue.submit(base + i)
            if i % 997 == 0:
                queue.drain()

    workers = [threading.Thread(target=submit, args=(t * per_thread,)) for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    queue.drain()
    assert len(seen.items) == per_thread * threads
    assert sorted(seen.items) == list(range(per_thread * threads))
    queue.close()


def test_a_full_queue_is_handled_by_the_caller_never_dropped() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen, max_pending=3)
    queue._start_worker = lambda: None  # type: ignore[method-assign]
    for i in range(5):
        queue.submit(i)
    assert seen.items == [3, 4]  # handled at once, on the caller's thread
    assert seen.threads == {threading.current_thread().name}
    queue.drain()
    assert sorted(seen.items) == [0, 1, 2, 3, 4]


def test_a_failing_handler_is_logged_and_the_worker_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    seen = Collected()

    def handle(item: int) -> None:
        if item == 1:
            raise ValueError("broken record")
        seen(item)

    queue: MetricQueue[int] = MetricQueue(handle)
    with caplog.at_level(logging.DEBUG, logger="llmledger.telemetry"):
        for i in range(3):
            queue.submit(i)
        queue.drain()
        assert seen.wait_for(2)
    assert sorted(seen.items) == [0, 2]
    assert any("could not record metrics" in r.message for r in caplog.records)
    queue.close()


def test_close_handles_what_is_queued_stops_the_worker_then_callers_handle_their_own() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen)
    for i in range(10):
        queue.submit(i)
    worker = queue._worker
    queue.close()
    assert sorted(seen.items) == list(range(10))
    assert worker is not None and not worker.is_alive()
    queue.submit(10)
    assert seen.items[-1] == 10 and queue.pending() == 0
    queue.close()  # twice is fine


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_child_starts_empty_and_records_its_own_items() -> None:
    seen = Collected()
    queue: MetricQueue[int] = MetricQueue(seen)
    queue._start_worker = lambda: None  # type: ignore[method-assign]  # keep the parent's items queued
    queue.submit(1)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what it would handle, then leave without cleanup
        try:
            pending_at_fork = queue.pending()
            queue.submit(2)
            queue.drain()
            os.write(write_end, f"{pending_at_fork} {sorted(seen.items)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        report = pipe.read()
    os.waitpid(pid, 0)
    assert report == "0 [2]"
    queue.drain()
    assert seen.items == [1]  # the parent's item, once, in the parent
