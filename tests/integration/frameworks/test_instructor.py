"""instructor on the instrumented openai SDK against the fake provider (tool-calling mode, sync and
async, ``create`` and ``create_with_completion``): one priced span per LLM call, the right customer,
the structured result as unpatched. instructor's releases pin jiter<0.15, which openai 3 does not
allow: the matrix cell ``sdk-previous`` runs these with openai 2."""

from __future__ import annotations

import json

import openai
from needs import framework
from priced import one_priced_span
from pydantic import BaseModel

import llmledger
from harness import instrumented

instructor = framework("instructor", "instructor pins jiter<0.15, which openai 3 excludes")


class Person(BaseModel):
    name: str
    age: int


ANSWER = {"name": "Ada", "age": 36}
USAGE = {"x-fake-input-tokens": "50000", "x-fake-output-tokens": "1000",
         "x-fake-tool-arguments": json.dumps(ANSWER)}
COST = 0.135  # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M
MESSAGES = [{"role": "user", "content": "Ada Lovelace, 36."}]


def _assert_one_priced(harness, customer: str) -> None:
    one_priced_span(harness, "gpt-4o", COST, customer)


def _client(url: str):
    return instructor.from_openai(openai.OpenAI(base_url=url + "/v1", api_key="sk-x", max_retries=0,
                                                default_headers=USAGE))


def test_create(fake_provider):
    plain = _client(fake_provider.url).chat.completions.create(model="gpt-4o", response_model=Person,
                                                               messages=MESSAGES)
    with instrumented() as harness:
        with llmledger.customer("cust-instructor"):
            person = _client(fake_provider.url).chat.completions.create(
                model="gpt-4o", response_model=Person, messages=MESSAGES)
        assert person.model_dump() == plain.model_dump() == ANSWER
        _assert_one_priced(harness, "cust-instructor")


def test_create_with_completion(fake_provider):
    with instrumented() as harness:
        with llmledger.customer("cust-instructor"):
            person, completion = _client(fake_provider.url).chat.completions.create_with_completion(
                model="gpt-4o", response_model=Person, messages=MESSAGES)
        assert person.model_dump() == ANSWER
        assert completion.usage.prompt_tokens == 50_000  # the SDK's own completion, untouched
        _assert_one_priced(harness, "cust-instructor")


async def test_async_create(fake_provider):
    with instrumented() as harness:
        # instructor keeps the bound ``create`` it wraps: made after init(), as an app does at startup
        client = instructor.from_openai(openai.AsyncOpenAI(base_url=fake_provider.url + "/v1", api_key="sk-x",
                                                           max_retries=0, default_headers=USAGE))
        async with llmledger.customer("cust-instructor-async"):
            person = await client.chat.completions.create(model="gpt-4o", response_model=Person,
                                                          messages=MESSAGES)
        assert person.model_dump() == ANSWER
        _assert_one_priced(harness, "cust-instructor-async")
