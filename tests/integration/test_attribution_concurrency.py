"""Customer attribution holds across threads and 1,000 concurrent asyncio tasks, with real calls."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx2
import openai
import pytest

import llmledger

MSG = [{"role": "user", "content": "hi"}]


def test_threads_carry_their_own_customer(harness, fake_provider):
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    def work(customer_id: str) -> None:
        with llmledger.customer(customer_id, plan="pro"):
            for _ in range(5):
                client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                               extra_headers={"x-fake-input-tokens": "100"})

    threads = [threading.Thread(target=work, args=(f"t-{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spans = harness.spans()
    assert len(spans) == 40
    for i in range(8):
        assert sum(1 for s in spans if s.attributes["customer.id"] == f"t-{i}") == 5
        assert harness.sum_of("llmledger.customer.calls", customer__id=f"t-{i}") == 5


def test_context_copied_into_executor_threads(harness, fake_provider):
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)
    with llmledger.customer("outer"), ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(contextvars.copy_context().run, client.chat.completions.create,
                               model="gpt-4o-mini", messages=MSG) for _ in range(4)]
        for future in futures:
            future.result()
    assert {s.attributes["customer.id"] for s in harness.spans()} == {"outer"}


def test_thousand_concurrent_tasks_each_attributed_to_their_customer(harness, fake_provider):
    async def main() -> None:
        # A generous connect timeout: on a loaded 2-core machine the fake server can take longer
        # than the SDK's default 5 s to accept; attribution, not latency, is what this test checks.
        http = openai.DefaultAsyncHttpxClient(limits=httpx2.Limits(max_connections=32),
                                              timeout=httpx2.Timeout(120.0))
        client = openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0,
                                    http_client=http)

        async def one(i: int) -> None:
            with llmledger.customer(f"c-{i % 100}", plan="pro", request_no=i):
                await asyncio.sleep(0)  # interleave with the other tasks
                stream = i % 2 == 1
                result = await client.chat.completions.create(
                    model="gpt-4o-mini", messages=MSG, stream=stream,
                    extra_headers={"x-fake-input-tokens": str(1000 + i), "x-fake-output-tokens": "10"})
                if stream:
                    async for _ in result:
                        pass

        await asyncio.gather(*(one(i) for i in range(1000)))
        await client.close()

    asyncio.run(main())
    spans = harness.spans()
    assert len(spans) == 1000
    for span in spans:
        i = span.attributes["request_no"]
        assert span.attributes["customer.id"] == f"c-{i % 100}"
        assert span.attributes["gen_ai.usage.input_tokens"] == 1000 + i
    for c in range(100):
        # ten calls each; gpt-4o-mini: sum(1000+i) * $0.15/M + 10 * 10 * $0.60/M
        inputs = sum(1000 + i for i in range(c, 1000, 100))
        expected = inputs * 0.15 / 1e6 + 100 * 0.60 / 1e6
        assert harness.sum_of("llmledger.customer.cost", customer__id=f"c-{c}") == pytest.approx(expected)


def test_decorator_sync_and_async(harness, fake_provider):
    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)
    aclient = openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0)

    @llmledger.customer("dec-sync", feature="f1")
    def sync_work() -> None:
        client.chat.completions.create(model="gpt-4o-mini", messages=MSG)

    @llmledger.customer("dec-async", feature="f2")
    async def async_work() -> None:
        await aclient.chat.completions.create(model="gpt-4o-mini", messages=MSG)

    sync_work()
    asyncio.run(async_work())
    client.chat.completions.create(model="gpt-4o-mini", messages=MSG)  # outside: unattributed
    customers = [s.attributes.get("customer.id") for s in harness.spans()]
    assert customers == ["dec-sync", "dec-async", None]
    assert harness.sum_of("llmledger.customer.calls", customer__id="_unattributed") == 1
