"""After a response claiming 2**64 tokens, metrics still leave the process over real OTLP (issue 18,
item 1): a child process exports to a loopback OTLP/HTTP receiver through the SDK's own exporter."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from otlp_receiver import OtlpReceiver

from llmledger.fake_provider import FakeProviderServer

_CHILD = """
import sys, llmledger, openai
otlp, fake = sys.argv[1], sys.argv[2]
llmledger.init(otlp_endpoint=otlp, otlp_protocol="http/protobuf", service_name="hostile", providers=["openai"])
client = openai.OpenAI(base_url=fake + "/v1", api_key="x", max_retries=0)
for customer, tokens in (("hostile", str(2**64)), ("hostile-max", str(2**63 - 1)), ("honest", "1000")):
    with llmledger.customer(customer):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                       extra_headers={"x-fake-input-tokens": tokens})
llmledger.shutdown()
"""


def test_metrics_export_over_otlp_after_hostile_counts(fake_provider: FakeProviderServer) -> None:
    with OtlpReceiver() as receiver:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(_CHILD), receiver.url, fake_provider.url],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "EncodingException" not in done.stderr and "Failed to encode" not in done.stderr, done.stderr
    assert receiver.metrics, "no metric export arrived"
    assert {"hostile", "hostile-max", "honest"} <= receiver.metric_customers("llmledger.customer.calls")
    assert receiver.metric_customers("llmledger.customer.tokens") == {"honest"}
