"""A Celery app for the propagation tests: its task makes a real openai call against the fake
provider. Imported by the test (publisher side) and by the worker process the test starts, where
llmledger is instrumented too and every finished call is appended to a JSON-lines file."""

from __future__ import annotations

import json
import os
import threading

from celery import Celery, signals

import llmledger

app = Celery("llmledger_tests", broker=os.environ.get("LLMLEDGER_TEST_BROKER", "memory://"),
             backend=os.environ.get("LLMLEDGER_TEST_BACKEND", "cache+memory://"))
app.conf.update(task_serializer="json", result_serializer="json", accept_content=["json"],
                worker_hijack_root_logger=False, broker_connection_retry_on_startup=True)


class JsonLinesSink:
    """A RecordSink: one line per finished LLM call with its customer and cost."""

    def __init__(self, path: str) -> None:
        self._path, self._lock = path, threading.Lock()

    def on_record(self, record) -> None:
        customer = record.customer
        line = {"customer": customer.id if customer else None, "plan": customer.plan if customer else None,
                "cost_status": record.cost.status,
                "cost": str(record.cost.total) if record.cost.total is not None else None}
        with self._lock, open(self._path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line) + "\n")


@signals.worker_init.connect
def _instrument_worker(**_: object) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.trace import TracerProvider

    from llmledger.config import load_config

    config = load_config(None, env={}, endpoints={"127.0.0.1": "openai"})  # the fake answers as OpenAI
    llmledger.instrument(tracer_provider=TracerProvider(), meter_provider=MeterProvider(),
                         config=config, sinks=[JsonLinesSink(os.environ["LLMLEDGER_TEST_RECORDS"])])


@app.task(name="summarise")
def summarise(tag: str) -> dict[str, object]:
    import openai

    client = openai.OpenAI(base_url=os.environ["LLMLEDGER_TEST_FAKE_URL"] + "/v1", api_key="sk-test",
                           max_retries=0)
    result = client.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": f"Summarise {tag}"}],
        extra_headers={"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"})
    seen = llmledger.current_customer()
    return {"tag": tag, "text": result.choices[0].message.content,
            "customer": seen.id if seen else None, "plan": seen.plan if seen else None}
