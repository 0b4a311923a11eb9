"""Every stream llmledger observes, for every provider: the one home of the stream proxies.

A stream is observed for a *call*: anything with ``on_chunk(chunk) -> hide?``, an idempotent
``finish_stream(error)``, ``span_current()`` and ``finish_unobserved(value)`` (the lifecycle's
``Call``). What is here:

* :func:`traced_generator` / :func:`traced_async_generator`: the one chunk loop. SDK generators are
  replaced by it outright (closing it ends the call); the proxies below run it over their stream's
  iterator (leaving a ``for`` loop early does not end a stream the user can still read). It is
  written once for ``for`` and once for ``async for``: Python shares no loop body between the two,
  and one function both loops call per chunk costs 347 instructions a chunk
  (``benchmarks/bench_chunk_loop.py``), past the 2,000 a chunk llmledger allows itself;
* :class:`SyncStreamProxy` / :class:`AsyncStreamProxy`: transparent wrapt proxies for stream
  objects (OpenAI/Anthropic/Groq ``Stream``, Bedrock ``EventStream``, ...): ``isinstance`` still
  holds, helpers reach the real object, iteration yields the same chunks (minus a usage-only chunk
  llmledger itself asked for), and ``with``/``close()`` behave as before and end the call;
* :class:`ContextManagerProxy` (sync :class:`StreamManagerProxy`, async
  :class:`AsyncStreamManagerProxy`): a context manager whose enter sends the request (Anthropic's
  ``messages.stream()``, Cohere's raw ``chat_stream``); the stream found in the entered value is
  replaced by a proxy before anything reads it, and exit ends the call;
* :func:`observe`: where a result's stream lives (:class:`StreamPlace`, declared by the adapter)
  -> the object handed back to the user.

The call ends exactly once: at the end of the stream, on an error, on close/exit, or when an
abandoned stream is garbage-collected (the call's own ``__del__``).
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, Protocol

import wrapt

from llmledger.instrumentation.adapter import StreamPlace

Step = Callable[[], contextlib.AbstractContextManager[object]]
"""A per-step scope: entered around each ``next`` of a traced generator, never while the user's code
runs between chunks (google-genai makes its hop log current this way)."""


class ObservedCall(Protocol):
    def on_chunk(self, chunk: Any) -> bool: ...

    def first_chunk(self) -> Callable[[Any], bool] | None:
        """Note the first chunk's arrival; the guarded-by-the-caller chunk reader (None: none)."""

    def reader_failed(self) -> None:
        """The reader raised: log it; no more chunks are read."""

    def finish_stream(self, error: BaseException | None = None) -> None: ...


class ManagedCall(ObservedCall, Protocol):
    def span_current(self) -> contextlib.AbstractContextManager[object]: ...

    def finish_unobserved(self, value: Any) -> None: ...


def traced_generator(source: Iterator[Any], call: ObservedCall, step: Step | None = None, *,
                     owned: bool = True) -> Iterator[Any]:
    """Yield ``source``'s chunks through ``call``. ``owned``: the generator stands for the stream
    (an SDK generator), so closing it closes the source and ends the call; else (a proxy's loop)
    leaving it early leaves the stream open."""
    on_chunk = call.on_chunk
    try:
        if step is None:  # the common case: per chunk, one call of the adapter's reader and nothing else
            read: Callable[[Any], bool] | None = None
            first = True
            for chunk in source:
                if first:
                    first = False
                    read = _first_chunk(call)
                if read is not None:
                    try:
                        if read(chunk):
                            continue
                    except Exception:
                        read = None
                        call.reader_failed()
                yield chunk
        else:
            while True:
                with step():
                    try:
                        chunk = next(source)
                    except StopIteration:
                        break
                if not on_chunk(chunk):
                    yield chunk
    except GeneratorExit:
        if owned:
            call.finish_stream(None)
            close = getattr(source, "close", None)
            if close is not None:
                close()
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


async def traced_async_generator(source: AsyncIterator[Any], call: ObservedCall, step: Step | None = None,
                                 *, owned: bool = True) -> AsyncIterator[Any]:
    on_chunk = call.on_chunk
    try:
        if step is None:
            read: Callable[[Any], bool] | None = None
            first = True
            async for chunk in source:
                if first:
                    first = False
                    read = _first_chunk(call)
                if read is not None:
                    try:
                        if read(chunk):
                            continue
                    except Exception:
                        read = None
                        call.reader_failed()
                yield chunk
        else:
            while True:
                with step():
                    try:
                        chunk = await source.__anext__()
                    except StopAsyncIteration:
                        break
                if not on_chunk(chunk):
                    yield chunk
    except GeneratorExit:
        if owned:
            call.finish_stream(None)
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    call.finish_stream(None)


