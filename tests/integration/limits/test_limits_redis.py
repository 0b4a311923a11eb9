"""Limit windows shared through a real Redis: many processes, outages (fail open / fail closed)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import openai
import pytest
from limits_harness import limited

import llmledger
from llmledger.errors import LimitExceeded

pytestmark = pytest.mark.redis

MSG = [{"role": "user", "content": "hi"}]
CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}  # gpt-4o: $0.01 per call
PROCESSES, THREADS = 4, 8
LIMIT = Decimal("0.50")
COST = Decimal("0.01")


def chat_requests(fake_provider) -> int:
    return sum(1 for r in fake_provider.requests if r.path.endswith("/chat/completions"))


def test_four_processes_of_eight_threads_share_one_budget(fake_provider, redis_url, tmp_path):
    import redis

    start = tmp_path / "go"
    before = chat_requests(fake_provider)
    worker = Path(__file__).with_name("limits_worker.py")
    procs = [subprocess.Popen([sys.executable, str(worker), redis_url, fake_provider.url, str(LIMIT),
                               str(THREADS), str(start)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True) for _ in range(PROCESSES)]
    try:
        start.touch()
        results = [json.loads(proc.stdout.readline()) for proc in procs]  # type: ignore[union-attr]
        for proc in procs:  # all are done: every process has seen the total past the limit
            proc.stdin.write("\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        finals = [json.loads(proc.stdout.readline()) for proc in procs]  # type: ignore[union-attr]
    finally:
        for proc in procs:  # they exit after their last answer; a stuck one is killed
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert all(not r["errors"] for r in results), results
    sent = sum(r["sent"] for r in results)
    # what the provider received is exactly what the workers saw succeed
    assert chat_requests(fake_provider) - before == sent
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("llmledger:limit:shared:m:*")
    spent = Decimal(int(client.hget(keys[0], "usd"))) / 10**12
    client.close()
    assert spent == sent * COST
    # the documented bound (redis_store.py): below limit + (F + B) x C, F calls in flight and B calls
    # finished whose spend is still buffered; each thread sends its previous call's spend with its own
    # next check, so F + B <= the 32 threads (every spend is in Redis: the refused checks carried it)
    assert LIMIT <= spent < LIMIT + PROCESSES * THREADS * COST, (spent, sent)
    assert sum(r["refused_after"] for r in results) == PROCESSES * THREADS * 2
    assert finals == [{"final": "refused"}] * PROCESSES
    assert chat_requests(fake_provider) - before == sent  # nothing past the limit was sent


def test_redis_store_counts_and_reads(fake_provider, openai_client, redis_url):
    with limited([{"customer": "r", "usd_per_day": 0.02, "calls_per_minute": 5}], limits_store=redis_url):
        with llmledger.customer("r"):
            for _ in range(2):
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            with pytest.raises(LimitExceeded, match=r"usd_per_day|0\.02"):
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        rows = {row.cap: row for row in llmledger.usage("r")}
    assert str(rows["usd_per_day"].used) == "0.02" and rows["calls_per_minute"].used == 2


def test_fail_open_when_redis_stops(fake_provider, openai_client, redis_server, redis_url, caplog):
    import redis

    with limited([{"customer": "o", "usd_per_month": 0.015}], limits_store=redis_url) as h, llmledger.customer("o"):
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        redis_server.stop()
        before = chat_requests(fake_provider)
        with caplog.at_level(logging.WARNING, logger="llmledger.limits"):
            for _ in range(3):  # over the limit, but the store cannot say so: fail open
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        assert chat_requests(fake_provider) - before == 3
        assert h.sum_of("llmledger.limit.store_errors") >= 3
        assert len([r for r in caplog.records if "limit store" in r.getMessage()]) == 1
        assert h.instrumentor.limits.store.spend.pending() >= 1  # the spend is kept, not lost
        redis_server.start()  # empty again, but the buffered spend of all four calls reaches it
        h.instrumentor.limits._down_until = 0.0  # do not wait out the one-second pause
        with pytest.raises(LimitExceeded) as raised:
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        assert raised.value.used == 4 * COST
    client = redis.Redis.from_url(redis_url)
    keys = client.keys("llmledger:limit:o:m:*")
    assert Decimal(int(client.hget(keys[0], "usd"))) / 10**12 == 4 * COST
    client.close()


def test_fail_closed_refuses_while_redis_is_down(fake_provider, openai_client: openai.OpenAI, redis_server,
                                                 redis_url):
    with limited([{"customer": "f", "usd_per_month": 5}], limits_store=redis_url,
                 limits_fail_closed=True) as h:
        with llmledger.customer("f"):
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            redis_server.stop()
            before = chat_requests(fake_provider)
            with pytest.raises(LimitExceeded) as raised:
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            assert raised.value.window == "store" and raised.value.used is None
            assert chat_requests(fake_provider) == before
            assert h.spans()[-1].attributes["error.type"] == "LimitExceeded"
        with llmledger.customer("nobody-limits-me"):  # no rule applies: not refused
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        redis_server.start()
