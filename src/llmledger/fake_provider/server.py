"""A local fake LLM provider that speaks the real wire formats, for tests and the offline demo.

One threaded HTTP/1.1 server on 127.0.0.1 serves every provider's routes (each provider's routes
live in their own module, listed in ``ROUTE_MODULES``). Streams use chunked transfer encoding, so a
stream cut short (``x-fake-fail-after``) is a real protocol error on the client side.

Behaviour is scripted per request with ``x-fake-*`` headers (see ``controls.py``), which every
SDK can send (``extra_headers=...``), so a test says exactly which usage the provider reports.
"""

from __future__ import annotations

import importlib
import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

ROUTE_MODULES: tuple[str, ...] = (
    # groq_routes and mistral_routes first: OpenAI's "/v1/chat/completions$" also matches their paths.
    "groq_routes",
    "mistral_routes",
    "openai_routes",
    "anthropic_routes",
    "bedrock_routes",
    "gemini_routes",
    "cohere_routes",
)


@dataclass
class FakeRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    match: re.Match[str] | None = None

    @property
    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class FakeResponse:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    fail_after: int | None = None
    """Streams only: send this many body parts, then cut the connection."""

    @classmethod
    def json(cls, payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> FakeResponse:
        return cls(status, json.dumps(payload).encode(),
                   {"content-type": "application/json", **(headers or {})})

    @classmethod
    def event_stream(cls, events: Iterable[tuple[str | None, Any]], fail_after: int | None = None,
                     headers: dict[str, str] | None = None) -> FakeResponse:
        """Server-sent events (see :func:`sse`), cut after ``fail_after`` of them if set."""
        return cls(200, sse(events), {"content-type": "text/event-stream", **(headers or {})},
                   fail_after=fail_after)


Handler = Callable[[FakeRequest], FakeResponse]

RAW_USAGE_HEADER = "x-fake-raw-usage"
_USAGE_KEYS = ("usageMetadata", "usage")


def with_raw_usage(request: FakeRequest, response: FakeResponse) -> FakeResponse:
    """The response with its usage object replaced by the ``x-fake-raw-usage`` header's JSON, if set
    (non-streamed JSON answers only; see controls.py): a usage block recorded from the real provider."""
    raw = request.header(RAW_USAGE_HEADER)
    if not raw or response.status != 200 or not isinstance(response.body, bytes):
        return response
    if not response.headers.get("content-type", "").startswith("application/json"):
        return response
    payload = json.loads(response.body)
    key = next((name for name in _USAGE_KEYS if name in payload), "usage")
    payload[key] = json.loads(raw)
    return FakeResponse(response.status, json.dumps(payload).encode(), response.headers)
Route = tuple[str, str, Handler]
"""(HTTP method, path regex matched with ``re.search`` against the path, handler)."""


def _load_routes() -> list[tuple[str, re.Pattern[str], Handler]]:
    routes = []
    for name in ROUTE_MODULES:
        module = importlib.import_module(f"llmledger.fake_provider.{name}")
        for method, pattern, handler in module.ROUTES:
            routes.append((method, re.compile(pattern), handler))
    return routes


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else small responses on kept-alive connections wait ~40 ms for ACKs
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return

    def _handle(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = FakeRequest(self.command, split.path, parse_qs(split.query),
                              {k.lower(): v for k, v in self.headers.items()}, body)
        self.server.owner.record(request)
        response = self._dispatch(request)
        try:
            self._send(response)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client stopped reading (a stream closed early)

    def _dispatch(self, request: FakeRequest) -> FakeResponse:
        for method, pattern, handler in self.server.routes:
            if method != request.method:
                continue
            match = pattern.search(request.path)
            if match:
                request.match = match
                try:
                    return with_raw_usage(request, handler(request))
                except Exception as exc:  # a bug in a fake route: make it loud in the test
                    return FakeResponse.json({"error": {"message": f"fake provider error: {exc!r}"}},
                                             status=599)
        return FakeResponse.json({"error": {"message": f"no fake route for {request.method} "
                                                       f"{request.path}"}}, status=404)

    def _send(self, response: FakeResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        if isinstance(response.body, bytes):
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)
            return
        self.send_header("transfer-encoding", "chunked")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        for sent, part in enumerate(response.body):
            if response.fail_after is not None and sent >= response.fail_after:
                self.wfile.flush()
                return  # cut: no terminating chunk, the client sees an incomplete body
            self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.flush()
        self.wfile.write(b"0\r\n\r\n")

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256  # bursts of concurrent clients (tests, the demo)

    def __init__(self, address: tuple[str, int], owner: FakeProviderServer) -> None:
        super().__init__(address, _RequestHandler)
        self.owner = owner
        self.routes = _load_routes()


class FakeProviderServer:
    """``with FakeProviderServer() as fake: OpenAI(base_url=fake.url + "/v1", ...)``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in {"127.0.0.1", "localhost", "::1"}:
            raise ValueError("the fake provider only listens on loopback")
        self._server = _Server((host, port), self)
        self._thread: threading.Thread | None = None
        self.requests: list[FakeRequest] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        host = self._server.server_address[0]
        return f"http://{host!s}:{self.port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def record(self, request: FakeRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> FakeProviderServer:
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmledger-fake-provider",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeProviderServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def sse(events: Iterable[tuple[str | None, Any]]) -> Iterator[bytes]:
    """Server-sent events: (event name or None, JSON payload or the raw string ``[DONE]``)."""
    for event, data in events:
        payload = data if isinstance(data, str) else json.dumps(data)
        prefix = f"event: {event}\n" if event else ""
        yield f"{prefix}data: {payload}\n\n".encode()
