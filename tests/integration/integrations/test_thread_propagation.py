"""The customer follows work into ThreadPoolExecutor (submit, map, run_in_executor) and
threading.Thread: real openai SDK calls against the fake provider, checked span by span."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

import llmledger
from harness import instrumented
from llmledger.config import Config

MSG = [{"role": "user", "content": "Summarise this document."}]
HEADERS = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
GPT4O_COST = 0.135  # 50_000 * $2.50/M + 1_000 * $10/M


def _call(client, tag: str = "") -> str:
    result = client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=HEADERS)
    return tag + (result.choices[0].message.content or "")


def _customers(harness) -> list[str | None]:
    return sorted((dict(s.attributes).get("customer.id") or "") for s in harness.spans())


def _assert_priced(harness) -> None:
    for span in harness.spans():
        assert dict(span.attributes)["gen_ai.usage.cost"] == pytest.approx(GPT4O_COST, abs=1e-9)


def test_executor_submit_carries_the_customer(harness, openai_client):
    with ThreadPoolExecutor(max_workers=2) as pool, llmledger.customer("cust-pool", plan="pro"):
        result = pool.submit(_call, openai_client, "r:").result()
    assert result == "r:Hello from the fake provider."
    span = harness.span()
    assert dict(span.attributes)["customer.id"] == "cust-pool"
    assert dict(span.attributes)["customer.plan"] == "pro"
    _assert_priced(harness)


def test_executor_map_carries_the_customer_to_every_item(harness, openai_client):
    with ThreadPoolExecutor(max_workers=3) as pool, llmledger.customer("cust-map"):
        results = list(pool.map(lambda tag: _call(openai_client, tag), ["a", "b", "c", "d"]))
    assert [r[0] for r in results] == ["a", "b", "c", "d"]
    assert _customers(harness) == ["cust-map"] * 4
    _assert_priced(harness)


def test_thread_started_in_a_scope_runs_under_its_customer(harness, openai_client):
    out: list[str] = []
    with llmledger.customer("cust-thread"):
        thread = threading.Thread(target=lambda: out.append(_call(openai_client)))
        thread.start()
    thread.join()
    assert out == ["Hello from the fake provider."]
    assert _customers(harness) == ["cust-thread"]


def test_thread_created_outside_but_started_inside_takes_the_starters_customer(harness, openai_client):
    thread = threading.Thread(target=_call, args=(openai_client,))
    with llmledger.customer("cust-starter"):
        thread.start()
    thread.join()
    assert _customers(harness) == ["cust-starter"]


async def test_run_in_executor_carries_the_customer(harness, openai_client):
    loop = asyncio.get_running_loop()
    async with llmledger.customer("cust-exec"):
        default = await loop.run_in_executor(None, _call, openai_client)
        with ThreadPoolExecutor(max_workers=1) as pool:
            own = await loop.run_in_executor(pool, _call, openai_client)
    assert default == own == "Hello from the fake provider."
    assert _customers(harness) == ["cust-exec", "cust-exec"]


def test_pool_threads_do_not_keep_the_customer_that_spawned_them(harness, openai_client):
    with ThreadPoolExecutor(max_workers=1) as pool:
        with llmledger.customer("cust-first"):
            pool.submit(_call, openai_client).result()  # spawns the only worker thread
        pool.submit(_call, openai_client).result()  # no scope: must stay unattributed
        with llmledger.customer("cust-second"):
            pool.submit(_call, openai_client).result()
    customers = [dict(s.attributes).get("customer.id") for s in harness.spans()]
    assert customers == ["cust-first", None, "cust-second"]


def test_interleaved_customers_on_one_worker_each_get_their_own(harness, openai_client):
    with ThreadPoolExecutor(max_workers=1) as pool:
        futures = []
        for index in range(6):
            with llmledger.customer(f"cust-{index % 3}"):
                futures.append(pool.submit(_call, openai_client))
        for future in futures:
            future.result()
    customers = [dict(s.attributes).get("customer.id") for s in harness.spans()]
    assert customers == [f"cust-{i % 3}" for i in range(6)]


def test_only_the_customer_travels_not_the_callers_context(harness, openai_client):
    import contextvars

    other: contextvars.ContextVar[str | None] = contextvars.ContextVar("app_var", default=None)
    other.set("caller-only")
    seen: list[object] = []
    with ThreadPoolExecutor(max_workers=1) as pool, llmledger.customer("cust-only"):
        pool.submit(lambda: seen.append((other.get(), llmledger.current_customer().id))).result()
    assert seen == [(None, "cust-only")]


def test_propagate_to_threads_false_turns_it_off(openai_client):
    original_submit = ThreadPoolExecutor.submit
    with instrumented(Config(propagate_to_threads=False)) as harness:
        assert ThreadPoolExecutor.submit is original_submit
        with ThreadPoolExecutor(max_workers=1) as pool, llmledger.customer("cust-off"):
            pool.submit(_call, openai_client).result()
        assert [dict(s.attributes).get("customer.id") for s in harness.spans()] == [None]


def test_uninstrument_restores_the_originals(openai_client):
    originals = (ThreadPoolExecutor.submit, threading.Thread.start, threading.Thread._bootstrap_inner)
    with instrumented():
        assert ThreadPoolExecutor.submit is not originals[0]
        assert threading.Thread.start is not originals[1]
    assert (ThreadPoolExecutor.submit, threading.Thread.start,
            threading.Thread._bootstrap_inner) == originals


def test_wrap_carries_the_customer_by_hand(openai_client):
    with instrumented(Config(propagate_to_threads=False)) as harness:
        with llmledger.customer("cust-wrapped"):
            bound = llmledger.wrap(_call)
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert pool.submit(bound, openai_client).result() == "Hello from the fake provider."
        assert [dict(s.attributes).get("customer.id") for s in harness.spans()] == ["cust-wrapped"]
        assert llmledger.current_customer() is None


async def test_wrap_on_a_coroutine_function(openai_aclient):
    async def call() -> str:
        result = await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG,
                                                              extra_headers=HEADERS)
        return result.choices[0].message.content or ""

    with instrumented() as harness:
        with llmledger.customer("cust-async-wrap"):
            bound = llmledger.wrap(call)
        assert await bound() == "Hello from the fake provider."
        assert [dict(s.attributes).get("customer.id") for s in harness.spans()] == ["cust-async-wrap"]
