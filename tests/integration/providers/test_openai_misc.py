"""OpenAI embeddings, legacy completions, Azure, raw responses, HTTP errors, bad usage data."""

from __future__ import annotations

import openai
import pytest

import llmledger

MSG = [{"role": "user", "content": "hi"}]


def test_embeddings(harness, openai_client):
    with llmledger.customer("cust-e", feature="search"):
        result = openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b"],
                                                 extra_headers={"x-fake-input-tokens": "500000"})
    assert len(result.data) == 2 and len(result.data[0].embedding) == 4
    attrs = dict(harness.span().attributes)
    assert harness.span().name == "embeddings text-embedding-3-small"
    assert attrs["gen_ai.operation.name"] == "embeddings"
    assert attrs["gen_ai.usage.input_tokens"] == 500_000
    # text-embedding-3-small: 500_000 * $0.02/M = 0.01
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.01)
    assert attrs["app.feature"] == "search"


def test_legacy_completion(harness, openai_client):
    openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="hi",
                                     extra_headers={"x-fake-input-tokens": "1000", "x-fake-output-tokens": "1000"})
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.operation.name"] == "text_completion"
    # gpt-3.5-turbo-instruct: 1_000 * $1.50/M + 1_000 * $2/M = 0.0015 + 0.002 = 0.0035
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0035)


def test_azure_openai_provider_and_model_from_response(harness, fake_provider):
    azure = openai.AzureOpenAI(azure_endpoint=fake_provider.url, api_version="2024-10-21", api_key="x",
                               max_retries=0)
    azure.chat.completions.create(model="my-gpt4o-prod", messages=MSG, extra_headers={
        "x-fake-model": "gpt-4o-2024-08-06", "x-fake-input-tokens": "10000", "x-fake-output-tokens": "100"})
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.provider.name"] == "azure.ai.openai"
    assert attrs["gen_ai.request.model"] == "my-gpt4o-prod"
    assert attrs["gen_ai.response.model"] == "gpt-4o-2024-08-06"
    # gpt-4o-2024-08-06 (Azure global = OpenAI list price): 10_000 * $2.50/M + 100 * $10/M = 0.026
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.026)


def test_with_raw_response_keeps_working_and_is_priced(harness, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(
        model="gpt-4o", messages=MSG, extra_headers={"x-fake-input-tokens": "1000", "x-fake-output-tokens": "10"})
    assert raw.http_response.status_code == 200
    completion = raw.parse()
    assert completion.usage.prompt_tokens == 1_000
    # gpt-4o: 1_000 * $2.50/M + 10 * $10/M = 0.0025 + 0.0001 = 0.0026
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(0.0026)


def test_with_streaming_response_body_left_to_the_user(harness, openai_client, fake_provider):
    with openai_client.chat.completions.with_streaming_response.create(model="gpt-4o", messages=MSG,
                                                                       stream=True) as response:
        lines = [line for line in response.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    assert "stream_options" not in fake_provider.requests[-1].json  # the user's request as they made it
    assert len(harness.spans()) == 1


@pytest.mark.parametrize(("status", "error"), [(429, openai.RateLimitError),
                                                (500, openai.InternalServerError)])
def test_http_errors_reach_caller_with_original_type(harness, openai_client, status, error):
    with pytest.raises(error) as raised, llmledger.customer("cust-err"):
        openai_client.chat.completions.create(model="gpt-4o", messages=MSG,
                                              extra_headers={"x-fake-status": str(status)})
    assert raised.value.status_code == status
    span = harness.span()
    assert span.status.status_code.name == "ERROR"
    assert span.attributes["error.type"] == error.__name__
    assert span.attributes["llmledger.cost.status"] == "no_usage"
    assert harness.sum_of("llmledger.customer.calls", customer__id="cust-err", error__type=error.__name__) == 1
    assert harness.sum_of("gen_ai.client.operation.duration", error__type=error.__name__) > 0


def test_missing_usage_is_no_usage(harness, openai_client):
    result = openai_client.chat.completions.create(model="gpt-4o", messages=MSG, extra_headers={"x-fake-usage": "omit"})
    assert result.usage is None
    attrs = dict(harness.span().attributes)
    assert attrs["llmledger.cost.status"] == "no_usage"
    assert "gen_ai.usage.cost" not in attrs and "gen_ai.usage.input_tokens" not in attrs


def test_malformed_usage_degrades_and_logs_once(harness, openai_client, caplog):
    for _ in range(2):
        result = openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                       extra_headers={"x-fake-usage": "malformed"})
        assert result.choices[0].message.content == "Hello from the fake provider."
    for span in harness.spans():
        assert span.attributes["llmledger.cost.status"] == "no_usage"
    logged = [r for r in caplog.records if "cannot read" in r.getMessage() and "gpt-4o-mini" in r.getMessage()]
    assert len(logged) == 1


def test_malformed_responses_usage_in_stream(harness, openai_client):
    events = list(openai_client.responses.create(model="gpt-4o", input="hi", stream=True,
                                                 extra_headers={"x-fake-usage": "malformed"}))
    assert events[-1].type == "response.completed"
    assert harness.span().attributes["llmledger.cost.status"] == "no_usage"
