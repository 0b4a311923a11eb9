"""pydantic-ai on the instrumented SDKs against the fake provider (OpenAI chat and Anthropic models;
run and run_stream): one priced span per LLM call, the right customer, the agent's output as unpatched.
(The OpenAI Agents SDK: ``test_openai_agents.py``.)"""

from __future__ import annotations

import openai
import pytest
from priced import one_priced_span

import llmledger
from harness import instrumented

OPENAI_USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
OPENAI_COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
ANTHROPIC_USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"}
ANTHROPIC_COST = 0.002  # claude-haiku-4-5: 1000 * $1/M + 200 * $5/M
TEXT = "Hello from the fake provider."
pytestmark = pytest.mark.asyncio(loop_scope="module")


def _assert_one_priced(harness, model: str, cost: float, customer: str) -> None:
    one_priced_span(harness, model, cost, customer, besides_refused=True)


# ---- pydantic-ai --------------------------------------------------------------------------------
def _pydantic_openai(url: str):
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-x", max_retries=0,
                                default_headers=OPENAI_USAGE)
    return Agent(OpenAIChatModel("gpt-4o", provider=OpenAIProvider(openai_client=client)))


def _pydantic_anthropic(url: str):
    import anthropic
    from pydantic_ai import Agent
    from pydantic_ai.models.anthropic import AnthropicModel
    from pydantic_ai.providers.anthropic import AnthropicProvider

    client = anthropic.AsyncAnthropic(base_url=url, api_key="sk-x", max_retries=0,
                                      default_headers=ANTHROPIC_USAGE)
    return Agent(AnthropicModel("claude-haiku-4-5", provider=AnthropicProvider(anthropic_client=client)))


PYDANTIC = {"openai": (_pydantic_openai, "gpt-4o", OPENAI_COST),
            "anthropic": (_pydantic_anthropic, "claude-haiku-4-5", ANTHROPIC_COST)}


@pytest.mark.parametrize("name", PYDANTIC)
async def test_pydantic_ai_run(fake_provider, name):
    factory, model, cost = PYDANTIC[name]
    plain = (await factory(fake_provider.url).run("Summarise this.")).output
    with instrumented() as harness:
        async with llmledger.customer("cust-pai"):
            result = await factory(fake_provider.url).run("Summarise this.")
        assert result.output == plain
        assert result.output in (TEXT, "Hello from the")  # pydantic-ai streams Anthropic internally
        _assert_one_priced(harness, model, cost, "cust-pai")


@pytest.mark.parametrize("name", PYDANTIC)
async def test_pydantic_ai_run_stream(harness, fake_provider, name):
    factory, model, cost = PYDANTIC[name]
    async with llmledger.customer("cust-pai-stream"), factory(fake_provider.url).run_stream(
            "Summarise this.") as run:
        output = await run.get_output()
    assert output.strip() != ""
    _assert_one_priced(harness, model, cost, "cust-pai-stream")
