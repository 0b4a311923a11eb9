"""Transparent proxies for SDK stream objects (OpenAI/Anthropic/Groq ``Stream``, Bedrock EventStream...).

The proxy is the stream to the user: ``isinstance`` still holds, attributes and helpers reach the
real object, iteration yields the same chunks (minus a usage-only chunk llmledger itself asked
for), and ``with``/``close()`` behave as before. Per chunk it only notes the first chunk's time and
lets the adapter's handler look for usage. The call is finished exactly once: at the end of the
stream, on an error, on close/exit, or when an abandoned stream is garbage-collected (``Call``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import wrapt

from llmledger.instrumentation.lifecycle import Call


def _chunks(iterator: Iterator[Any], call: Call) -> Iterator[Any]:
    on_chunk = call.on_chunk
    try:
        for chunk in iterator:
            if not on_chunk(chunk):
                yield chunk
    except GeneratorExit:  # the loop was left early: the stream is not over (close/GC end it)
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


async def _async_chunks(iterator: AsyncIterator[Any], call: Call) -> AsyncIterator[Any]:
    on_chunk = call.on_chunk
    try:
        async for chunk in iterator:
            if not on_chunk(chunk):
                yield chunk
    except GeneratorExit:
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


class SyncStreamProxy(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_iterator: Any = None

    def __iter__(self) -> Iterator[Any]:
        # ``for chunk in stream`` runs this generator: resuming it costs less per chunk than a
        # Python-level ``__next__`` call. ``next(stream)`` still works and shares the position.
        if self._self_iterator is None:
            self._self_iterator = iter(self.__wrapped__)
        return _chunks(self._self_iterator, self._self_call)

    def __next__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = iter(self.__wrapped__)
        call = self._self_call
        while True:
            try:
                chunk = next(self._self_iterator)
            except StopIteration:
                call.finish_stream(None)
                raise
            except BaseException as error:
                call.finish_stream(error)
                raise
            if not call.on_chunk(chunk):
                return chunk

    def __enter__(self) -> SyncStreamProxy:
        self.__wrapped__.__enter__()
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_call.finish_stream(None)  # an error in the caller's block is not the call's

    def close(self) -> Any:
        try:
            return self.__wrapped__.close()
        finally:
            self._self_call.finish_stream(None)


class AsyncStreamProxy(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: Call) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_iterator: Any = None

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._self_iterator is None:
            self._self_iterator = self.__wrapped__.__aiter__()
        return _async_chunks(self._self_iterator, self._self_call)

    async def __anext__(self) -> Any:
        if self._self_iterator is None:
            self._self_iterator = self.__wrapped__.__aiter__()
        call = self._self_call
        while True:
            try:
                chunk = await self._self_iterator.__anext__()
            except StopAsyncIteration:
                call.finish_stream(None)
                raise
            except BaseException as error:
                call.finish_stream(error)
                raise
            if not call.on_chunk(chunk):
                return chunk

    async def __aenter__(self) -> AsyncStreamProxy:
        await self.__wrapped__.__aenter__()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_call.finish_stream(None)  # an error in the caller's block is not the call's

    async def close(self) -> Any:
        try:
            return await self.__wrapped__.close()
        finally:
            self._self_call.finish_stream(None)
