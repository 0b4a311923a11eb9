"""Errors an SDK raises before sending anything (argument validation, client-side limits) are not
failed LLM calls: no span, no metric point, no ledger row; the error reaches the caller untouched."""

from __future__ import annotations

import anthropic
import openai
import pytest

import llmledger
from harness import Harness
from llmledger.fake_provider import FakeProviderServer

MSG = [{"role": "user", "content": "hi"}]


def test_anthropic_rejecting_a_call_before_sending_it_is_not_a_failed_call(
        harness: Harness, fake_provider: FakeProviderServer) -> None:
    client = anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0)
    sent = len(fake_provider.requests)
    with llmledger.customer("c-pre"), pytest.raises(ValueError, match="Streaming is required"):
        # non-streamed with max_tokens this large: the SDK refuses before any request
        client.messages.create(model="claude-haiku-4-5", max_tokens=64_000, messages=MSG)
    assert len(fake_provider.requests) == sent  # nothing left the process
    assert harness.spans() == [] and harness.records == []
    assert harness.sum_of("llmledger.customer.calls", customer__id="c-pre") == 0
    # ... and the streamed retry (what pydantic-ai does next) is one ordinary call
    with llmledger.customer("c-pre"), client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64_000, messages=MSG,
            extra_headers={"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"}) as stream:
        stream.until_done()
    assert len(harness.spans()) == 1 and harness.records[0].error_type is None
    assert harness.sum_of("llmledger.customer.calls", customer__id="c-pre") == 1


def test_openai_missing_argument_is_not_a_failed_call(harness: Harness, fake_provider: FakeProviderServer) -> None:
    client = openai.OpenAI(api_key="sk-test", base_url=fake_provider.url + "/v1", max_retries=0)
    with pytest.raises(TypeError):
        client.chat.completions.create(messages=MSG)  # type: ignore[call-overload]  # no model
    assert harness.spans() == [] and harness.records == []
