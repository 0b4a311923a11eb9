"""Redis round trips, counted by the real redis-server (``INFO commandstats``): one per call, spend
carried by the next check or batched by the flush, and kept (bounded, counted) while Redis is down."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import pytest
import redis
from limits_harness import limited

import llmledger
from llmledger.limits.redis_spend import SpendBufferFull
from llmledger.limits.redis_store import RedisStore
from llmledger.limits.windows import Moment

pytestmark = pytest.mark.redis

MSG = [{"role": "user", "content": "hi"}]
CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}  # gpt-4o: $0.01 per call
COST = Decimal("0.01")


# what the limit script runs inside Redis: commandstats counts those too, within the one EVALSHA
IN_SCRIPT = {"exists", "hset", "expire", "hincrby", "hmget", "zremrangebyscore", "zcard", "zrange", "zadd",
             "pexpire"}


def commands(client: redis.Redis) -> dict[str, int]:
    """Requests the server answered since the last ``CONFIG RESETSTAT``: every command but those
    the script runs inside, the test's own and the client's connection set-up."""
    stats = client.info("commandstats")
    ignored = {"cmdstat_info", "cmdstat_config|resetstat", "cmdstat_client|setinfo", "cmdstat_hello",
               *(f"cmdstat_{name}" for name in IN_SCRIPT)}
    return {name: int(stat["calls"]) for name, stat in stats.items() if name not in ignored}


def month_usd(client: redis.Redis, scope: str) -> Decimal:
    keys = client.keys(f"llmledger:limit:{scope}:m:*")
    return Decimal(int(client.hget(keys[0], "usd") or 0)) / 10**12 if keys else Decimal(0)


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_one_round_trip_per_call_the_spend_rides_on_the_next_check(fake_provider, openai_client, redis_url):
    client = redis.Redis.from_url(redis_url)
    rules = [{"customer": "trips", "usd_per_month": 5, "calls_per_minute": 1000},
             {"feature": "chat", "tokens_per_day": 10**9}]
    with limited(rules, limits_store=redis_url) as h:
        store = h.instrumentor.limits.store
        store.spend.interval_s = 60.0  # no flush during the count: every spend rides on a check
        with llmledger.customer("trips"):  # the connection is made and the script loaded
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        client.config_resetstat()
        calls = 20
        for i in range(calls):
            with llmledger.customer("trips", feature="chat" if i % 2 else None):
                openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        # one EVALSHA per call and nothing else: the checks carried the spend of the calls before
        assert commands(client) == {"cmdstat_evalsha": calls}
        assert month_usd(client, "trips") == calls * COST  # the warm-up call and 19 of the 20
        assert store.spend.pending() == 2  # the last call's spend (customer, feature) waits
        client.config_resetstat()
        store.spend.flush()  # what the worker does when no check comes within the interval
        assert commands(client) == {"cmdstat_evalsha": 1}  # 21 round trips for 20 calls and a pause
        assert month_usd(client, "trips") == (calls + 1) * COST
        (month_key,), (day_key,) = client.keys("llmledger:limit:trips:m:*"), client.keys("llmledger:limit:trips:d:*")
        assert 34 * 86_400 < client.ttl(month_key) <= 35 * 86_400 and 86_400 < client.ttl(day_key) <= 2 * 86_400
        assert store.spend.flushes == 1
        rows = {row.cap: row for row in llmledger.usage("trips")}
        assert rows["usd_per_month"].used == (calls + 1) * COST
        assert rows["calls_per_minute"].used == calls + 1
    client.close()


def test_the_flush_sends_many_calls_in_one_round_trip(redis_server, redis_url):
    client = redis.Redis.from_url(redis_url)
    store = RedisStore(redis_url, flush_interval_s=0.2)
    try:
        client.config_resetstat()
        moment = Moment.at(time.time())
        threads = [threading.Thread(target=lambda: [store.add(["batch", "batch|feature=x"], moment, 10**10, 7)
                                                    for _ in range(25)]) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert commands(client) == {}  # 100 finished calls, no round trip yet
        wait_until(lambda: store.spend.pending() == 0 and store.spend.flushes >= 1)
        time.sleep(0.3)  # nothing else is sent
        assert commands(client) == {"cmdstat_evalsha": 1}
        assert month_usd(client, "batch") == Decimal("1.00")  # 100 x 0.01
        assert month_usd(client, "batch|feature=x") == Decimal("1.00")
        keys = client.keys("llmledger:limit:batch:d:*")
        assert int(client.hget(keys[0], "tok")) == 700
    finally:
        store.close()
        client.close()


def test_spend_is_kept_while_redis_is_down_retried_bounded_and_counted(redis_server, redis_url):
    errors: list[str] = []
    store = RedisStore(redis_url, flush_interval_s=0.05, on_error=errors.append)
    store.spend.retry_s = 0.1
    moment = Moment.at(time.time())
    try:
        redis_server.stop()
        for _ in range(3):
            store.add(["down"], moment, 10**10, 1)
        wait_until(lambda: len(errors) >= 2)  # the flush failed, was counted, and was tried again
        store.spend.retry_s = 60.0  # from the next failure on, the worker waits
        failures = len(errors)
        wait_until(lambda: len(errors) > failures)
        assert set(errors) == {"send buffered spend"}
        assert store.spend.pending() == 1  # kept, merged into one entry per scope and window
        store.spend.max_pending = 2
        store.add(["other"], moment, 10**10, 1)
        with pytest.raises(SpendBufferFull):  # bounded: past max_pending a spend is dropped
            store.add(["third"], moment, 10**10, 1)
        redis_server.start()
        store.spend.flush()  # what the worker's next retry does
        assert store.spend.pending() == 0
        client = redis.Redis.from_url(redis_url)
        assert month_usd(client, "down") == Decimal("0.03")
        assert month_usd(client, "other") == Decimal("0.01")
        assert not client.keys("llmledger:limit:third:*")
        client.close()
    finally:
        if redis_server.process is None:
            redis_server.start()
        store.close()


def test_a_dropped_spend_is_counted_in_store_errors(fake_provider, openai_client, redis_server, redis_url):
    with limited([{"customer": "full", "usd_per_month": 5}], limits_store=redis_url) as h:
        store = h.instrumentor.limits.store
        store.spend.max_pending = 0  # nothing fits: every finished call's spend is dropped
        with llmledger.customer("full"):
            openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
        assert h.sum_of("llmledger.limit.store_errors") == 1
