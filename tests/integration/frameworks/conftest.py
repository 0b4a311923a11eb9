"""Fixtures shared by the framework tests."""

from __future__ import annotations

import pytest
from waiting import wait_for_spans


@pytest.fixture()
def spans_of(harness):
    return lambda count: wait_for_spans(harness, count)
