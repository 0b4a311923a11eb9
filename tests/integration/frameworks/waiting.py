"""Wait for spans recorded off the caller's thread (LiteLLM logs calls from its own threads/tasks)."""

from __future__ import annotations

import time


def wait_for_spans(harness, count: int, timeout: float = 20.0) -> list:
    """LiteLLM reports sync calls from its own logging threads: the span may land just after the
    call returns. Waits for ``count`` spans, then a little longer to catch any extra one."""
    deadline = time.monotonic() + timeout
    while len(harness.spans()) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    return harness.spans()


async def async_wait_for_spans(harness, count: int, timeout: float = 20.0) -> list:
    """As ``wait_for_spans``, yielding to the event loop (LiteLLM logs async calls from tasks)."""
    import asyncio

    deadline = time.monotonic() + timeout
    while len(harness.spans()) < count and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    return harness.spans()
