"""LlamaIndex's OpenAI LLM (llama-index-llms-openai) on the instrumented openai SDK against the fake
provider: complete, chat, stream_chat, achat and astream_chat: one priced span per LLM call, the right
customer, LlamaIndex's answer as unpatched. llama-index-llms-openai needs openai<3: the matrix cell
``sdk-previous`` runs these with openai 2."""

from __future__ import annotations

import pytest
from needs import framework
from priced import one_priced_span

import llmledger
from harness import instrumented

li_openai = framework("llama_index.llms.openai", "llama-index-llms-openai needs openai<3")
from llama_index.core.llms import ChatMessage  # noqa: E402  (installed with llama_index.llms.openai)

USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000"}
COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
TEXT = "Hello from the fake provider."
MESSAGES = [ChatMessage(role="user", content="Summarise this.")]


def _llm(url: str):
    return li_openai.OpenAI(model="gpt-4o", api_base=url + "/v1", api_key="sk-x", max_retries=0,
                            default_headers=USAGE)


def _assert_one_priced(harness, customer: str) -> None:
    one_priced_span(harness, "gpt-4o", COST, customer)


def _complete(llm):
    return llm.complete("Summarise this.").text


def _chat(llm):
    return llm.chat(MESSAGES).message.content


def _stream_chat(llm):  # the deltas, the role and finish chunks' empty ones included
    return [chunk.delta for chunk in llm.stream_chat(MESSAGES)]


CALLS = {"complete": _complete, "chat": _chat, "stream_chat": _stream_chat}


@pytest.mark.parametrize("name", CALLS)
def test_sync(fake_provider, name):
    plain = CALLS[name](_llm(fake_provider.url))
    with instrumented() as harness:
        with llmledger.customer("cust-li"):
            result = CALLS[name](_llm(fake_provider.url))
        assert result == plain
        assert result == TEXT if isinstance(result, str) else "".join(result) == "Hello from the"
        _assert_one_priced(harness, "cust-li")


async def _achat(llm):
    return (await llm.achat(MESSAGES)).message.content


async def _astream_chat(llm):
    return [chunk.delta async for chunk in await llm.astream_chat(MESSAGES)]


ASYNC_CALLS = {"achat": _achat, "astream_chat": _astream_chat}


@pytest.mark.parametrize("name", ASYNC_CALLS)
async def test_async(fake_provider, name):
    plain = await ASYNC_CALLS[name](_llm(fake_provider.url))
    with instrumented() as harness:
        async with llmledger.customer("cust-li-async"):
            result = await ASYNC_CALLS[name](_llm(fake_provider.url))
        assert result == plain
        assert result == TEXT if isinstance(result, str) else "".join(result) == "Hello from the"
        _assert_one_priced(harness, "cust-li-async")
