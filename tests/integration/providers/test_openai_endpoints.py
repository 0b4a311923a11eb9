"""The real ``openai`` SDK pointed at each OpenAI-compatible provider's base URL, answered in memory
(no network): named for the provider, priced as genai-prices prices that URL, unknown and self-hosted
endpoints unpriced, stream usage asked for only where the endpoint honours it, provider bills read."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal

import genai_prices
import openai
import pytest

from harness import Harness, instrumented
from llmledger.config import Config
from llmledger.endpoints import load_endpoints
from llmledger.fake_provider.transport import InMemoryProvider, http_library

MSG = [{"role": "user", "content": "Summarise."}]
USAGE = {"x-fake-input-tokens": "12000", "x-fake-output-tokens": "800"}

# (base URL, gen_ai.provider.name, a model genai-prices prices there)
ENDPOINTS = [
    ("https://api.openai.com/v1", "openai", "gpt-4o"),
    ("https://my-resource.openai.azure.com/openai/v1/", "azure.ai.openai", "gpt-4o"),
    ("https://api.deepseek.com/v1", "deepseek", "deepseek-chat"),
    ("https://openrouter.ai/api/v1", "openrouter", "openai/gpt-4o"),
    ("https://api.x.ai/v1", "x_ai", "grok-3"),
    ("https://api.together.xyz/v1", "together", "meta-llama/Llama-3.3-70B-Instruct-Turbo"),
    ("https://api.fireworks.ai/inference/v1", "fireworks", "accounts/fireworks/models/deepseek-v3p2"),
    ("https://api.groq.com/openai/v1", "groq", "llama-3.3-70b-versatile"),
    ("https://api.mistral.ai/v1", "mistral_ai", "mistral-small-latest"),
    ("https://generativelanguage.googleapis.com/v1beta/openai/", "gcp.gemini", "gemini-2.5-flash"),
    ("https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/endpoints/openapi",
     "gcp.vertex_ai", "gemini-2.5-flash"),
    ("https://api.perplexity.ai", "perplexity", "sonar"),
    ("https://api.cerebras.ai/v1", "cerebras", "llama3.1-8b"),
    ("https://api.moonshot.ai/v1", "moonshot_ai", "kimi-k2"),
    ("https://api.anthropic.com/v1/", "anthropic", "claude-sonnet-4-5"),
    ("https://api.z.ai/api/paas/v4/", "zai", "glm-4.5"),
]


@pytest.fixture()
def provider() -> InMemoryProvider:
    return InMemoryProvider(openai_compatible=True)


@pytest.fixture()
def harness() -> Iterator[Harness]:
    with instrumented(Config(), fake_endpoints=False) as h:  # no endpoints configured: what a new user gets
        yield h


def client(provider: InMemoryProvider, base_url: str) -> openai.OpenAI:
    http = http_library(openai)  # httpx2 (openai 3) or httpx (openai 1 and 2)
    return openai.OpenAI(base_url=base_url, api_key="x", max_retries=0,
                         http_client=http.Client(transport=provider.sync_transport(http)))


def list_price(base_url: str, model: str) -> Decimal:
    usage = genai_prices.Usage(input_tokens=12_000, output_tokens=800)
    return genai_prices.calc_price(usage, model, provider_api_url=base_url,
                                   genai_request_timestamp=datetime.now(timezone.utc)).total_price


@pytest.mark.parametrize(("base_url", "name", "model"), ENDPOINTS, ids=[name for _, name, _ in ENDPOINTS])
def test_named_and_priced_as_genai_prices_prices_the_url(harness, provider, base_url, name, model):
    client(provider, base_url).chat.completions.create(model=model, messages=MSG, extra_headers=USAGE)
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.provider.name"] == name
    assert attrs["server.address"] == base_url.split("/")[2]
    assert attrs["llmledger.cost.status"] == "priced"
    assert harness.records[0].cost.total == list_price(base_url, model)


@pytest.mark.parametrize(("base_url", "name", "model"), ENDPOINTS, ids=[name for _, name, _ in ENDPOINTS])
def test_streams_priced_and_include_usage_only_where_honoured(harness, provider, base_url, name, model):
    stream = client(provider, base_url).chat.completions.create(
        model=model, messages=MSG, stream=True, extra_headers={**USAGE, "x-fake-stream-usage": "always"})
    chunks = list(stream)
    sent = provider.requests[-1].json
    if name in {"openai", "azure.ai.openai", "deepseek"}:  # documented: the usage chunk only when asked
        assert sent["stream_options"] == {"include_usage": True}
        assert all(chunk.choices for chunk in chunks)  # the chunk llmledger asked for is hidden
    else:  # nothing injected; the usage chunk the server sends anyway reaches the user
        assert "stream_options" not in sent
        assert chunks[-1].choices == [] and chunks[-1].usage.prompt_tokens == 12_000
    assert harness.records[0].cost.total == list_price(base_url, model)


def test_azure_v1_endpoint_with_the_plain_client_streams_with_usage(harness, provider):
    url = "https://my-resource.openai.azure.com/openai/v1/"
    chunks = list(client(provider, url).chat.completions.create(model="gpt-4o", messages=MSG, stream=True,
                                                                extra_headers=USAGE))
    assert all(chunk.choices for chunk in chunks)
    assert harness.span().attributes["gen_ai.provider.name"] == "azure.ai.openai"
    assert harness.records[0].cost.total == list_price(url, "gpt-4o")


@pytest.mark.parametrize("base_url", ["http://localhost:8000/v1", "http://127.0.0.1:11434/v1",
                                      "http://vllm:8000/v1", "http://10.0.3.7/v1", "https://llm.example.com/v1"])
def test_self_hosted_and_unknown_endpoints_are_unpriced_with_a_hint(harness, provider, base_url, caplog):
    with caplog.at_level(logging.WARNING, logger="llmledger.endpoints"):
        client(provider, base_url).chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=USAGE)
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.provider.name"] == "openai_compatible"
    assert attrs["llmledger.cost.status"] == "unpriced"
    assert "gen_ai.usage.cost" not in attrs
    assert attrs["gen_ai.usage.input_tokens"] == 12_000
    assert any("endpoints:" in record.getMessage() for record in caplog.records)
    assert harness.sum_of("llmledger.unpriced.calls", gen_ai__provider__name="openai_compatible") == 1


def test_unknown_stream_gets_no_stream_options(harness, provider):
    chunks = list(client(provider, "http://localhost:8000/v1").chat.completions.create(
        model="llama-3.1-8b", messages=MSG, stream=True, extra_headers=USAGE))
    assert "stream_options" not in provider.requests[-1].json
    assert all(chunk.choices for chunk in chunks)
    record = harness.records[0]
    assert record.usage is None and record.cost.status == "no_usage"


def test_configured_gateway_is_named_and_priced_by_its_endpoint(provider):
    endpoints, prices = load_endpoints({
        "gateway.internal:8443": {"provider": "openai"},  # passes OpenAI through at OpenAI's prices
        "localhost:8000": {"provider": "vllm", "prices": {"input_mtok": 0.1, "output_mtok": "0.4"},
                           "include_usage": True},
    }, "llmledger.yaml")
    with instrumented(Config(endpoints=endpoints, price_overrides=prices)) as h:
        client(provider, "https://gateway.internal:8443/v1").chat.completions.create(
            model="gpt-4o", messages=MSG, extra_headers=USAGE)
        list(client(provider, "http://localhost:8000/v1").chat.completions.create(
            model="llama-3.1-8b", messages=MSG, stream=True, extra_headers=USAGE))
        assert provider.requests[-1].json["stream_options"] == {"include_usage": True}
    gateway, vllm = h.records
    assert gateway.provider == "openai" and gateway.cost.total == list_price("https://api.openai.com/v1", "gpt-4o")
    # 12,000 * $0.1/M + 800 * $0.4/M = 0.0012 + 0.00032 = 0.00152
    assert vllm.provider == "vllm" and vllm.cost.total == Decimal("0.00152")
    assert vllm.cost.source == "override llmledger.yaml"


def test_injection_can_be_turned_off(provider):
    with instrumented(Config(request_stream_usage=False), fake_endpoints=False) as h:
        chunks = list(client(provider, "https://api.openai.com/v1").chat.completions.create(
            model="gpt-4o", messages=MSG, stream=True, extra_headers=USAGE))
    assert "stream_options" not in provider.requests[-1].json
    assert all(chunk.choices for chunk in chunks)
    assert h.records[0].cost.status == "no_usage"


# ---- provider-reported cost ---------------------------------------------------------------------
REPORTED = [
    ("https://openrouter.ai/api/v1", "openai/gpt-4o", {"cost": 0.0391, "is_byok": False}, Decimal("0.0391")),
    ("https://api.x.ai/v1", "grok-3", {"cost_in_usd_ticks": 475_000_000}, Decimal("0.0475")),
    ("https://api.perplexity.ai", "sonar", {"cost": {"input_tokens_cost": 0.012, "output_tokens_cost": 0.0008,
                                                     "request_cost": 0.005, "total_cost": 0.0178}},
     Decimal("0.0178")),
]


@pytest.mark.parametrize(("base_url", "model", "extra", "billed"), REPORTED, ids=["openrouter", "x_ai", "perplexity"])
@pytest.mark.parametrize("stream", [False, True])
def test_provider_reported_cost_is_the_cost(harness, provider, base_url, model, extra, billed, stream):
    headers = {**USAGE, "x-fake-usage-extra": json.dumps(extra), "x-fake-stream-usage": "always"}
    result = client(provider, base_url).chat.completions.create(model=model, messages=MSG, stream=stream,
                                                                extra_headers=headers)
    if stream:
        list(result)
    attrs = dict(harness.span().attributes)
    assert attrs["llmledger.cost.source"] == "provider"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(float(billed))
    assert attrs["llmledger.cost.computed"] == pytest.approx(float(list_price(base_url, model)))
    assert harness.records[0].cost.total == billed
    assert harness.sum_of("llmledger.customer.cost") == pytest.approx(float(billed))


def test_responses_api_reported_cost(harness, provider):
    headers = {**USAGE, "x-fake-usage-extra": json.dumps({"cost_in_usd_ticks": 123_456_789})}
    client(provider, "https://api.x.ai/v1").responses.create(model="grok-3", input="hi", extra_headers=headers)
    assert harness.records[0].cost.total == Decimal("0.0123456789")
    assert harness.records[0].computed_cost == list_price("https://api.x.ai/v1", "grok-3")


def test_a_cost_field_from_another_provider_is_not_read(harness, provider):
    headers = {**USAGE, "x-fake-usage-extra": json.dumps({"cost": 99.0})}
    client(provider, "https://api.deepseek.com/v1").chat.completions.create(
        model="deepseek-chat", messages=MSG, extra_headers=headers)
    assert harness.span().attributes["llmledger.cost.source"].startswith("genai-prices")
    assert "llmledger.cost.computed" not in harness.span().attributes
