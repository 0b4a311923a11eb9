"""Raw responses (``with_raw_response`` / ``with_streaming_response`` of the Stainless SDKs: openai,
anthropic, groq): the body is the user's to read, so reading it is what records the call.

:class:`RawResponseProxy` stands in for the SDK's ``APIResponse`` / ``LegacyAPIResponse``: same
object for ``isinstance``, headers and every other attribute, and

* ``parse()`` (sync, or awaited when the SDK makes it a coroutine) hands back the SDK's own result:
  a non-streamed body is read by the adapter and ends the call; a streamed one comes back as the
  usual stream proxy (same chunks), ending the call when the stream ends, fails or is closed;
* ``iter_lines`` / ``iter_text`` / ``iter_bytes`` (sync or async) yield the SDK's own pieces; the
  server-sent events in them (``data: {...}`` lines) are decoded a second time, for llmledger only,
  and shown to the stream handler; a non-streamed JSON body read this way, or with ``read()`` /
  ``text()`` / ``json()``, is decoded at its end;
* ``close()`` (also what the SDK's ``with`` block calls at exit) ends the call with what was read:
  an unread body is ``no_usage``, as is a raw response garbage-collected unread.

The decoded JSON becomes :class:`Fields` (attribute access, None when absent), which the adapters'
field readers accept like SDK models.
"""

from __future__ import annotations

import codecs
import contextlib
import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

import wrapt

from llmledger.instrumentation.streams import ManagedCall, proxy_stream


class BodyCall(ManagedCall, Protocol):
    @property
    def streamed(self) -> bool: ...

    def finish_body(self, body: Any) -> None: ...


class Fields(dict[str, Any]):
    """Decoded JSON read like an SDK model: ``fields.usage``; None for an absent field."""

    def __getattr__(self, name: str) -> Any:
        return self.get(name)


def _decode(text: str | bytes) -> Any:
    return json.loads(text, object_hook=Fields)


def read_body(raw_response: Any) -> Any:
    """The JSON body an SDK's raw response has already read, as :class:`Fields`; None when it has not
    been read (no I/O here) or is not JSON."""
    try:
        return _decode(raw_response.http_response.content)
    except Exception:
        return None


def _as_fields(value: Any) -> Any:
    if isinstance(value, dict):
        return Fields((key, _as_fields(item)) for key, item in value.items())
    if isinstance(value, list):
        return [_as_fields(item) for item in value]
    return value


class _BodyReader:
    """What llmledger reads from the pieces the user iterates: SSE events one by one (streamed
    requests), or the whole JSON body at its end."""

    __slots__ = ("_body", "_call", "_decoder", "_partial")

    def __init__(self, call: BodyCall) -> None:
        self._call = call
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._body: list[str] | None = None if call.streamed else []

    def feed(self, piece: Any, whole_lines: bool = False) -> None:
        text = self._decoder.decode(piece) if isinstance(piece, (bytes, bytearray)) else str(piece)
        if self._body is not None:
            self._body.append(text)
            return
        if whole_lines:  # iter_lines: each piece is one line, its ending stripped
            self._line(text)
            return
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            self._line(line)

    def _line(self, line: str) -> None:
        line = line.rstrip("\r")
        if line.startswith("data:"):
            data = line[5:].strip()
            if data and data != "[DONE]":
                with contextlib.suppress(ValueError):
                    self._call.on_chunk(_decode(data))

    def end(self) -> None:
        if self._body is None:
            self._line(self._partial)
            self._partial = ""
            self._call.finish_stream(None)
            return
        body = "".join(self._body)
        try:
            decoded = _decode(body)
        except ValueError:
            decoded = None
        self._call.finish_body(decoded)


def _read_pieces(source: Iterator[Any], call: BodyCall, whole_lines: bool) -> Iterator[Any]:
    reader = _BodyReader(call)
    try:
        for piece in source:
            with contextlib.suppress(Exception):
                reader.feed(piece, whole_lines)
            yield piece
    except GeneratorExit:  # left early: the body is the user's to read on or close
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    reader.end()


