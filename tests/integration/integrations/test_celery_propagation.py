"""Celery: a task published inside a customer scope runs under that customer in a real worker
process (started here) over a real Redis broker; the customer travels only as llmledger's own task
header, restored and reset around each task by Celery's signals."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

import llmledger
from harness import instrumented
from llmledger.config import Config
from llmledger.integrations.celery import HEADER

APPS = Path(__file__).resolve().parents[1] / "apps"
GPT4O_COST = Decimal("0.135")  # 50_000 * $2.50/M + 1_000 * $10/M


@pytest.fixture(scope="module")
def worker(redis_url: str, fake_provider, tmp_path_factory) -> Iterator[tuple[object, Path]]:
    records = tmp_path_factory.mktemp("celery") / "records.jsonl"
    env = {**os.environ, "LLMLEDGER_TEST_BROKER": redis_url + "/1", "LLMLEDGER_TEST_BACKEND": redis_url + "/2",
           "LLMLEDGER_TEST_RECORDS": str(records), "LLMLEDGER_TEST_FAKE_URL": fake_provider.url,
           "PYTHONPATH": os.pathsep.join([str(APPS), os.environ.get("PYTHONPATH", "")])}
    ours = ("LLMLEDGER_TEST_BROKER", "LLMLEDGER_TEST_BACKEND", "LLMLEDGER_TEST_FAKE_URL")
    saved = {key: os.environ.get(key) for key in ours}
    os.environ.update({key: env[key] for key in ours})  # the publisher side (and eager runs)
    sys.path.insert(0, str(APPS))
    celery_app = importlib.import_module("celery_app")
    log = records.with_name("worker.log")
    log_file = open(log, "wb")  # noqa: SIM115 (the worker writes it until the end)
    # A thread pool: several tasks of different customers run at once on reused threads.
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "celery_app", "worker", "--pool=threads", "-c", "3",
         "--without-mingle", "--without-gossip", "--without-heartbeat", "-l", "info",
         "-n", f"llmledger-{uuid.uuid4().hex[:8]}@127.0.0.1"],
        cwd=APPS, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 240  # a loaded 2-core CI machine can take minutes to import
        while b"ready." not in log.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail("the Celery worker did not start:\n" + log.read_text(errors="replace"),
                            pytrace=False)
            time.sleep(0.2)
        yield celery_app, records
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log_file.close()
        sys.path.remove(str(APPS))
        sys.modules.pop("celery_app", None)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _records(path: Path, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while True:
        lines = path.read_text().splitlines() if path.exists() else []
        if len(lines) >= count or time.monotonic() > deadline:
            path.write_text("")
            return [json.loads(line) for line in lines]
        time.sleep(0.1)


def test_tasks_run_under_the_customer_they_were_published_in(harness, worker):
    celery_app, records = worker
    results = []
    for index in range(6):
        with llmledger.customer(f"cust-{index % 3}", plan="pro"):
            results.append((f"cust-{index % 3}", celery_app.summarise.delay(f"doc-{index}")))
    results.append((None, celery_app.summarise.delay("doc-unscoped")))
    for expected, result in results:
        answer = result.get(timeout=120)
        assert answer["customer"] == expected, answer
        assert answer["plan"] == ("pro" if expected else None)
        assert answer["text"] == "Hello from the fake provider."
    seen = _records(records, 7)
    assert sorted(str(r["customer"]) for r in seen) == sorted(str(e) for e, _ in results)
    assert {Decimal(str(r["cost"])) for r in seen} == {GPT4O_COST}
    assert all(r["cost_status"] == "priced" for r in seen)


def test_the_customer_travels_in_llmledgers_own_header(harness, worker):
    celery_app, records = worker
    published: list[dict[str, object]] = []

    from celery import signals

    def spy(headers=None, **_):
        published.append(dict(headers or {}))

    signals.before_task_publish.connect(spy, weak=False)
    try:
        with llmledger.customer("cust-header", plan="team", feature="digest"):
            assert celery_app.summarise.delay("x").get(timeout=120)["customer"] == "cust-header"
        assert celery_app.summarise.delay("y").get(timeout=120)["customer"] is None
    finally:
        signals.before_task_publish.disconnect(spy)
    _records(records, 2)
    assert published[0][HEADER] == {"id": "cust-header", "plan": "team", "feature": "digest",
                                    "user": None, "attrs": []}
    assert HEADER not in published[1]


def test_propagate_to_celery_false_sends_no_customer(worker):
    celery_app, records = worker
    with instrumented(Config(propagate_to_celery=False)), llmledger.customer("cust-off"):
        assert celery_app.summarise.delay("z").get(timeout=120)["customer"] is None
    assert [r["customer"] for r in _records(records, 1)] == [None]


def test_eager_tasks_keep_the_callers_customer(harness, worker):
    celery_app, _ = worker
    with llmledger.customer("cust-eager"):
        assert celery_app.summarise.apply(args=("e",)).get()["customer"] == "cust-eager"
    assert [dict(s.attributes).get("customer.id") for s in harness.spans()] == ["cust-eager"]
