"""OpenAI clients pointed at the session's fake provider, shared by the integration tests."""

from __future__ import annotations

import openai
import pytest

from llmledger.fake_provider import FakeProviderServer

# A key that must never reach telemetry: test_openai_chat's test_api_key_never_exported looks for it.
OPENAI_KEY = "sk-test-SECRET"


@pytest.fixture()
def openai_client(fake_provider: FakeProviderServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=fake_provider.url + "/v1", api_key=OPENAI_KEY, max_retries=0)


@pytest.fixture()
def openai_aclient(fake_provider: FakeProviderServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key=OPENAI_KEY, max_retries=0)