async def _read_async_pieces(source: AsyncIterator[Any], call: BodyCall, whole_lines: bool) -> AsyncIterator[Any]:
    reader = _BodyReader(call)
    try:
        async for piece in source:
            with contextlib.suppress(Exception):
                reader.feed(piece, whole_lines)
            yield piece
    except GeneratorExit:
        raise
    except BaseException as error:
        call.finish_stream(error)
        raise
    reader.end()


class RawResponseProxy(wrapt.ObjectProxy[Any]):
    def __init__(self, wrapped: Any, call: BodyCall) -> None:
        super().__init__(wrapped)
        self._self_call = call
        self._self_parsed: dict[int, tuple[Any, Any]] = {}

    # ---- parse() -------------------------------------------------------------------------------
    def parse(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = self.__wrapped__.parse(*args, **kwargs)
        except BaseException as error:
            self._self_call.finish_stream(error)
            raise
        if inspect.isawaitable(result):
            return self._self_awaited(result)
        return self._self_observe(result)

    async def _self_awaited(self, awaitable: Any) -> Any:
        try:
            result = await awaitable
        except BaseException as error:
            self._self_call.finish_stream(error)
            raise
        return self._self_observe(result)

    def _self_observe(self, parsed: Any) -> Any:
        # The SDK caches what parse() returns: hand back the same (proxied) object every time.
        known = self._self_parsed.get(id(parsed))
        if known is not None and known[0] is parsed:
            return known[1]
        call = self._self_call
        seen = parsed
        try:
            if call.streamed and (hasattr(parsed, "__next__") or hasattr(parsed, "__anext__")):
                seen = proxy_stream(parsed, call)
            else:
                call.finish_body(parsed)
        except Exception:
            seen = parsed
        self._self_parsed[id(parsed)] = (parsed, seen)
        return seen

    # ---- the body as pieces ------------------------------------------------------------------------
    def _self_pieces(self, name: str, whole_lines: bool, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        source = getattr(self.__wrapped__, name)(*args, **kwargs)
        if inspect.isasyncgen(source) or hasattr(source, "__aiter__"):
            return _read_async_pieces(source, self._self_call, whole_lines)
        return _read_pieces(source, self._self_call, whole_lines)

    def iter_lines(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_pieces("iter_lines", True, args, kwargs)

    def iter_text(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_pieces("iter_text", False, args, kwargs)

    def iter_bytes(self, *args: Any, **kwargs: Any) -> Any:
        return self._self_pieces("iter_bytes", False, args, kwargs)

    # ---- the body whole ----------------------------------------------------------------------------
    def _self_whole(self, name: str) -> Any:
        call = self._self_call
        try:
            result = getattr(self.__wrapped__, name)()
        except BaseException as error:
            call.finish_stream(error)
            raise
        if inspect.isawaitable(result):
            return self._self_whole_awaited(result, name)
        self._self_read_whole(result, name)
        return result

    async def _self_whole_awaited(self, awaitable: Any, name: str) -> Any:
        try:
            result = await awaitable
        except BaseException as error:
            self._self_call.finish_stream(error)
            raise
        self._self_read_whole(result, name)
        return result

    def _self_read_whole(self, result: Any, name: str) -> None:
        call = self._self_call
        try:
            if call.streamed:
                reader = _BodyReader(call)
                reader.feed(result)
                reader.end()
            else:
                call.finish_body(_as_fields(result) if name == "json" else _decode(result))
        except Exception:
            call.finish_body(None)

    def read(self) -> Any:
        return self._self_whole("read")

    def text(self) -> Any:
        return self._self_whole("text")

    def json(self) -> Any:
        return self._self_whole("json")

    # ---- close -------------------------------------------------------------------------------------
    def close(self) -> Any:
        call = self._self_call
        try:
            result = self.__wrapped__.close()
        except BaseException:
            call.finish_stream(None)
            raise
        if inspect.isawaitable(result):
            return self._self_closed_awaited(result)
        call.finish_stream(None)
        return result

    async def _self_closed_awaited(self, awaitable: Any) -> Any:
        try:
            return await awaitable
        finally:
            self._self_call.finish_stream(None)
