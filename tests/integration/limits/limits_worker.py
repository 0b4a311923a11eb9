"""One process of the Redis concurrency test: THREADS threads spend one customer's budget.

Usage: python limits_worker.py REDIS_URL FAKE_URL LIMIT_USD THREADS START_FILE
Each thread calls until refused, then tries twice more (both must be refused); the process prints
a JSON line: calls sent, calls refused after the first refusal, and any unexpected error. All the
processes start together when START_FILE appears.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time

import openai
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider

import llmledger
from llmledger.config import load_config
from llmledger.instrumentation.instrumentor import LLMLedgerInstrumentor

CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}  # gpt-4o: $0.01 per call


def main() -> None:
    redis_url, fake_url, limit, threads, start_file = sys.argv[1:6]
    config = load_config(None, env={}, limits=[{"customer": "shared", "usd_per_month": limit}],
                         limits_store=redis_url, endpoints={"127.0.0.1": "openai"})
    LLMLedgerInstrumentor().instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider(),
                                       config=config)
    client = openai.OpenAI(base_url=fake_url + "/v1", api_key="x", max_retries=0)
    sent, after, errors = [0], [0], []
    lock = threading.Lock()

    def spend() -> None:
        with llmledger.customer("shared"):
            while True:
                try:
                    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                   extra_headers=CENT)
                except llmledger.LimitExceeded:
                    break
                except Exception as exc:
                    errors.append(repr(exc))
                    return
                with lock:
                    sent[0] += 1
            for _ in range(2):
                try:
                    client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                                   extra_headers=CENT)
                    errors.append("a call after a refusal was sent")
                except llmledger.LimitExceeded:
                    with lock:
                        after[0] += 1

    while not os.path.exists(start_file):
        time.sleep(0.01)
    workers = [threading.Thread(target=spend) for _ in range(int(threads))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    print(json.dumps({"sent": sent[0], "refused_after": after[0], "errors": errors}), flush=True)
    # every process has now seen the total past the limit: one more call must be refused
    sys.stdin.readline()
    with llmledger.customer("shared"):
        try:
            client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers=CENT)
            print(json.dumps({"final": "sent"}), flush=True)
        except llmledger.LimitExceeded:
            print(json.dumps({"final": "refused"}), flush=True)


if __name__ == "__main__":
    main()
