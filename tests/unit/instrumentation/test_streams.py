"""Stream proxies: same chunks, shared position between next() and for, finished exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from llmledger.instrumentation.streams import AsyncStreamProxy, SyncStreamProxy


class FakeCall:
    def __init__(self, hide: object = None) -> None:
        self.finished: list[BaseException | None] = []
        self.seen: list[object] = []
        self.hide = hide
        self.firsts = self.failures = 0

    def on_chunk(self, chunk: object) -> bool:
        self.seen.append(chunk)
        if chunk == "bad":
            raise ValueError("a chunk the reader cannot read")
        return chunk == self.hide

    def first_chunk(self) -> Callable[[object], bool]:
        self.firsts += 1
        return self.on_chunk

    def reader_failed(self) -> None:
        self.failures += 1

    def finish_stream(self, error: BaseException | None = None) -> None:
        self.finished.append(error)


def test_for_loop_and_next_share_the_position_and_finish_once():
    call = FakeCall(hide="usage")
    proxy = SyncStreamProxy(iter(["a", "b", "c", "usage"]), call)
    assert next(proxy) == "a"
    assert list(proxy) == ["b", "c"]
    assert call.finished == [None]
    with pytest.raises(StopIteration):
        next(proxy)
    assert call.seen == ["a", "b", "c", "usage"]


def test_leaving_the_loop_early_does_not_end_the_stream():
    call = FakeCall()
    proxy = SyncStreamProxy(iter(["a", "b", "c"]), call)
    for chunk in proxy:
        assert chunk == "a"
        break
    assert call.finished == []
    assert list(proxy) == ["b", "c"]
    assert call.finished == [None]


def test_error_mid_stream_is_reraised_and_recorded():
    def failing():
        yield "a"
        raise ConnectionError("cut")

    call = FakeCall()
    with pytest.raises(ConnectionError):
        list(SyncStreamProxy(failing(), call))
    assert len(call.finished) == 1 and isinstance(call.finished[0], ConnectionError)


def test_async_proxy():
    async def chunks():
        for chunk in ("a", "usage", "b"):
            yield chunk

    async def main() -> list[object]:
        call = FakeCall(hide="usage")
        proxy = AsyncStreamProxy(chunks(), call)
        first = await proxy.__anext__()
        rest = [chunk async for chunk in proxy]
        assert call.finished == [None]
        return [first, *rest]

    assert asyncio.run(main()) == ["a", "b"]


def test_a_reader_that_fails_stops_reading_and_the_stream_goes_on():
    call = FakeCall(hide="usage")
    assert list(SyncStreamProxy(iter(["a", "bad", "c", "usage"]), call)) == ["a", "bad", "c", "usage"]
    assert (call.seen, call.firsts, call.failures, call.finished) == (["a", "bad"], 1, 1, [None])
