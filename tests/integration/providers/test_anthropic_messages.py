"""Anthropic Messages through the real SDK against the fake provider: non-streamed paths on the
first-party API, Bedrock and Vertex, beta included."""

from __future__ import annotations

import inspect
import logging

import anthropic
import pytest
import wrapt
from pydantic import BaseModel

import llmledger

MSG = [{"role": "user", "content": "Summarise this contract."}]
# In OTel meaning: 1000 input of which 300 cache reads and 100 cache writes (40 of them 1h), 200 output
# of which 50 thinking. The fake reports Anthropic's accounting: input_tokens = 600.
USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300",
         "x-fake-cache-write-tokens": "100", "x-fake-cache-write-1h-tokens": "40",
         "x-fake-reasoning-tokens": "50"}
# claude-haiku-4-5 ($1 in, $0.10 cache read, $1.25 5m write, $2 1h write, $5 out per MTok):
# 600*1 + 300*0.10 + 60*1.25 + 40*2 + 200*5 = 600 + 30 + 75 + 80 + 1000 = $1785/M = 0.001785
FIRST_PARTY_COST = 0.001785
# Bedrock regional (us.) claude-haiku-4-5 ($1.10, $0.11, $1.375, $2.20, $5.50 per MTok):
# 600*1.1 + 300*0.11 + 60*1.375 + 40*2.2 + 200*5.5 = 660 + 33 + 82.5 + 88 + 1100 = 0.0019635
BEDROCK_COST = 0.0019635
# Vertex (Google's list of Claude prices, same as Anthropic's for claude-haiku-4-5): 0.001785
VERTEX_COST = 0.001785

PLATFORMS = {
    # name: (client factory, request model, provider, response model on the span, cost)
    "anthropic": (lambda url, cls=anthropic.Anthropic: cls(api_key="x", base_url=url, max_retries=0),
                  "claude-haiku-4-5", "anthropic", "claude-haiku-4-5", FIRST_PARTY_COST),
    "bedrock": (lambda url, cls=anthropic.AnthropicBedrock: cls(aws_access_key="a", aws_secret_key="b",
                                                                aws_region="us-east-1", base_url=url,
                                                                max_retries=0),
                "us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock", None, BEDROCK_COST),
    "vertex": (lambda url, cls=anthropic.AnthropicVertex: cls(region="us-east5", project_id="p",
                                                              access_token="t", base_url=url + "/v1",
                                                              max_retries=0),
               "claude-haiku-4-5@20251001", "gcp.vertex_ai", "claude-haiku-4-5-20251001", VERTEX_COST),
}
ASYNC_CLIENTS = {"anthropic": anthropic.AsyncAnthropic, "bedrock": anthropic.AsyncAnthropicBedrock,
                 "vertex": anthropic.AsyncAnthropicVertex}


def _client(platform: str, url: str, asynchronous: bool = False):
    factory = PLATFORMS[platform][0]
    return factory(url, ASYNC_CLIENTS[platform]) if asynchronous else factory(url)


def _assert_contract(harness, platform: str, message, port: int) -> None:
    _, model, provider, response_model, cost = PLATFORMS[platform]
    span = harness.span()
    attrs = dict(span.attributes)
    assert span.name == f"chat {model}"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.request.model"] == model
    assert attrs.get("gen_ai.response.model") == response_model  # None on Bedrock: priced by the profile
    assert attrs["gen_ai.response.id"] == message.id
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == port
    assert attrs["gen_ai.usage.input_tokens"] == 1000  # 600 uncached + 300 read + 100 written
    assert attrs["gen_ai.usage.output_tokens"] == 200
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 300
    assert attrs["gen_ai.usage.cache_creation.input_tokens"] == 100
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 50
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost)
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["customer.id"] == "c1" and attrs["customer.plan"] == "pro"
    [record] = harness.records
    assert record.usage.cache_write_1h_tokens == 40
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1", customer__plan="pro",
                          gen_ai__provider__name=provider) == pytest.approx(cost)
    assert harness.sum_of("llmledger.customer.tokens", customer__id="c1", gen_ai__token__type="input") == 1000
    assert harness.sum_of("llmledger.customer.tokens", customer__id="c1",
                          gen_ai__token__type="cache_creation") == 100


@pytest.mark.parametrize("api", ["messages", "beta"])
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_create_on_every_platform(harness, fake_provider, platform, api):
    client = _client(platform, fake_provider.url)
    resource = client.beta.messages if api == "beta" else client.messages
    with llmledger.customer("c1", plan="pro"):
        message = resource.create(model=PLATFORMS[platform][1], max_tokens=512, messages=MSG,
                                  extra_headers=USAGE)
    assert message.content[0].text == "Hello from the fake provider."
    assert message.usage.input_tokens == 600  # the SDK's own object is untouched
    _assert_contract(harness, platform, message, fake_provider.port)


