"""OpenAI chat completions through the real SDK against the fake provider: non-streamed paths."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from pydantic import BaseModel

import llmledger

MSG = [{"role": "user", "content": "Summarise this document."}]


def tokens(inp: int, out: int, cached: int = 0, reasoning: int = 0) -> dict[str, str]:
    return {"x-fake-input-tokens": str(inp), "x-fake-output-tokens": str(out),
            "x-fake-cached-tokens": str(cached), "x-fake-reasoning-tokens": str(reasoning)}


def test_chat_span_has_contract_attributes_and_list_price_cost(harness, openai_client, fake_provider):
    with llmledger.customer("cust-1", plan="starter", feature="summarize", user="u-7"):
        result = openai_client.chat.completions.create(model="gpt-4o", messages=MSG,
                                                       extra_headers=tokens(50_000, 1_000))
    assert result.choices[0].message.content == "Hello from the fake provider."
    span = harness.span()
    attrs = dict(span.attributes)
    assert span.name == "chat gpt-4o"
    assert span.kind.name == "CLIENT"
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.provider.name"] == "openai"
    assert attrs["gen_ai.request.model"] == "gpt-4o"
    assert attrs["gen_ai.response.model"] == "gpt-4o"
    assert attrs["gen_ai.response.id"] == result.id
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert attrs["gen_ai.request.stream"] is False
    assert attrs["server.address"] == "127.0.0.1"
    assert attrs["server.port"] == fake_provider.port
    assert attrs["gen_ai.usage.input_tokens"] == 50_000
    assert attrs["gen_ai.usage.output_tokens"] == 1_000
    # gpt-4o: 50_000 * $2.50/M + 1_000 * $10/M = 0.125 + 0.01 = 0.135
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.135, abs=1e-9)
    assert attrs["llmledger.cost.input"] == pytest.approx(0.125, abs=1e-9)
    assert attrs["llmledger.cost.output"] == pytest.approx(0.01, abs=1e-9)
    assert attrs["llmledger.cost.status"] == "priced"
    assert attrs["llmledger.cost.source"].startswith("genai-prices")
    assert attrs["customer.id"] == "cust-1"
    assert attrs["customer.plan"] == "starter"
    assert attrs["app.feature"] == "summarize"
    assert attrs["user.id"] == "u-7"
    assert "error.type" not in attrs
    assert harness.records[0].cost.total == Decimal("0.135")  # exact, not a float


def test_cached_and_reasoning_tokens_are_subsets_and_priced(harness, openai_client):
    with llmledger.customer("cust-2"):
        openai_client.chat.completions.create(model="o3", messages=MSG,
                                              extra_headers=tokens(10_000, 5_000, cached=4_000, reasoning=4_000))
    attrs = dict(harness.span().attributes)
    assert attrs["gen_ai.usage.input_tokens"] == 10_000
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == 4_000
    assert attrs["gen_ai.usage.output_tokens"] == 5_000
    assert attrs["gen_ai.usage.reasoning.output_tokens"] == 4_000
    # o3 (since 2025-06-10): 6_000 uncached * $2/M + 4_000 cached * $0.50/M + 5_000 out * $8/M
    #   = 0.012 + 0.002 + 0.04 = 0.054
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.054, abs=1e-9)


def test_per_customer_cost_counter_equals_sum_of_span_costs(harness, openai_client):
    for customer, n in (("a", 3), ("b", 2)):
        with llmledger.customer(customer, plan="pro"):
            for i in range(n):
                openai_client.chat.completions.create(model="gpt-4o-mini", messages=MSG,
                                                      extra_headers=tokens(1_000 * (i + 1), 100))
    for customer in ("a", "b"):
        span_sum = sum(s.attributes["gen_ai.usage.cost"] for s in harness.spans()
                       if s.attributes["customer.id"] == customer)
        assert harness.sum_of("llmledger.customer.cost", customer__id=customer) == pytest.approx(span_sum)
    # a: gpt-4o-mini (1k+2k+3k) * $0.15/M + 300 * $0.60/M = 0.0009 + 0.00018 = 0.00108
    assert harness.sum_of("llmledger.customer.cost", customer__id="a") == pytest.approx(0.00108)
    assert harness.sum_of("llmledger.customer.calls", customer__id="a") == 3
    assert harness.sum_of("llmledger.customer.tokens", customer__id="a",
                          gen_ai__token__type="input") == 6_000


def test_unknown_model_is_unpriced_never_zero(harness, openai_client, caplog):
    with llmledger.customer("cust-3"):
        openai_client.chat.completions.create(model="acme-llm-9000", messages=MSG, extra_headers=tokens(100, 10))
        openai_client.chat.completions.create(model="acme-llm-9000", messages=MSG, extra_headers=tokens(100, 10))
    for span in harness.spans():
        attrs = dict(span.attributes)
        assert attrs["llmledger.cost.status"] == "unpriced"
        assert "gen_ai.usage.cost" not in attrs
        assert attrs["gen_ai.usage.input_tokens"] == 100
    assert harness.sum_of("llmledger.unpriced.calls", gen_ai__request__model="acme-llm-9000") == 2
    assert harness.sum_of("llmledger.customer.cost", customer__id="cust-3") == 0
    assert not harness.points("llmledger.customer.cost")
    warnings = [r for r in caplog.records if "acme-llm-9000" in r.getMessage()]
    assert len(warnings) == 1


def test_parse_is_instrumented_once(harness, openai_client):
    class Answer(BaseModel):
        text: str

    # The fake answers plain text; parse() with no response_format keeps the content as is.
    with llmledger.customer("cust-4"):
        parsed = openai_client.chat.completions.parse(model="gpt-4o", messages=MSG, extra_headers=tokens(2_000, 50))
    assert parsed.choices[0].message.content == "Hello from the fake provider."
    span = harness.span()
    # gpt-4o: 2_000 * $2.50/M + 50 * $10/M = 0.005 + 0.0005 = 0.0055
    assert span.attributes["gen_ai.usage.cost"] == pytest.approx(0.0055)
    assert Answer  # the model type exists; structured output parsing itself is the SDK's business


class Answer(BaseModel):
    text: str


def test_parse_refusing_the_completion_it_received_is_recorded_priced(harness, openai_client):
    # The fake's plain text is not an Answer: parse() raises pydantic's error after the provider
    # answered (and billed) the call. The user gets the same error; the call is recorded with its cost.
    with llmledger.customer("cust-parse"), pytest.raises(ValueError) as raised:
        openai_client.chat.completions.parse(model="gpt-4o", messages=MSG, response_format=Answer,
                                             extra_headers=tokens(2_000, 50))
    assert type(raised.value).__name__ == "ValidationError"
    attrs = dict(harness.span().attributes)
    assert attrs["error.type"] == "ValidationError"
    assert attrs["customer.id"] == "cust-parse"
    assert attrs["gen_ai.usage.input_tokens"] == 2_000
    # gpt-4o: 2_000 * $2.50/M + 50 * $10/M = 0.0055
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0055)


def test_parse_of_a_truncated_completion_is_recorded_priced(harness, openai_client):
    import openai

    with pytest.raises(openai.LengthFinishReasonError):
        openai_client.chat.completions.parse(model="gpt-4o", messages=MSG, response_format=Answer,
                                             extra_headers={**tokens(3_000, 100), "x-fake-finish-reason": "length"})
    attrs = dict(harness.span().attributes)
    assert attrs["error.type"] == "LengthFinishReasonError"
    assert attrs["gen_ai.response.finish_reasons"] == ("length",)
    # gpt-4o: 3_000 * $2.50/M + 100 * $10/M = 0.0075 + 0.001 = 0.0085
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.0085)


def test_a_request_the_sdk_refuses_to_send_is_still_not_recorded(harness, openai_client):
    with pytest.raises(TypeError):
        openai_client.chat.completions.parse(model="gpt-4o", messages=MSG, response_format=Answer,
                                             stream=True)  # parse() takes no stream argument
    assert harness.spans() == []


def test_async_chat(harness, openai_aclient):
    async def run():
        with llmledger.customer("cust-async", plan="pro"):
            return await openai_aclient.chat.completions.create(model="gpt-4o", messages=MSG,
                                                                extra_headers=tokens(4_000, 200))
    result = asyncio.run(run())
    assert result.usage.prompt_tokens == 4_000
    attrs = dict(harness.span().attributes)
    # gpt-4o: 4_000 * $2.50/M + 200 * $10/M = 0.01 + 0.002 = 0.012
    assert attrs["gen_ai.usage.cost"] == pytest.approx(0.012)
    assert attrs["customer.id"] == "cust-async"


def test_service_tier_from_response_is_priced(harness, openai_client):
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG, service_tier="flex",
                                          extra_headers={**tokens(10_000, 1_000), "x-fake-service-tier": "priority"})
    record = harness.records[0]
    assert record.modifiers.service_tier == "priority"
    assert harness.span().attributes["llmledger.service_tier"] == "priority"


def test_api_key_never_exported(harness, openai_client):
    openai_client.chat.completions.create(model="gpt-4o", messages=MSG)
    for span in harness.spans():
        for value in span.attributes.values():
            assert "SECRET" not in str(value)
    for point_name in ("llmledger.customer.calls", "gen_ai.client.operation.duration"):
        for point in harness.points(point_name):
            assert "SECRET" not in str(dict(point.attributes))
