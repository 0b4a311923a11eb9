"""Endpoint resolution, the ``endpoints:`` config and the provider-reported cost readers."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import openai
import pytest

from llmledger.config import load_config
from llmledger.endpoints import (
    UNKNOWN_PROVIDER,
    EndpointResolver,
    is_private_host,
    load_endpoints,
    openrouter_cost,
    perplexity_cost,
    xai_cost,
)
from llmledger.errors import ConfigError


def resolver(section: object = None) -> EndpointResolver:
    return EndpointResolver(load_endpoints(section, "llmledger.yaml")[0])


def test_host_port_entry_wins_over_host_entry() -> None:
    r = resolver({"gw.internal": "openai", "gw.internal:9000": {"provider": "team_b_gateway"}})
    assert r.resolve("https://gw.internal:9000/v1").provider == "team_b_gateway"
    assert r.resolve("https://gw.internal/v1").provider == "openai"
    assert r.resolve("http://gw.internal:8000/v1").provider == "openai"
    assert r.resolve("https://gw.internal:443/v1").origin == "config llmledger.yaml endpoints.gw.internal"


def test_config_names_a_public_host_too() -> None:
    r = resolver({"https://api.deepseek.com": "deepseek_via_proxy"})  # a whole URL is reduced to its host
    assert r.resolve("https://api.deepseek.com/v1").provider == "deepseek_via_proxy"


def test_default_port_and_address() -> None:
    endpoint = resolver().resolve("https://api.groq.com/openai/v1")
    assert (endpoint.provider, endpoint.address, endpoint.port, endpoint.origin) == (
        "groq", "api.groq.com", 443, "genai-prices")
    assert resolver().resolve("http://localhost/v1").port == 80
    assert resolver().resolve("https://eu.api.openai.com/v1").provider == "openai"  # regional processing


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "::1", "10.1.2.3", "192.168.0.7", "169.254.1.1",
                                  "vllm", "ollama.local", "llm.internal", "svc.ns.svc.cluster.local", "a.localhost"])
def test_private_hosts(host: str) -> None:
    assert is_private_host(host)


@pytest.mark.parametrize("host", ["api.openai.com", "8.8.8.8", "llm.example.com"])
def test_public_hosts(host: str) -> None:
    assert not is_private_host(host)


def test_unparsable_url_is_unknown() -> None:
    assert resolver().resolve("http://[::1/v1").provider == UNKNOWN_PROVIDER


def test_resolved_once_per_client_and_again_when_its_base_url_changes() -> None:
    r = resolver({"gw.internal": "gateway"})
    client = openai.OpenAI(base_url="https://api.x.ai/v1", api_key="x")
    first = r.for_client(client)
    assert first.provider == "x_ai" and r.for_client(client) is first
    client.base_url = "https://gw.internal/v1"
    assert r.for_client(client).provider == "gateway"
    azure = openai.AzureOpenAI(azure_endpoint="https://gw.internal", api_version="2024-10-21", api_key="x")
    assert r.for_client(azure).provider == "azure.ai.openai"  # the client class is explicit
    assert r.for_client(None).provider == UNKNOWN_PROVIDER


def test_stream_usage_policy_and_switch() -> None:
    section = {"gw.internal": "openai", "vllm.internal": {"provider": "vllm", "include_usage": True},
               "proxy.internal": {"provider": "openai", "include_usage": False}}
    r = resolver(section)
    assert r.resolve("https://gw.internal/v1").stream_usage  # as OpenAI
    assert r.resolve("https://vllm.internal/v1").stream_usage
    assert not r.resolve("https://proxy.internal/v1").stream_usage
    assert not r.resolve("https://api.groq.com/openai/v1").stream_usage
    off = EndpointResolver(load_endpoints(section, "x")[0], request_stream_usage=False)
    assert not off.resolve("https://gw.internal/v1").stream_usage
    assert not off.resolve("https://api.openai.com/v1").stream_usage


def test_reported_cost_readers() -> None:
    assert openrouter_cost({"cost": 0.0391}) == Decimal("0.0391")
    assert openrouter_cost({"cost": "n/a"}) is None
    byok = {"cost": 0.002, "is_byok": True, "cost_details": {"upstream_inference_cost": 0.04}}
    assert openrouter_cost(byok) == Decimal("0.042")  # OpenRouter's fee + the upstream provider's bill
    assert openrouter_cost({"cost": 0.002, "is_byok": True}) is None  # then priced by llmledger
    assert openrouter_cost({"cost": -1}) is None
    assert openrouter_cost({"cost": True}) is None
    assert xai_cost({"cost_in_usd_ticks": 37_756_000}) == Decimal("0.0037756")
    assert xai_cost({"cost_in_usd_ticks": 1.5}) is None
    assert perplexity_cost({"cost": {"total_cost": 0.0178}}) == Decimal("0.0178")
    assert perplexity_cost({"cost": 0.5}) is None
    assert openrouter_cost(None) is None


def test_endpoint_prices_become_a_price_override() -> None:
    endpoints, prices = load_endpoints({"localhost:8000": {"provider": "vllm", "prices": {"input_mtok": 0.1}}},
                                       "llmledger.yaml")
    (entry,) = prices.entries
    assert entry.provider == "vllm" and entry.key == "endpoints.localhost:8000.prices"
    assert endpoints.entries["localhost:8000"].provider == "vllm"


@pytest.mark.parametrize(("section", "key", "message"), [
    (["a"], "endpoints", "expected a mapping"),
    ({"gw internal/v1": "openai"}, "endpoints.gw internal/v1", "host or host:port"),
    ({"gw:port": "openai"}, "endpoints.gw:port", "not a number"),
    ({"gw": {"name": "openai"}}, "endpoints.gw.name", "unknown key 'name'"),
    ({"gw": {"provider": ""}}, "endpoints.gw.provider", "expected a provider name"),
    ({"gw": 3}, "endpoints.gw", "expected a provider name or a mapping"),
    ({"gw": {"provider": "x", "include_usage": "yes"}}, "endpoints.gw.include_usage", "true or false"),
    ({"gw": {"provider": "x", "prices": {"input_mtok": -1}}}, "endpoints.gw.prices.input_mtok", "non-negative"),
    ({"gw": {"provider": "x", "prices": {"input_usd": 1}}}, "endpoints.gw.prices.input_usd", "unknown key"),
    ({"a": {"provider": "x", "prices": {"input_mtok": 1}}, "b": {"provider": "x", "prices": {"input_mtok": 2}}},
     "endpoints.b.prices", "already has prices from endpoints.a"),
    ({"GW": "a", "gw": "b"}, "endpoints.gw", "repeats endpoints.GW"),
])
def test_bad_endpoints_name_file_key_and_value(section: object, key: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_endpoints(section, "llmledger.yaml")
    assert info.value.source == "llmledger.yaml" and info.value.key == key
    assert message in str(info.value)


def test_config_file_environment_and_keywords(tmp_path: Path) -> None:
    path = tmp_path / "llmledger.yaml"
    path.write_text("request_stream_usage: false\nendpoints:\n  gw.internal: {provider: gateway, "
                    "prices: {input_mtok: 1, output_mtok: 2}}\n")
    config = load_config(path, env={})
    assert config.request_stream_usage is False
    assert config.endpoints.entries["gw.internal"].provider == "gateway"
    assert [entry.provider for entry in config.price_overrides.entries] == ["gateway"]
    from_env = load_config(path, env={"LLMLEDGER_ENDPOINTS": "127.0.0.1=openai, vllm:8000=vllm"})
    assert {k: e.provider for k, e in from_env.endpoints.entries.items()} == {"127.0.0.1": "openai",
                                                                              "vllm:8000": "vllm"}
    kwargs = load_config(path, env={}, endpoints={"gw": "other"})
    assert list(kwargs.endpoints.entries) == ["gw"]
    with pytest.raises(ConfigError, match="LLMLEDGER_ENDPOINTS"):
        load_config(path, env={"LLMLEDGER_ENDPOINTS": "127.0.0.1"})
    path.write_text("endpoints:\n  gw.internal: {provider: 3}\n")
    with pytest.raises(ConfigError, match=r"endpoints\.gw\.internal\.provider"):
        load_config(path, env={})
