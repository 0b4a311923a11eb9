"""The OpenAI Agents SDK on the instrumented openai SDK against the fake provider: Responses and chat
completions models, ``Runner.run`` and ``Runner.run_streamed``: one priced span per LLM call, the right
customer, the agent's output as unpatched. The main venv runs them with openai-agents 0.24 on openai 3;
the matrix cell ``sdk-previous`` with openai-agents 0.20, its last release for openai 2."""

from __future__ import annotations

import agents
import openai
import pytest
from priced import one_priced_span

import llmledger
from harness import instrumented

USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
TEXT = "Hello from the fake provider."
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module", autouse=True)
def _no_agents_tracing():
    agents.set_tracing_disabled(True)  # its trace exporter would post to api.openai.com
    yield
    agents.set_tracing_disabled(False)


def _agent(url: str, kind: str):
    client = openai.AsyncOpenAI(base_url=url + "/v1", api_key="sk-x", max_retries=0, default_headers=USAGE)
    model_class = agents.OpenAIResponsesModel if kind == "responses" else agents.OpenAIChatCompletionsModel
    return agents.Agent(name="summariser", instructions="Be brief.",
                        model=model_class(model="gpt-4o", openai_client=client))


def _assert_one_priced(harness, customer: str) -> None:
    attrs = one_priced_span(harness, "gpt-4o", COST, customer)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (50_000, 1000)


@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_run(fake_provider, kind):
    plain = (await agents.Runner.run(_agent(fake_provider.url, kind), "Summarise this.")).final_output
    with instrumented() as harness:
        async with llmledger.customer("cust-agents"):
            result = await agents.Runner.run(_agent(fake_provider.url, kind), "Summarise this.")
        assert result.final_output == plain == TEXT
        _assert_one_priced(harness, "cust-agents")


async def _streamed(url: str, kind: str) -> tuple[str, list[str]]:
    run = agents.Runner.run_streamed(_agent(url, kind), "Summarise this.")
    deltas = [event.data.delta async for event in run.stream_events()
              if event.type == "raw_response_event" and getattr(event.data, "type", "") == "response.output_text.delta"]
    return run.final_output, deltas


@pytest.mark.parametrize("kind", ["responses", "chat"])
async def test_run_streamed(fake_provider, kind):
    plain = await _streamed(fake_provider.url, kind)
    with instrumented() as harness:
        async with llmledger.customer("cust-agents-stream"):
            streamed = await _streamed(fake_provider.url, kind)
        assert streamed == plain
        assert streamed[0] == "Hello from the" and streamed[1] == ["Hello", " from", " the"]
        _assert_one_priced(harness, "cust-agents-stream")
