"""Fixtures shared by every level: the fake provider server and the instrumented harness."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

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
