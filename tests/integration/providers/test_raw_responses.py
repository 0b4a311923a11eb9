"""Raw responses (``with_raw_response`` / ``with_streaming_response``) of openai, anthropic and groq,
sync and async: reading the body is what records the call, one span each, priced, ending when the
body is done; a body closed or dropped unread is ``no_usage``."""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from typing import Any

import anthropic
import groq
import openai
import pydantic
import pytest

from harness import Harness
from llmledger.fake_provider import FakeProviderServer


@dataclass(frozen=True)
class Provider:
    name: str
    kwargs: dict[str, Any]
    stream_kwargs: dict[str, Any]
    cost: float

    def client(self, fake: FakeProviderServer, asynchronous: bool = False) -> Any:
        if self.name == "openai":
            cls: Any = openai.AsyncOpenAI if asynchronous else openai.OpenAI
            return cls(api_key="sk-test", base_url=fake.url + "/v1", max_retries=0)
        if self.name == "anthropic":
            cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
            return cls(api_key="x", base_url=fake.url, max_retries=0)
        cls = groq.AsyncGroq if asynchronous else groq.Groq
        return cls(api_key="x", base_url=fake.url, max_retries=0)

    def resource(self, client: Any) -> Any:
        return client.messages if self.name == "anthropic" else client.chat.completions


MSG = [{"role": "user", "content": "hi"}]
PROVIDERS = [
    # gpt-4o: 1_000 * $2.50/M + 10 * $10/M = 0.0026 (the user asks for stream usage themselves)
    Provider("openai", {"model": "gpt-4o", "messages": MSG,
                        "extra_headers": {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "10"}},
             {"stream_options": {"include_usage": True}}, 0.0026),
    # claude-haiku-4-5: 1000 * $1/M + 200 * $5/M = 0.002
    Provider("anthropic", {"model": "claude-haiku-4-5", "max_tokens": 512, "messages": MSG,
                           "extra_headers": {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"}},
             {}, 0.002),
    # llama-3.3-70b-versatile: 10000 * $0.59/M + 1000 * $0.79/M = 0.00669
    Provider("groq", {"model": "llama-3.3-70b-versatile", "messages": MSG,
                      "extra_headers": {"x-fake-input-tokens": "10000", "x-fake-output-tokens": "1000"}},
             {}, 0.00669),
]
IDS = [p.name for p in PROVIDERS]


def _one_priced_span(harness: Harness, provider: Provider, *, ended_after: int | None = None) -> Any:
    spans = harness.spans()
    assert len(spans) == 1
    attrs = spans[0].attributes
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(provider.cost)
    assert "error.type" not in attrs
    if ended_after is not None:  # the span ends when the body is done, not at the response headers
        assert spans[0].end_time >= ended_after
    return spans[0]


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_sync_raw_parse(harness: Harness, fake_provider: FakeProviderServer, provider: Provider) -> None:
    raw = provider.resource(provider.client(fake_provider)).with_raw_response.create(**provider.kwargs)
    assert raw.http_response.status_code == 200
    body = raw.parse()
    assert raw.parse() is body  # the SDK's cached object, untouched
    _one_priced_span(harness, provider)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
async def test_async_raw_parse(harness: Harness, fake_provider: FakeProviderServer, provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider, asynchronous=True))
    raw = await resource.with_raw_response.create(**provider.kwargs)
    parsed = raw.parse()
    body = await parsed if hasattr(parsed, "__await__") else parsed
    assert body.usage is not None
    _one_priced_span(harness, provider)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_raw_response_stream(harness: Harness, fake_provider: FakeProviderServer, provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider))
    raw = resource.with_raw_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs)
    assert harness.spans() == []  # the body is not read yet
    before_body = time.time_ns()
    chunks = list(raw.parse())
    assert chunks
    span = _one_priced_span(harness, provider, ended_after=before_body)
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_streaming_response_lines(harness: Harness, fake_provider: FakeProviderServer, provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider))
    with resource.with_streaming_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs) as response:
        assert harness.spans() == []
        before_body = time.time_ns()
        lines = [line for line in response.iter_lines() if line]
    assert any(line.startswith("data:") for line in lines)
    _one_priced_span(harness, provider, ended_after=before_body)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_streaming_response_bytes_and_parsed_stream(harness: Harness, fake_provider: FakeProviderServer,
                                                    provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider))
    with resource.with_streaming_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs) as response:
        body = b"".join(response.iter_bytes(7))  # pieces that split lines and events
    assert b"data:" in body
    _one_priced_span(harness, provider)
    harness.clear()
    with resource.with_streaming_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs) as response:
        assert list(response.parse())
    _one_priced_span(harness, provider)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_streaming_response_json_body(harness: Harness, fake_provider: FakeProviderServer, provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider))
    with resource.with_streaming_response.create(**provider.kwargs) as response:
        assert harness.spans() == []
        assert response.json()["usage"]
    _one_priced_span(harness, provider)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
async def test_async_streaming_response(harness: Harness, fake_provider: FakeProviderServer,
                                        provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider, asynchronous=True))
    async with resource.with_streaming_response.create(stream=True, **provider.kwargs,
                                                       **provider.stream_kwargs) as response:
        assert harness.spans() == []
        lines = [line async for line in response.iter_lines() if line]
    assert lines
    _one_priced_span(harness, provider)
    harness.clear()
    async with resource.with_streaming_response.create(stream=True, **provider.kwargs,
                                                       **provider.stream_kwargs) as response:
        assert [chunk async for chunk in await response.parse()]
    _one_priced_span(harness, provider)


@pytest.mark.parametrize("provider", PROVIDERS, ids=IDS)
def test_closed_or_dropped_unread_is_no_usage_once(harness: Harness, fake_provider: FakeProviderServer,
                                                   provider: Provider) -> None:
    resource = provider.resource(provider.client(fake_provider))
    with resource.with_streaming_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs):
        pass
    raw = resource.with_raw_response.create(stream=True, **provider.kwargs, **provider.stream_kwargs)
    raw.http_response.close()
    del raw
    gc.collect()
    spans = harness.spans()
    assert len(spans) == 2
    assert [s.attributes["llmledger.cost.status"] for s in spans] == ["no_usage", "no_usage"]
    assert all("error.type" not in s.attributes for s in spans)



class _Summary(pydantic.BaseModel):
    text: str


def test_sync_raw_structured_parse_refused_by_the_sdk_is_still_priced(harness: Harness,
                                                                       fake_provider: FakeProviderServer) -> None:
    # The fake's text is not JSON: the SDK's structured-output parser refuses it (as it refuses a reply
    # cut by max_tokens), in the user's parse() as unpatched. The tokens were billed all the same.
    client = PROVIDERS[0].client(fake_provider)
    raw = client.chat.completions.with_raw_response.parse(response_format=_Summary, **PROVIDERS[0].kwargs)
    with pytest.raises(pydantic.ValidationError):
        raw.parse()
    _one_priced_span(harness, PROVIDERS[0])
