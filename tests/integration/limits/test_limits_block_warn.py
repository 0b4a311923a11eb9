"""Limits enforced before the SDK call, with the real openai SDK against the fake provider: block
refuses the call before anything is sent, warn lets it through, both are recorded."""

from __future__ import annotations

import asyncio
import logging

import openai
import pytest
from limits_harness import limited

import llmledger
from llmledger.errors import LimitExceeded, LLMLedgerError

MSG = [{"role": "user", "content": "hi"}]
CENT = {"x-fake-input-tokens": "4000", "x-fake-output-tokens": "0"}
"""gpt-4o at $2.50 per million input tokens: $0.01 per call."""


def call(client: openai.OpenAI, **kwargs):
    return client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT, **kwargs)


def sent(fake_provider) -> int:
    return sum(1 for r in fake_provider.requests if r.path.endswith("/chat/completions"))


def test_block_refuses_before_sending(fake_provider, openai_client):
    with limited([{"customer": "acme", "usd_per_day": 0.03}]) as h:
        before = sent(fake_provider)
        with llmledger.customer("acme"):
            for _ in range(3):
                call(openai_client)
            with pytest.raises(LimitExceeded) as raised:
                call(openai_client)
        assert sent(fake_provider) - before == 3  # the 4th never left the process
        error = raised.value
        assert isinstance(error, LLMLedgerError)
        assert (error.customer, error.rule, error.window) == ("acme", "customer=acme", "day")
        assert str(error.used) == "0.03" and str(error.limit) == "0.03" and error.resets_at is not None
        blocked = h.spans()[-1]
        assert blocked.attributes["error.type"] == "LimitExceeded"
        assert blocked.attributes["llmledger.limit.action"] == "block"
        assert blocked.attributes["llmledger.limit.cap"] == "usd_per_day"
        assert blocked.attributes["llmledger.limit.used"] == pytest.approx(0.03)
        assert "gen_ai.usage.cost" not in blocked.attributes
        assert h.sum_of("llmledger.limit.exceeded", customer__id="acme", llmledger__limit__action="block") == 1
        # other customers and calls without a customer are not limited
        with llmledger.customer("globex"):
            call(openai_client)
        call(openai_client)
        assert sent(fake_provider) - before == 5


def test_warn_lets_the_call_through_and_logs_once(fake_provider, openai_client, caplog):
    with limited([{"plan": "starter", "calls_per_minute": 2, "action": "warn"}]) as h:
        before = sent(fake_provider)
        with caplog.at_level(logging.WARNING, logger="llmledger.limits"), \
                llmledger.customer("c1", plan="starter"):
            for _ in range(5):
                call(openai_client)
        assert sent(fake_provider) - before == 5
        spans = h.spans()
        assert [s.attributes.get("llmledger.limit.action") for s in spans] == [None, None, "warn", "warn", "warn"]
        assert all("error.type" not in s.attributes for s in spans)
        assert spans[2].attributes["llmledger.limit.used"] == 2
        assert h.sum_of("llmledger.limit.exceeded", customer__id="c1", llmledger__limit__rule="plan=starter",
                        llmledger__limit__action="warn") == 3
        lines = [r for r in caplog.records if "over limit" in r.getMessage()]
        assert len(lines) == 1 and "c1" in lines[0].getMessage()


def test_streams_are_checked_before_they_start(fake_provider, openai_client):
    with limited([{"customer": "s", "tokens_per_month": 4000}]) as h:
        before = sent(fake_provider)
        with llmledger.customer("s"):
            chunks = list(call(openai_client, stream=True))
            assert chunks
            with pytest.raises(LimitExceeded) as raised:
                call(openai_client, stream=True)
        assert raised.value.window == "month" and raised.value.used == 4000
        assert sent(fake_provider) - before == 1
        assert h.spans()[-1].attributes["gen_ai.request.stream"] is True


def test_async_calls_are_limited_too(fake_provider, openai_aclient):
    async def run() -> None:
        with llmledger.customer("a"):
            await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)
            with pytest.raises(LimitExceeded):
                await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers=CENT)

    with limited([{"customer": "a", "usd_per_month": 0.01}]):
        before = sent(fake_provider)
        asyncio.run(run())
        assert sent(fake_provider) - before == 1


def test_cost_share_of_revenue_blocks_past_the_share(fake_provider, openai_client):
    # $0.05/month plan, 0.8 share: blocked once month-to-date cost reaches $0.04
    with limited([{"plan": "tiny", "cost_share_of_revenue": 0.8}], plans={"tiny": {"monthly_usd": 0.05}}):
        with llmledger.customer("t", plan="tiny"):
            for _ in range(4):
                call(openai_client)
            with pytest.raises(LimitExceeded, match="plan=tiny"):
                call(openai_client)
            rows = llmledger.usage("t", plan="tiny")
        assert [(r.cap, str(r.used), str(r.limit), str(r.remaining)) for r in rows] == [
            ("cost_share_of_revenue", "0.04", "0.04", "0")]


def test_read_api_through_the_package(fake_provider, openai_client):
    with limited([{"customer": "r", "usd_per_month": 1, "calls_per_minute": 10}]):
        with llmledger.customer("r"):
            call(openai_client)
        rows = {row.cap: row for row in llmledger.check("r")}
        assert str(rows["usd_per_month"].used) == "0.01" and str(rows["usd_per_month"].remaining) == "0.99"
        assert rows["calls_per_minute"].used == 1 and rows["calls_per_minute"].remaining == 9
        llmledger.usage("r")
        assert llmledger.usage("r")[1].used == 1  # reading reserves no call
    assert llmledger.usage("r") == []  # limits off once uninstrumented


def test_no_rules_no_guard(harness):
    assert harness.instrumentor.limits is None
    assert harness.instrumentor._lifecycle.limits is None


def test_other_providers_and_call_styles_are_checked_by_the_same_hook(fake_provider):
    """Anthropic (create and the messages.stream() helper) and Google GenAI (a generator-style
    stream): each refused before a request is sent."""
    import anthropic
    from google import genai
    from google.genai import types

    claude = anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0)
    gemini = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=fake_provider.url))
    with limited([{"customer": "multi", "calls_per_minute": 1}]) as h:
        before = len(fake_provider.requests)
        with llmledger.customer("multi"):
            claude.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=MSG)
            with pytest.raises(LimitExceeded):
                claude.messages.create(model="claude-sonnet-4-6", max_tokens=10, messages=MSG)
            with pytest.raises(LimitExceeded), \
                    claude.messages.stream(model="claude-sonnet-4-6", max_tokens=10, messages=MSG) as stream:
                list(stream.text_stream)
            with pytest.raises(LimitExceeded):
                for _ in gemini.models.generate_content_stream(model="gemini-2.5-flash", contents="hi"):
                    pass
        assert len(fake_provider.requests) - before == 1
        assert [s.attributes.get("error.type") for s in h.spans()] == [None] + ["LimitExceeded"] * 3