def test_bedrock_is_priced_by_the_inference_profile_called(harness, fake_provider):
    client = _client("bedrock", fake_provider.url)
    message = client.messages.create(model="global.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=512,
                                     messages=MSG, extra_headers=USAGE)
    assert message.model == "claude-haiku-4-5-20251001"  # what Bedrock answers, whatever the profile
    # global.anthropic.claude-haiku-4-5 has Anthropic's own rates, not the regional +10%:
    # 600*1 + 300*0.10 + 60*1.25 + 40*2 + 200*5 = 0.001785 (regional would be 0.0019635)
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(0.001785)


@pytest.mark.parametrize("api", ["messages", "beta"])
@pytest.mark.parametrize("platform", list(PLATFORMS))
async def test_async_create_on_every_platform(harness, fake_provider, platform, api):
    client = _client(platform, fake_provider.url, asynchronous=True)
    resource = client.beta.messages if api == "beta" else client.messages
    with llmledger.customer("c1", plan="pro"):
        message = await resource.create(model=PLATFORMS[platform][1], max_tokens=512, messages=MSG,
                                        extra_headers=USAGE)
    _assert_contract(harness, platform, message, fake_provider.port)


OTHER_CLOUDS = {
    # Anthropic-managed Claude served through a cloud: first-party model ids and list prices
    "foundry": (lambda url: anthropic.AnthropicFoundry(api_key="x", base_url=url + "/anthropic/", max_retries=0),
                "claude-haiku-4-5", "anthropic", FIRST_PARTY_COST),
    "aws": (lambda url: anthropic.AnthropicAWS(api_key="x", aws_region="us-east-1", workspace_id="w",
                                               base_url=url, max_retries=0),
            "claude-haiku-4-5", "anthropic", FIRST_PARTY_COST),
    "google_cloud": (lambda url: anthropic.AnthropicGoogleCloud(project="p", location="us-east5", workspace_id="w",
                                                                skip_auth=True, base_url=url, max_retries=0),
                     "claude-haiku-4-5", "anthropic", FIRST_PARTY_COST),
    # Bedrock's Mantle endpoint: billed by AWS at Bedrock prices
    "bedrock_mantle": (lambda url: anthropic.AnthropicBedrockMantle(api_key="x", aws_region="us-east-1",
                                                                    base_url=url + "/anthropic", max_retries=0),
                       "us.anthropic.claude-haiku-4-5-20251001-v1:0", "aws.bedrock", BEDROCK_COST),
}


@pytest.mark.parametrize("api", ["messages", "beta"])
@pytest.mark.parametrize("cloud", list(OTHER_CLOUDS))
def test_other_cloud_clients(harness, fake_provider, cloud, api):
    factory, model, provider, cost = OTHER_CLOUDS[cloud]
    client = factory(fake_provider.url)
    resource = client.beta.messages if api == "beta" else client.messages
    with llmledger.customer("c1", plan="pro"):
        resource.create(model=model, max_tokens=512, messages=MSG, extra_headers=USAGE)
    attrs = harness.span().attributes
    assert attrs["gen_ai.provider.name"] == provider
    assert attrs["gen_ai.usage.input_tokens"] == 1000
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost)
    assert attrs["customer.id"] == "c1"


class Verdict(BaseModel):
    city: str
    n: int


@pytest.mark.parametrize("api", ["messages", "beta"])
def test_parse_is_one_span(harness, fake_provider, api):
    client = _client("anthropic", fake_provider.url)
    resource = client.beta.messages if api == "beta" else client.messages
    with llmledger.customer("c1", plan="pro"):
        parsed = resource.parse(model="claude-haiku-4-5", max_tokens=512, messages=MSG,
                                output_format=Verdict, extra_headers=USAGE)
    assert parsed.parsed_output == Verdict(city="fake", n=1)
    _assert_contract(harness, "anthropic", parsed, fake_provider.port)


async def test_async_parse_on_bedrock_beta(harness, fake_provider):
    client = _client("bedrock", fake_provider.url, asynchronous=True)
    with llmledger.customer("c1", plan="pro"):
        parsed = await client.beta.messages.parse(model=PLATFORMS["bedrock"][1], max_tokens=512,
                                                  messages=MSG, output_format=Verdict, extra_headers=USAGE)
    assert parsed.parsed_output.n == 1
    _assert_contract(harness, "bedrock", parsed, fake_provider.port)


def test_with_raw_response_is_priced_and_still_the_users(harness, fake_provider):
    client = _client("anthropic", fake_provider.url)
    with llmledger.customer("c1", plan="pro"):
        raw = client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=512,
                                                        messages=MSG, extra_headers=USAGE)
    assert raw.headers["request-id"].startswith("req_")
    message = raw.parse()
    _assert_contract(harness, "anthropic", message, fake_provider.port)


