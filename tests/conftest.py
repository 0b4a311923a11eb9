"""Fixtures shared by every level: the fake provider server and the instrumented harness."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
# LiteLLM downloads its model cost map when imported unless told not to; tests use no network.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from harness import Harness, instrumented
from llmledger.fake_provider import FakeProviderServer


@pytest.fixture(scope="session")
def fake_provider() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture()
def harness() -> Iterator[Harness]:
    with instrumented() as h:
        yield h
