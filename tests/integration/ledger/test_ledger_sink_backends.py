"""The ledger sink on SQLite and PostgreSQL: off the request path, bounded, batched, never lossy
on a clean exit, and fed by real SDK calls through ``llmledger.init(ledger=...)``."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from ledger_testdata import at, fetch_one, make_record
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmledger
from harness import Harness
from llmledger.fake_provider import FakeProviderServer
from llmledger.ledger import Filters, Grouping, GroupTotals, LedgerSink, LedgerStore, open_store
from llmledger.ledger.schema import LedgerRow


class WatchedStore(LedgerStore):
    """A real store whose inserts can be held back, observed, or made to reject some rows."""

    def __init__(self, inner: LedgerStore, *, gate: threading.Event | None = None,
                 reject: Callable[[LedgerRow], bool] | None = None) -> None:
        self.inner, self.gate, self.reject = inner, gate, reject
        self.description = inner.description
        self.batches: list[int] = []
        self.inserting = threading.Event()

    def insert(self, rows: Sequence[LedgerRow]) -> None:
        self.inserting.set()
        if self.gate is not None:
            assert self.gate.wait(30), "the test never opened the gate"
        if self.reject is not None and any(self.reject(row) for row in rows):
            raise ValueError("the database rejected a row")
        self.batches.append(len(rows))
        self.inner.insert(rows)

    def aggregate(self, grouping: Grouping, filters: Filters) -> list[GroupTotals]:
        return self.inner.aggregate(grouping, filters)

    def time_range(self, filters: Filters) -> tuple[datetime, datetime] | None:
        return self.inner.time_range(filters)

    def schema_version(self) -> int:
        return self.inner.schema_version()

    def count(self) -> int:
        return self.inner.count()

    def close(self) -> None:
        self.inner.close()


def _count(url: str) -> int:
    with open_store(url) as store:
        return store.count()


def test_a_full_queue_drops_and_counts_instead_of_blocking(ledger_url: str, harness: Harness) -> None:
    gate = threading.Event()
    store = WatchedStore(open_store(ledger_url), gate=gate)
    sink = LedgerSink(lambda: store, store=store, max_queue=5, batch_size=2, flush_interval=0.01)
    sink.bind_telemetry(harness.instrumentor.telemetry)
    try:
        sink.on_record(make_record(at("2026-10-01")))
        assert store.inserting.wait(10)  # the worker holds that record, stuck in the database
        for _ in range(10):  # returns at once although nothing can be written
            sink.on_record(make_record(at("2026-10-01")))
        assert sink.dropped == {"ledger_queue_full": 5}
        assert harness.sum_of("llmledger.records.dropped", reason="ledger_queue_full") == 5
    finally:
        gate.set()
        sink.close()
    assert _count(ledger_url) == 1 + 5


def test_rows_are_written_in_bounded_batches(ledger_url: str) -> None:
    store = WatchedStore(open_store(ledger_url))
    sink = LedgerSink(lambda: store, store=store, batch_size=50, flush_interval=3600)
    for _ in range(120):
        sink.on_record(make_record(at("2026-10-01")))
    assert sink.flush(timeout=30)
    assert _count(ledger_url) == 120  # visible after flush, before close
    assert sum(store.batches) == 120 and max(store.batches) <= 50 and len(store.batches) >= 3
    sink.close()


def test_close_writes_everything_queued_then_refuses(ledger_url: str, harness: Harness) -> None:
    sink = LedgerSink(lambda: open_store(ledger_url), store=open_store(ledger_url), batch_size=1_000,
                      flush_interval=3600)  # neither a full batch nor the timer would write them
    sink.bind_telemetry(harness.instrumentor.telemetry)
    for hour in range(7):
        sink.on_record(make_record(at("2026-10-01", hour)))
    sink.close()
    sink.close()  # twice is fine
    assert _count(ledger_url) == 7
    sink.on_record(make_record(at("2026-10-02")))
    assert sink.dropped == {"ledger_closed": 1}
    assert harness.sum_of("llmledger.records.dropped", reason="ledger_closed") == 1


def test_an_unreachable_database_keeps_records_until_it_is_back(ledger_url: str) -> None:
    attempts: list[int] = []

    def connect() -> LedgerStore:
        attempts.append(1)
        if len(attempts) <= 2:
            raise ConnectionError("database starting up")
        return open_store(ledger_url)

    sink = LedgerSink(connect, batch_size=10, flush_interval=0.01)
    for _ in range(25):
        sink.on_record(make_record(at("2026-10-01")))
    assert sink.flush(timeout=30)
    sink.close()
    assert len(attempts) == 3
    assert sink.dropped == {}
    assert _count(ledger_url) == 25


def test_a_rejected_row_does_not_lose_its_batch(ledger_url: str) -> None:
    store = WatchedStore(open_store(ledger_url), reject=lambda row: row.customer_id == "poison")
    sink = LedgerSink(lambda: WatchedStore(open_store(ledger_url), reject=store.reject), store=store,
                      batch_size=100, flush_interval=3600)
    for name in ("a", "b", "poison", "c"):
        sink.on_record(make_record(at("2026-10-01"), customer=name))
    sink.close()
    assert sink.dropped == {"ledger_write_failed": 1}
    with open_store(ledger_url) as reader:
        customers = {g.key[0] for g in reader.aggregate("customer", Filters())}
    assert customers == {"a", "b", "c"}


def test_a_normal_exit_without_close_writes_everything(ledger_url: str) -> None:
    # atexit: an app that never calls llmledger.shutdown() loses nothing on a clean exit.
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from ledger_testdata import at, fetch_one, make_record
        from llmledger.ledger import open_ledger_sink
        sink = open_ledger_sink({ledger_url!r}, batch_size=1000, flush_interval=3600)
        for hour in range(25):
            sink.on_record(make_record(at("2026-10-01", hour % 24)))
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)
    assert _count(ledger_url) == 25


def test_two_writers_share_one_ledger(ledger_url: str) -> None:
    from llmledger.ledger import open_ledger_sink

    sinks = [open_ledger_sink(ledger_url, batch_size=25, flush_interval=0.01) for _ in range(2)]

    def write(sink: LedgerSink, name: str) -> None:
        for _ in range(200):
            sink.on_record(make_record(at("2026-10-01"), customer=name, cost="0.0125"))

    threads = [threading.Thread(target=write, args=(sink, f"c{i}")) for i, sink in enumerate(sinks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for sink in sinks:
        sink.close()
    with open_store(ledger_url) as store:
        groups = store.aggregate("customer", Filters())
    assert sorted((g.key[0], g.calls, g.cost) for g in groups) == [
        ("c0", 200, Decimal("2.5")), ("c1", 200, Decimal("2.5"))]  # 200 * 0.0125 = 2.5


def test_init_records_real_sdk_calls(ledger_url: str, fake_provider: FakeProviderServer,
                                     tmp_path: Path) -> None:
    spans = InMemorySpanExporter()
    # The app's own tracer provider: the ledger takes the service name from its resource.
    tracer_provider = TracerProvider(resource=Resource.create({"service.name": "billing-api"}))
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    config = tmp_path / "llmledger.yaml"
    # The fake provider on 127.0.0.1 answers as OpenAI: named so, as an operator names a gateway.
    config.write_text("providers: [openai]\nendpoints:\n  127.0.0.1: {provider: openai}\n")
    llmledger.init(config_file=str(config), ledger=ledger_url, tracer_provider=tracer_provider,
                   meter_provider=MeterProvider())
    try:
        client = openai.OpenAI(base_url=f"{fake_provider.url}/v1", api_key="test", max_retries=0)
        with llmledger.customer("brightline", plan="starter", feature="summarize", user="u-1"):
            client.chat.completions.create(
                model="gpt-4o", messages=[{"role": "user", "content": "summarise"}],
                extra_headers={"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000",
                               "x-fake-cached-tokens": "10000"})
            for _ in client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True,
                    extra_headers={"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"}):
                pass
            with pytest.raises(openai.RateLimitError):
                client.chat.completions.create(model="gpt-4o", messages=[],
                                               extra_headers={"x-fake-status": "429"})
    finally:
        llmledger.shutdown()  # closes the sink: every row is written
    with open_store(ledger_url) as store:
        by_model = {g.key[1]: g for g in store.aggregate("model", Filters())}
        (customer,) = store.aggregate("customer", Filters())
    # gpt-4o: 40,000 uncached * $2.50/M + 10,000 cached * $1.25/M + 1,000 * $10/M
    #       = 0.1 + 0.0125 + 0.01 = 0.1225; the 429 has no usage and no cost.
    assert by_model["gpt-4o"].cost == Decimal("0.1225")
    assert (by_model["gpt-4o"].calls, by_model["gpt-4o"].error_calls) == (2, 1)
    assert by_model["gpt-4o"].cache_read_tokens == 10_000
    # gpt-4o-mini, streamed: 1,000 * $0.15/M + 200 * $0.60/M = 0.00015 + 0.00012 = 0.00027
    assert by_model["gpt-4o-mini"].cost == Decimal("0.00027")
    assert customer.key == ("brightline", "starter") and customer.calls == 3
    trace_ids = {f"{span.context.trace_id:032x}" for span in spans.get_finished_spans()}
    assert fetch_one(ledger_url, "SELECT COUNT(DISTINCT trace_id) FROM llm_calls") == (3,)
    row = fetch_one(ledger_url, "SELECT trace_id, service_name, user_id, feature, stream FROM llm_calls "
                     "WHERE request_model = 'gpt-4o-mini'")
    assert row[0] in trace_ids
    assert row[1:4] == ("billing-api", "u-1", "summarize") and bool(row[4]) is True


@pytest.mark.postgres
def test_postgres_down_does_not_stop_the_app(postgres_server: str) -> None:
    from llmledger.ledger import open_ledger_sink

    with socket.socket() as probe:  # a local port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = open_ledger_sink(f"postgresql://postgres@127.0.0.1:{port}/nowhere", flush_interval=0.01)
    for _ in range(3):
        sink.on_record(make_record(at("2026-10-01")))  # the app goes on
    sink.close(timeout=30)
    assert sink.dropped == {"ledger_unavailable": 3}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_forked_worker_process_writes_through_its_own_connection(
        ledger_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # A pre-forking server (gunicorn --preload) calls init() in the parent, then forks workers.
    from llmledger.ledger import open_ledger_sink

    sink = open_ledger_sink(ledger_url, flush_interval=3600)
    sink.on_record(make_record(at("2026-10-01"), customer="parent"))
    assert sink.flush(timeout=30)
    pid = os.fork()
    if pid == 0:  # the child: its own worker thread and connection
        code = 1
        try:
            for _ in range(5):
                sink.on_record(make_record(at("2026-10-02"), customer="child"))
            sink.close()  # closes the child's own connection, not the parent's
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    sink.on_record(make_record(at("2026-10-03"), customer="parent"))
    sink.close()
    with open_store(ledger_url) as store:
        calls = {g.key[0]: g.calls for g in store.aggregate("customer", Filters())}
    assert calls == {"parent": 2, "child": 5}
    assert "failed" not in caplog.text  # the parent's connection survived the child