def _first_chunk(call: ObservedCall) -> Callable[[Any], bool] | None:
    """``call.first_chunk()``, which must not end the user's stream if it fails."""
    try:
        return call.first_chunk()
    except Exception:
        call.reader_failed()
        return None


class SyncStreamProxy(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: ObservedCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_chunks: Iterator[Any] | None = None

    def __iter__(self) -> Iterator[Any]:
        # One traced generator over the stream's iterator, for ``for`` loops and ``next(stream)``
        # alike: they share the position, and leaving a loop early leaves the stream open.
        if self._self_chunks is None:
            self._self_chunks = traced_generator(iter(self.__wrapped__), self._self_call, owned=False)
        return self._self_chunks

    def __next__(self) -> Any:
        return next(self.__iter__())

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
    def __init__(self, wrapped: Any, call: ObservedCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_chunks: AsyncIterator[Any] | None = None

    def __aiter__(self) -> AsyncIterator[Any]:
        if self._self_chunks is None:
            self._self_chunks = traced_async_generator(self.__wrapped__.__aiter__(), self._self_call, owned=False)
        return self._self_chunks

    async def __anext__(self) -> Any:
        return await self.__aiter__().__anext__()

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


_PROXIES = (SyncStreamProxy, AsyncStreamProxy)


def proxy_stream(stream: Any, call: ObservedCall, step: Step | None = None) -> Any:
    """What the user gets instead of ``stream``: generators become traced generators, stream objects
    get a proxy."""
    if inspect.isgenerator(stream):
        return traced_generator(stream, call, step)
    if inspect.isasyncgen(stream):
        return traced_async_generator(stream, call, step)
    if hasattr(stream, "__aiter__") or hasattr(stream, "__anext__"):
        return AsyncStreamProxy(stream, call)
    return SyncStreamProxy(stream, call)


class ContextManagerProxy(wrapt.ObjectProxy[Any]):
    """A context manager whose enter sends the request and whose entered value holds the stream at
    ``attribute``. Enter runs with the call's span current (the request fires after the lifecycle's
    wrapper has returned); a failed enter ends the call with that error, re-raised untouched. If the
    stream is not where expected, the call ends at exit from what the entered value says."""

    def __init__(self, wrapped: Any, call: ManagedCall, attribute: str) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_attribute = attribute
        self._self_value: Any = None
        self._self_observed = False

    def _self_entered(self, value: Any) -> Any:
        self._self_value = value
        with contextlib.suppress(Exception):  # the stream stays the SDK's, unobserved
            stream = getattr(value, self._self_attribute, None)
            if stream is not None and not isinstance(stream, _PROXIES):
                setattr(value, self._self_attribute, proxy_stream(stream, self._self_call))
                self._self_observed = True
        return value

    def _self_exited(self) -> None:
        if self._self_observed:
            self._self_call.finish_stream(None)  # normally already done by the stream's end
        else:
            self._self_call.finish_unobserved(self._self_value)


class StreamManagerProxy(ContextManagerProxy):
    def __enter__(self) -> Any:
        call = self._self_call
        with call.span_current():
            try:
                value = self.__wrapped__.__enter__()
            except BaseException as error:
                call.finish_stream(error)
                raise
        return self._self_entered(value)

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return self.__wrapped__.__exit__(exc_type, exc, tb)
        finally:
            self._self_exited()


class AsyncStreamManagerProxy(ContextManagerProxy):
    async def __aenter__(self) -> Any:
        call = self._self_call
        with call.span_current():
            try:
                value = await self.__wrapped__.__aenter__()
            except BaseException as error:
                call.finish_stream(error)
                raise
        return self._self_entered(value)

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> Any:
        try:
            return await self.__wrapped__.__aexit__(exc_type, exc, tb)
        finally:
            self._self_exited()


def observe(result: Any, place: StreamPlace, call: ManagedCall, step: Step | None = None) -> Any:
    """The object the user gets for ``result``, whose stream lives at ``place``."""
    if place.kind == "result":
        return proxy_stream(result, call, step)
    if place.kind == "item":
        if place.name not in result:
            call.finish_stream(None)
            return result
        result[place.name] = proxy_stream(result[place.name], call, step)
        return result
    if hasattr(result, "__aenter__"):
        return AsyncStreamManagerProxy(result, call, place.name)
    return StreamManagerProxy(result, call, place.name)
