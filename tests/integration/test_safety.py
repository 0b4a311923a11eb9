"""llmledger's own failures never reach the caller; the SDK's failures reach it unchanged."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType

import openai
import pytest

import llmledger
from llmledger.instrumentation.providers.openai import ADAPTER, ChatStreamHandler
from llmledger.pricing import Pricer
from llmledger.telemetry import Telemetry

MSG = [{"role": "user", "content": "hi"}]


class Boom(Exception):
    pass


def boom(*args, **kwargs):
    raise Boom("llmledger bug")


@pytest.fixture()
def client(openai_client):
    return openai_client


@pytest.fixture()
def aclient(openai_aclient):
    return openai_aclient


BROKEN_PARTS = [
    (type(ADAPTER), "request_info"),
    (type(ADAPTER), "response_info"),
    (Pricer, "price"),
    (Telemetry, "start_span"),
    (Telemetry, "_finish_span"),
    (Telemetry, "_record_metrics"),
    (Telemetry, "_record_customer_metrics"),
]


@pytest.mark.parametrize(("owner", "name"), BROKEN_PARTS, ids=[n for _, n in BROKEN_PARTS])
def test_internal_failure_never_reaches_the_caller(harness, client, monkeypatch, owner, name):
    monkeypatch.setattr(owner, name, boom)
    result = client.chat.completions.create(model="gpt-4o", messages=MSG)
    assert result.choices[0].message.content == "Hello from the fake provider."
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    assert [c.choices[0].delta.content for c in chunks] == ["", "Hello", " from", " the", None]


@pytest.mark.parametrize("name", ["on_chunk", "result"])
def test_stream_handler_failure_never_reaches_the_caller(harness, client, monkeypatch, name):
    monkeypatch.setattr(ChatStreamHandler, name, boom)
    chunks = list(client.chat.completions.create(model="gpt-4o", messages=MSG, stream=True))
    # the usage-only chunk llmledger asked for may show once its handler is gone; content is intact
    assert [c.choices[0].delta.content for c in chunks if c.choices] == ["", "Hello", " from", " the", None]
    assert len(harness.spans()) == 1


def test_failing_sink_never_reaches_the_caller(harness, client, monkeypatch):
    monkeypatch.setattr(harness, "on_record", boom)
    assert client.chat.completions.create(model="gpt-4o", messages=MSG).id.startswith("chatcmpl-")
    assert len(harness.spans()) == 1


def test_internal_failure_async(harness, aclient, monkeypatch):
    monkeypatch.setattr(Pricer, "price", boom)
    monkeypatch.setattr(type(ADAPTER), "response_info", boom)

    async def run():
        return await aclient.chat.completions.create(model="gpt-4o", messages=MSG)
    assert asyncio.run(run()).choices[0].message.content == "Hello from the fake provider."


def test_sdk_exception_passes_unchanged(harness, client):
    with pytest.raises(openai.RateLimitError) as raised:
        client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"x-fake-status": "429"})
    assert type(raised.value) is openai.RateLimitError
    assert raised.value.status_code == 429
    # the traceback ends in the SDK's own files, not in llmledger's wrapper; compared as package
    # directories, so a clone (and its .venv) in a folder named "llmledger" changes nothing
    last = Path(raised.traceback[-1].path).resolve()
    assert last.is_relative_to(package_dir(openai)), last
    assert not last.is_relative_to(package_dir(llmledger)), last
    # llmledger's wrapper was on the way (the call was instrumented), just not where it ended
    assert any(Path(entry.path).resolve().is_relative_to(package_dir(llmledger)) for entry in raised.traceback)


def package_dir(module: ModuleType) -> Path:
    assert module.__file__ is not None
    return Path(module.__file__).resolve().parent


def test_sdk_validation_error_before_request_passes_unchanged(harness, client):
    with pytest.raises(TypeError):
        client.chat.completions.create(messages=MSG)  # model missing: the SDK's own TypeError
