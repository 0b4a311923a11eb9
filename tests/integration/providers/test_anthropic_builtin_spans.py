"""anthropic 2.x emits its own ``anthropic.messages.create`` spans (with ``gen_ai.usage.*``) whenever a
TracerProvider is set. llmledger leaves them on (they are the user's telemetry), nests them under
its own span, and never counts their tokens in its metrics. Span-based sums filter on the scope."""

from __future__ import annotations

import inspect

import anthropic
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

import llmledger

MSG = [{"role": "user", "content": "Hello"}]
USAGE = {"x-fake-input-tokens": "1000", "x-fake-output-tokens": "200", "x-fake-cached-tokens": "300"}
# claude-haiku-4-5: 700*$1 + 300*$0.10 + 200*$5 per MTok = 700 + 30 + 1000 = 0.00173
COST = 0.00173
SDK_SCOPE = "com.anthropic.sdk.python"
pytestmark = pytest.mark.skipif(
    "open_telemetry" not in inspect.signature(anthropic.Anthropic.__init__).parameters,
    reason=f"anthropic {anthropic.__version__} emits no spans of its own (no open_telemetry option)")


@pytest.fixture()
def sdk_tracing(harness):
    """A TracerProvider for the SDK's own spans, exporting into the harness's exporter."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(harness.exporter))
    yield {"tracer_provider": provider}
    provider.shutdown()


def _by_scope(harness) -> dict[str, list]:
    spans: dict[str, list] = {}
    for span in harness.spans():
        spans.setdefault(span.instrumentation_scope.name, []).append(span)
    return spans


def _assert_nested_and_counted_once(harness) -> None:
    spans = _by_scope(harness)
    [ours], [sdk] = spans["llmledger"], spans[SDK_SCOPE]
    assert sdk.name == "anthropic.messages.create"
    assert sdk.parent is not None and sdk.parent.span_id == ours.context.span_id  # a child of ours
    assert sdk.context.trace_id == ours.context.trace_id
    # Both carry the tokens (same semconv meaning: cache included in input) ...
    assert ours.attributes["gen_ai.usage.input_tokens"] == sdk.attributes["gen_ai.usage.input_tokens"] == 1000
    # ... so a sum over all spans counts twice, and the documented filter on our scope counts once,
    assert sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in harness.spans()) == 2000
    assert sum(s.attributes.get("gen_ai.usage.input_tokens", 0) for s in spans["llmledger"]) == 1000
    # ... and llmledger's metrics (the SDK has none) count once.
    assert harness.sum_of("gen_ai.client.token.usage", gen_ai__token__type="input") == 1000
    assert harness.sum_of("llmledger.customer.tokens", customer__id="c1", gen_ai__token__type="input") == 1000
    assert harness.sum_of("llmledger.customer.cost", customer__id="c1") == pytest.approx(COST)
    assert "gen_ai.usage.cost" not in sdk.attributes


def test_sdk_spans_are_kept_nested_and_not_double_counted(harness, fake_provider, sdk_tracing):
    client = anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0,
                                 open_telemetry=sdk_tracing)
    with llmledger.customer("c1"):
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MSG, extra_headers=USAGE)
    _assert_nested_and_counted_once(harness)


def test_stream_helper_request_runs_under_our_span(harness, fake_provider, sdk_tracing):
    # The helper's request fires in __enter__, after stream() returned: llmledger makes its span
    # current there, so the SDK's span still nests under it. The request carries no traceparent:
    # propagation to the provider is off by default (issue 18; tests/reliability/test_trace_propagation.py).
    client = anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0,
                                 open_telemetry=sdk_tracing)
    with llmledger.customer("c1"), client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=MSG, extra_headers=USAGE) as stream:
        stream.until_done()
    _assert_nested_and_counted_once(harness)
    [ours] = _by_scope(harness)["llmledger"]
    assert ours.context.trace_id
    assert fake_provider.requests[-1].header("traceparent") is None


async def test_async_stream_helper_request_runs_under_our_span(harness, fake_provider, sdk_tracing):
    client = anthropic.AsyncAnthropic(api_key="x", base_url=fake_provider.url, max_retries=0,
                                      open_telemetry=sdk_tracing)
    with llmledger.customer("c1"):
        async with client.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=MSG,
                                          extra_headers=USAGE) as stream:
            await stream.until_done()
    _assert_nested_and_counted_once(harness)


def test_the_documented_off_switch_leaves_only_our_span(harness, fake_provider, sdk_tracing):
    # ``open_telemetry=False`` (or ANTHROPIC_OPEN_TELEMETRY=false) is ``{"traces": False}``; here with
    # the provider that would otherwise receive the SDK's spans, so the switch is what removes them.
    client = anthropic.Anthropic(api_key="x", base_url=fake_provider.url, max_retries=0,
                                 open_telemetry={**sdk_tracing, "traces": False})
    with llmledger.customer("c1"):
        client.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=MSG, extra_headers=USAGE)
    assert set(_by_scope(harness)) == {"llmledger"}
    assert harness.span().attributes["gen_ai.usage.cost"] == pytest.approx(COST)
