"""OpenAI regional-processing hosts become the ``region`` price modifier."""

from __future__ import annotations

import pytest

from llmledger.instrumentation.providers import openai as adapter


@pytest.mark.parametrize(("host", "region"), [
    ("eu.api.openai.com", "eu"), ("us.api.openai.com", "us"), ("api.openai.com", None), ("127.0.0.1", None),
    (None, None), ("my-proxy.example.com", None), ("x.y.api.openai.com", None)])
def test_processing_region(host, region):
    assert adapter.processing_region(host) == region
