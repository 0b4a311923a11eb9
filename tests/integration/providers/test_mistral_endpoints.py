"""mistralai FIM, agents, embeddings and the Azure / Vertex AI (GCP) clients, against the fake."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from mistralai.azure.client import MistralAzure
from mistralai.client import Mistral
from mistralai.gcp.client import MistralGCP

import llmledger
from harness import Harness
from llmledger.fake_provider import FakeProviderServer
from llmledger.fake_provider.mistral_routes import AGENT_MODEL

MESSAGES = [{"role": "user", "content": "hi"}]
TOKENS = {"x-fake-input-tokens": "10000", "x-fake-output-tokens": "1000"}


def test_fim_complete_and_stream(mistral: Callable[[], Mistral], harness: Harness) -> None:
    client = mistral()
    client.fim.complete(model="codestral-2508", prompt="def add(a, b):", suffix="\n", http_headers=TOKENS)
    chunks = list(client.fim.stream(model="codestral-2508", prompt="def add(a, b):", http_headers=TOKENS))
    assert chunks[-1].data.usage is not None
    assert [s.attributes["gen_ai.operation.name"] for s in harness.spans()] == ["text_completion"] * 2
    # codestral-2508 ($0.3 in, $0.9 out per MTok): 10000*0.3 = 0.003 + 1000*0.9 = 0.0009 -> 0.0039
    assert [r.cost.total for r in harness.records] == [Decimal("0.0039"), Decimal("0.0039")]
    assert [r.stream for r in harness.records] == [False, True]


async def test_fim_async(mistral: Callable[[], Mistral], harness: Harness) -> None:
    client = mistral()
    await client.fim.complete_async(model="codestral-2508", prompt="x", http_headers=TOKENS)
    stream = await client.fim.stream_async(model="codestral-2508", prompt="x", http_headers=TOKENS)
    assert len([chunk async for chunk in stream]) == 5
    assert [r.cost.total for r in harness.records] == [Decimal("0.0039"), Decimal("0.0039")]


def test_agents_complete_uses_response_model(mistral: Callable[[], Mistral], harness: Harness) -> None:
    with llmledger.customer("c-agent"):
        response = mistral().agents.complete(agent_id="ag_123", messages=MESSAGES,
                                             http_headers=TOKENS)
    assert response.model == AGENT_MODEL
    record = harness.records[0]
    assert record.request_model is None and record.response_model == AGENT_MODEL
    # mistral-medium-2508 ($0.4 in, $2 out per MTok): 10000*0.4 = 0.004 + 1000*2 = 0.002 -> 0.006
    assert record.cost.total == Decimal("0.006")
    assert harness.span().attributes["customer.id"] == "c-agent"


async def test_agents_stream_async(mistral: Callable[[], Mistral], harness: Harness) -> None:
    stream = await mistral().agents.stream_async(agent_id="ag_123", messages=MESSAGES,
                                                 http_headers=TOKENS)
    async with stream as events:
        async for _ in events:
            pass
    assert harness.records[0].cost.total == Decimal("0.006")


def test_agents_stream(mistral: Callable[[], Mistral], harness: Harness) -> None:
    list(mistral().agents.stream(agent_id="ag_123", messages=MESSAGES, http_headers=TOKENS))
    assert harness.records[0].stream and harness.records[0].cost.total == Decimal("0.006")


def test_embeddings(mistral: Callable[[], Mistral], harness: Harness) -> None:
    response = mistral().embeddings.create(model="mistral-embed", inputs=["a", "b"],
                                           http_headers=TOKENS)
    assert len(response.data) == 2
    attrs = harness.span().attributes
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == 10000
    # mistral-embed ($0.1 in per MTok): 10000*0.1 -> 0.001
    assert harness.records[0].cost.total == Decimal("0.001")


async def test_embeddings_async(mistral: Callable[[], Mistral], harness: Harness) -> None:
    await mistral().embeddings.create_async(model="mistral-embed", inputs="a", http_headers=TOKENS)
    assert harness.records[0].cost.total == Decimal("0.001")


def test_embeddings_usage_missing(mistral: Callable[[], Mistral], harness: Harness) -> None:
    mistral().embeddings.create(model="mistral-embed", inputs="a", http_headers={"x-fake-usage": "omit"})
    assert harness.records[0].cost.status == "no_usage"


def test_azure_client(fake_provider: FakeProviderServer, harness: Harness) -> None:
    client = MistralAzure(api_key="x", server_url=fake_provider.url + "/mistral")
    client.chat.complete(model="mistral-large-2411", messages=MESSAGES, http_headers=TOKENS)
    assert len(list(client.chat.stream(model="mistral-large-2411", messages=MESSAGES, http_headers=TOKENS))) == 5
    assert [r.provider for r in harness.records] == ["azure.ai.inference"] * 2
    assert [r.usage.input_tokens for r in harness.records if r.usage] == [10000, 10000]
    # Azure bills Mistral models itself and genai-prices has no Azure rate for them: unpriced, not guessed.
    assert [r.cost.status for r in harness.records] == ["unpriced", "unpriced"]


async def test_azure_client_async(fake_provider: FakeProviderServer, harness: Harness) -> None:
    client = MistralAzure(api_key="x", server_url=fake_provider.url + "/mistral")
    await client.chat.complete_async(model="mistral-large-2411", messages=MESSAGES)
    stream = await client.chat.stream_async(model="mistral-large-2411", messages=MESSAGES)
    assert len([event async for event in stream]) == 5
    assert [r.stream for r in harness.records] == [False, True]


def test_gcp_chat_and_fim(fake_provider: FakeProviderServer, harness: Harness) -> None:
    client = MistralGCP(project_id="proj", region="europe-west4", access_token="t", server_url=fake_provider.url)
    client.chat.complete(model="mistral-large-2411", messages=MESSAGES, http_headers=TOKENS)
    list(client.chat.stream(model="mistral-large-2411", messages=MESSAGES, http_headers=TOKENS))
    client.fim.complete(model="codestral-2405", prompt="def", http_headers=TOKENS)
    list(client.fim.stream(model="codestral-2405", prompt="def", http_headers=TOKENS))
    assert {r.provider for r in harness.records} == {"gcp.vertex_ai"}
    assert [r.operation for r in harness.records] == ["chat", "chat", "text_completion", "text_completion"]
    assert [r.stream for r in harness.records] == [False, True, False, True]
    assert all(r.usage is not None and r.usage.output_tokens == 1000 for r in harness.records)
    assert {r.cost.status for r in harness.records} == {"unpriced"}


@pytest.mark.parametrize("status", ["429", "500"])
def test_azure_error_passes_unchanged(fake_provider: FakeProviderServer, harness: Harness, status: str) -> None:
    from mistralai.azure.client.errors import SDKError

    client = MistralAzure(api_key="x", server_url=fake_provider.url + "/mistral")
    with pytest.raises(SDKError):
        client.chat.complete(model="mistral-large-2411", messages=MESSAGES, http_headers={"x-fake-status": status})
    assert harness.records[0].error_type == "SDKError"