async def test_async_with_raw_response_is_priced_when_the_user_parses_it(harness, fake_provider):
    # AsyncAPIResponse.parse() must be awaited: llmledger never reads the user's body for them, it
    # reads what the user's parse() returned. (anthropic < 1 answers with_raw_response with a
    # LegacyAPIResponse whose parse() is synchronous, even on the async client.)
    client = _client("anthropic", fake_provider.url, asynchronous=True)
    raw = await client.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=512,
                                                          messages=MSG, extra_headers=USAGE)
    assert harness.spans() == []
    parsed = raw.parse()
    if inspect.isawaitable(parsed):
        parsed = await parsed
    assert parsed.usage.input_tokens == 600
    attrs = harness.span().attributes
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(FIRST_PARTY_COST)
    assert "error.type" not in attrs


@pytest.mark.parametrize(("platform", "status", "error"), [
    ("anthropic", 429, anthropic.RateLimitError),
    ("anthropic", 529, anthropic.OverloadedError),
    ("bedrock", 429, anthropic.RateLimitError),
    ("vertex", 400, anthropic.BadRequestError),
])
def test_sdk_errors_pass_unchanged_and_mark_the_span(harness, fake_provider, platform, status, error):
    client = _client(platform, fake_provider.url)
    with pytest.raises(error) as raised, llmledger.customer("c-err"):
        client.messages.create(model=PLATFORMS[platform][1], max_tokens=512, messages=MSG,
                               extra_headers={"x-fake-status": str(status)})
    assert type(raised.value) is error and raised.value.status_code == status
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["llmledger.cost.status"] == "no_usage"
    assert harness.sum_of("llmledger.customer.calls", customer__id="c-err", error__type=error.__name__) == 1


def test_usage_omitted_is_no_usage_never_zero(harness, fake_provider):
    client = _client("anthropic", fake_provider.url)
    client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=MSG,
                           extra_headers={"x-fake-usage": "omit"})
    attrs = harness.span().attributes
    assert attrs["llmledger.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost" not in attrs and "gen_ai.usage.input_tokens" not in attrs


def test_malformed_usage_is_no_usage_and_warned(harness, fake_provider, caplog):
    client = _client("bedrock", fake_provider.url)
    with caplog.at_level(logging.WARNING, logger="llmledger"):
        message = client.messages.create(model="eu.anthropic.claude-haiku-4-5-20251001-v1:0", max_tokens=512,
                                         messages=MSG, extra_headers={"x-fake-usage": "malformed"})
    assert message.usage.input_tokens == "lots"  # what the provider sent reaches the user as is
    assert harness.span().attributes["llmledger.cost.status"] == "no_usage"
    assert "usage it cannot read" in caplog.text


def test_web_searches_and_thinking(harness, fake_provider):
    client = _client("anthropic", fake_provider.url)
    with llmledger.customer("c1", plan="pro"):
        client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=MSG,
                               extra_headers={**USAGE, "x-fake-web-searches": "2"})
    [record] = harness.records
    assert (record.usage.web_searches, record.usage.reasoning_tokens) == (2, 50)
    # the tokens as above, plus 2 web searches at $10 per thousand: 0.001785 + 0.02 = 0.021785
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(0.021785)


def test_priority_tier_and_fast_mode_are_price_modifiers(harness, fake_provider):
    client = _client("anthropic", fake_provider.url)
    client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=MSG,
                           extra_headers={**USAGE, "x-fake-service-tier": "priority"})
    if "speed" in inspect.signature(anthropic.resources.Messages.create).parameters:  # anthropic >= 1
        client.messages.create(model="claude-haiku-4-5", max_tokens=512, messages=MSG, speed="fast",
                               extra_headers={**USAGE, "x-fake-speed": "fast"})
    priority, *fast = harness.records
    assert (priority.modifiers.service_tier, priority.modifiers.speed) == ("priority", None)
    assert [(r.modifiers.service_tier, r.modifiers.speed) for r in fast] in ([(None, "fast")], [])
    for record in (priority, *fast):  # never silently billed at the standard rate
        assert record.cost.status != "priced" or float(record.cost.total) != pytest.approx(FIRST_PARTY_COST)


def test_uninstrument_restores_every_patched_method_including_the_copies(harness, fake_provider):
    from anthropic.lib.bedrock import _beta_messages as bedrock_beta
    from anthropic.resources.beta.messages import messages as beta

    patched = vars(bedrock_beta.Messages)["create"]
    assert isinstance(patched, wrapt.FunctionWrapper)
    assert patched is not vars(beta.Messages)["create"]  # its own wrapper: one span per call
    harness.instrumentor.uninstrument()
    assert not isinstance(vars(bedrock_beta.Messages)["create"], wrapt.FunctionWrapper)
    assert vars(bedrock_beta.Messages)["create"] is vars(beta.Messages)["create"]  # the SDK's original copy
    _client("bedrock", fake_provider.url).beta.messages.create(
        model=PLATFORMS["bedrock"][1], max_tokens=512, messages=MSG, extra_headers=USAGE)
    assert harness.spans() == []
