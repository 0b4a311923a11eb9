"""LiteLLM's ``Router`` (model groups over deployments) against the fake provider: one priced,
attributed span per call, sync, async and streamed, for OpenAI and Anthropic deployments, and a
fallback from a failing deployment is two calls (the failed one unpriced, the served one priced)."""

from __future__ import annotations

import litellm
import pytest
from test_litellm import ANTHROPIC_COST, ANTHROPIC_USAGE, MSG, OPENAI_COST, OPENAI_USAGE, TEXT, _assert_span
from waiting import async_wait_for_spans

import llmledger


def _router(url: str, fail_openai: bool = False) -> litellm.Router:
    openai_headers = {**OPENAI_USAGE, "x-fake-status": "500"} if fail_openai else OPENAI_USAGE
    return litellm.Router(model_list=[
        {"model_name": "smart", "litellm_params": {"model": "openai/gpt-4o", "api_base": url + "/v1",
                                                   "api_key": "sk-x", "extra_headers": openai_headers}},
        {"model_name": "claude", "litellm_params": {"model": "anthropic/claude-haiku-4-5", "api_base": url,
                                                    "api_key": "sk-x", "extra_headers": ANTHROPIC_USAGE}},
    ], num_retries=0, fallbacks=[{"smart": ["claude"]}])


GROUPS = {"smart": ("gpt-4o", "openai", OPENAI_COST, 50_000),
          "claude": ("claude-haiku-4-5", "anthropic", ANTHROPIC_COST, 1000)}


@pytest.mark.parametrize("group", GROUPS)
def test_router_completion(harness, fake_provider, spans_of, group):
    with llmledger.customer("cust-router"):
        response = _router(fake_provider.url).completion(model=group, messages=MSG)
    assert response.choices[0].message.content == TEXT
    spans = spans_of(1)
    assert len(spans) == 1, [s.name for s in spans]
    _assert_span(spans[0], *GROUPS[group], "cust-router")


@pytest.mark.parametrize("group", GROUPS)
async def test_router_acompletion_streamed(harness, fake_provider, group):
    async with llmledger.customer("cust-router-stream"):
        stream = await _router(fake_provider.url).acompletion(model=group, messages=MSG, stream=True,
                                                              stream_options={"include_usage": True})
        text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices])
    assert text == "Hello from the"
    spans = await async_wait_for_spans(harness, 1)
    assert len(spans) == 1, [s.name for s in spans]
    _assert_span(spans[0], *GROUPS[group], "cust-router-stream", stream=True)


def test_router_fallback_is_two_calls_one_priced(harness, fake_provider, spans_of):
    with llmledger.customer("cust-fallback"):
        response = _router(fake_provider.url, fail_openai=True).completion(model="smart", messages=MSG)
    assert response.choices[0].message.content == TEXT
    spans = spans_of(2)
    assert len(spans) == 2, [s.name for s in spans]
    failed, served = sorted(spans, key=lambda s: "error.type" not in dict(s.attributes))
    assert dict(failed.attributes)["llmledger.cost.status"] != "priced"
    assert dict(failed.attributes)["customer.id"] == "cust-fallback"
    _assert_span(served, *GROUPS["claude"], "cust-fallback")
