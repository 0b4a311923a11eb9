"""LangChain (langchain-openai, langchain-anthropic) on the instrumented SDKs against the fake
provider: one priced span per LLM call, the right customer, LangChain's result unchanged."""

from __future__ import annotations

import pytest
from langchain_anthropic import ChatAnthropic
from langchain_openai import ChatOpenAI
from pydantic import BaseModel

import llmledger

PROMPT = "Summarise this document."
TEXT = "Hello from the fake provider."
OPENAI_USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
OPENAI_COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
ANTHROPIC_USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200"}
ANTHROPIC_COST = 0.002  # claude-haiku-4-5: 1000 * $1/M + 200 * $5/M
# langchain-openai caches its async HTTP client per process: one event loop for the module's tests.
ONE_LOOP = pytest.mark.asyncio(loop_scope="module")


def _openai(url: str, **kwargs) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o", base_url=url + "/v1", api_key="sk-x", max_retries=0,
                      default_headers=OPENAI_USAGE, **kwargs)


def _anthropic(url: str, **kwargs) -> ChatAnthropic:
    return ChatAnthropic(model="claude-haiku-4-5", base_url=url, api_key="sk-x", max_retries=0,
                         default_headers=ANTHROPIC_USAGE, **kwargs)


CHATS = {"openai": (_openai, "gpt-4o", OPENAI_COST), "anthropic": (_anthropic, "claude-haiku-4-5", ANTHROPIC_COST)}


def _assert_one_priced(harness, model: str, cost: float, customer: str, stream: bool = False) -> None:
    spans = harness.spans()
    assert len(spans) == 1, [s.name for s in spans]
    attrs = dict(spans[0].attributes)
    assert spans[0].name == f"chat {model}"
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["gen_ai.usage.cost"] == pytest.approx(cost, abs=1e-9)
    assert attrs["customer.id"] == customer
    assert attrs["gen_ai.request.stream"] is stream


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_invoke(harness, fake_provider, name):
    factory, model, cost = CHATS[name]
    with llmledger.customer("cust-invoke"):
        message = factory(fake_provider.url).invoke(PROMPT)
    assert message.content == TEXT
    _assert_one_priced(harness, model, cost, "cust-invoke")


@pytest.mark.parametrize("name", ["openai", "anthropic"])
@ONE_LOOP
async def test_ainvoke(harness, fake_provider, name):
    factory, model, cost = CHATS[name]
    async with llmledger.customer("cust-ainvoke"):
        message = await factory(fake_provider.url).ainvoke(PROMPT)
    assert message.content == TEXT
    _assert_one_priced(harness, model, cost, "cust-ainvoke")


@pytest.mark.parametrize("name", ["openai", "anthropic"])
def test_stream(harness, fake_provider, name):
    factory, model, cost = CHATS[name]
    with llmledger.customer("cust-stream"):
        text = "".join(str(chunk.content) for chunk in factory(fake_provider.url).stream(PROMPT))
    assert text.strip() != ""
    _assert_one_priced(harness, model, cost, "cust-stream", stream=True)


@pytest.mark.parametrize("name", ["openai", "anthropic"])
@ONE_LOOP
async def test_astream(harness, fake_provider, name):
    factory, model, cost = CHATS[name]
    async with llmledger.customer("cust-astream"):
        chunks = [chunk async for chunk in factory(fake_provider.url).astream(PROMPT)]
    assert "".join(str(c.content) for c in chunks).strip() != ""
    _assert_one_priced(harness, model, cost, "cust-astream", stream=True)


def test_openai_include_response_headers(harness, fake_provider):
    with llmledger.customer("cust-headers"):
        message = _openai(fake_provider.url, include_response_headers=True).invoke(PROMPT)
    assert message.content == TEXT
    assert message.response_metadata.get("headers")
    _assert_one_priced(harness, "gpt-4o", OPENAI_COST, "cust-headers")


class Summary(BaseModel):
    text: str


# json_schema: langchain-openai calls with_raw_response.parse(), whose structured-output parser refuses
# the fake's plain text; the call is priced from the body all the same (as for a reply cut by max_tokens).
@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_openai_with_structured_output(fake_provider, method):
    from harness import instrumented

    def run() -> object:
        chat = _openai(fake_provider.url).with_structured_output(Summary, method=method)
        try:
            return repr(chat.invoke(PROMPT))
        except Exception as exc:  # the fake's canned text is not the schema: LangChain's own error
            return type(exc)

    plain = run()
    with instrumented() as harness, llmledger.customer("cust-structured"):
        assert run() == plain  # LangChain's answer (or its own error) is the same as unpatched
        _assert_one_priced(harness, "gpt-4o", OPENAI_COST, "cust-structured")
