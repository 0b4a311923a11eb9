"""The in-memory transport in the SDK's own HTTP library, and scripted tool calls on OpenAI chat."""

from __future__ import annotations

import json

import openai
import pytest

from llmledger.fake_provider.transport import InMemoryProvider, http_library


def test_http_library_is_the_one_the_sdk_imported():
    from openai import _base_client

    http = http_library(openai)
    assert http is vars(_base_client).get("httpx2", vars(_base_client).get("httpx"))
    assert http.__name__ in {"httpx2", "httpx"}


def test_http_library_refuses_a_module_without_one():
    import llmledger

    with pytest.raises(ImportError):
        http_library(llmledger)  # has no _base_client at all


def _client(provider: InMemoryProvider, headers: dict[str, str]) -> openai.OpenAI:
    http = http_library(openai)
    return openai.OpenAI(base_url="https://api.openai.com/v1", api_key="x", max_retries=0, default_headers=headers,
                         http_client=http.Client(transport=provider.sync_transport(http)))


TOOLS = [{"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}
         for name in ("first", "second")]


@pytest.mark.parametrize(("choice", "called"), [
    (None, "first"), ({"type": "function", "function": {"name": "second"}}, "second")])
def test_tool_arguments_answer_with_a_call_to_the_chosen_tool(choice, called):
    client = _client(InMemoryProvider(), {"x-fake-tool-arguments": json.dumps({"age": 36})})
    extra = {"tool_choice": choice} if choice else {}
    reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}],
                                           tools=TOOLS, **extra)
    choice0 = reply.choices[0]
    assert choice0.finish_reason == "tool_calls"
    assert choice0.message.content is None
    [call] = choice0.message.tool_calls
    assert (call.function.name, json.loads(call.function.arguments)) == (called, {"age": 36})


def test_without_tools_or_arguments_the_answer_is_text():
    for headers, tools in (({"x-fake-tool-arguments": "{}"}, None), ({}, TOOLS)):
        client = _client(InMemoryProvider(), headers)
        extra = {"tools": tools} if tools else {}
        reply = client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}], **extra)
        assert reply.choices[0].message.content == "Hello from the fake provider."
        assert reply.choices[0].message.tool_calls is None
