"""SDK clients that several provider test modules use, pointed at the session's fake provider.

Clients a test must create at a moment of its choosing (before or after instrumenting, one per
scripted header set) come as factories.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from google import genai
from google.genai import types
from google.oauth2.credentials import Credentials
from mistralai.client import Mistral

from llmledger.fake_provider import FakeProviderServer


@pytest.fixture()
def gemini(fake_provider: FakeProviderServer) -> genai.Client:
    return genai.Client(api_key="x", http_options=types.HttpOptions(base_url=fake_provider.url))


@pytest.fixture()
def genai_vertex(fake_provider: FakeProviderServer) -> genai.Client:
    return genai.Client(vertexai=True, project="p", location="us-central1", credentials=Credentials(token="t"),
                        http_options=types.HttpOptions(base_url=fake_provider.url))


@pytest.fixture()
def mistral(fake_provider: FakeProviderServer) -> Callable[[], Mistral]:
    """``mistral()``: a new Mistral client."""
    return lambda: Mistral(api_key="x", server_url=fake_provider.url + "/mistral")


@pytest.fixture()
def bedrock_runtime(fake_provider: FakeProviderServer) -> Callable[..., Any]:
    """``bedrock_runtime(headers=None, service="bedrock-runtime")``: a new boto3 client that sends the
    given ``x-fake-*`` headers with every request."""

    def make(headers: dict[str, str] | None = None, service: str = "bedrock-runtime") -> Any:
        client = boto3.client(service, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x",
                              endpoint_url=fake_provider.url, config=Config(retries={"total_max_attempts": 1}))

        def add_fake_headers(request: Any, **_: Any) -> None:
            for name, value in (headers or {}).items():
                request.headers[name] = value

        client.meta.events.register(f"before-sign.{service}.*", add_fake_headers)
        return client

    return make
