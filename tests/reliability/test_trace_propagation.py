"""Provider requests carry no trace context unless configured (issue 18, item 11).

anthropic 2.x propagates its own span's context, which is a child of llmledger's (current during the
call): without care the provider, a third party, receives our trace ids. Checked at the wire, on
what the fake provider received.
"""

from __future__ import annotations

import anthropic
import openai
import pytest
from opentelemetry import baggage, context

from harness import Harness, instrumented
from llmledger.config import Config
from llmledger.fake_provider import FakeProviderServer


def _anthropic_call(fake: FakeProviderServer) -> dict[str, str]:
    client = anthropic.Anthropic(base_url=fake.url, api_key="x", max_retries=0)
    client.messages.create(model="claude-haiku-4-5", max_tokens=8, messages=[{"role": "user", "content": "hi"}],
                           extra_headers={"x-test-mark": "propagation"})
    return next(r.headers for r in reversed(fake.requests) if r.headers.get("x-test-mark") == "propagation")


def test_anthropic_requests_carry_no_traceparent_by_default(harness: Harness,
                                                            fake_provider: FakeProviderServer) -> None:
    token = context.attach(baggage.set_baggage("customer.id", "cust-secret"))
    try:
        headers = _anthropic_call(fake_provider)
    finally:
        context.detach(token)
    assert "traceparent" not in headers
    assert "baggage" not in headers
    assert harness.spans()  # the call is still traced


def test_anthropic_requests_carry_our_trace_when_enabled(fake_provider: FakeProviderServer) -> None:
    with instrumented(Config(propagate_trace_context=True)) as harness:
        headers = _anthropic_call(fake_provider)
        ours = next(s for s in harness.spans() if s.instrumentation_scope.name == "llmledger")
    assert headers["traceparent"].split("-")[1] == f"{ours.context.trace_id:032x}"


def test_propagation_outside_llm_calls_is_untouched(harness: Harness) -> None:
    from opentelemetry import propagate, trace
    from opentelemetry.sdk.trace import TracerProvider

    span = TracerProvider().get_tracer("app").start_span("app")
    carrier: dict[str, str] = {}
    propagate.inject(carrier, context=trace.set_span_in_context(span))
    assert carrier["traceparent"].split("-")[2] == f"{span.get_span_context().span_id:016x}"


def test_openai_requests_carry_no_traceparent_either(harness: Harness, fake_provider: FakeProviderServer,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # An app that injects on its own (as an instrumented HTTP client does) via the global propagator.
    from opentelemetry import propagate

    def send(request: object) -> None:
        propagate.inject(request.headers)  # type: ignore[attr-defined]

    import httpx

    client = openai.OpenAI(base_url=fake_provider.url + "/v1", api_key="x", max_retries=0,
                           http_client=httpx.Client(event_hooks={"request": [send]}))
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                   extra_headers={"x-test-mark": "openai-propagation"})
    headers = next(r.headers for r in reversed(fake_provider.requests)
                   if r.headers.get("x-test-mark") == "openai-propagation")
    assert "traceparent" not in headers
