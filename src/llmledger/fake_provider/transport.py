"""The fake provider in process: an ``httpx2`` (or ``httpx``) ``MockTransport`` that answers with the
same routes as :class:`~llmledger.fake_provider.FakeProviderServer`, whatever host the client points to.

For tests that must point a real SDK at a provider's real base URL (``https://api.deepseek.com``,
...) without any network: ``openai.OpenAI(base_url=..., http_client=httpx2.Client(transport=t))``.
SDK releases differ in their HTTP library (openai 3 and anthropic 2 use ``httpx2``, earlier majors
``httpx``): :func:`http_library` names the one an SDK uses, and the transports take it.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType
from typing import Any

from llmledger.fake_provider.server import FakeRequest, FakeResponse, _load_routes

_HTTP_LIBRARIES = ("httpx2", "httpx")


def http_library(sdk: ModuleType) -> ModuleType:
    """The HTTP library (``httpx2`` or ``httpx`` module) a Stainless-generated SDK (openai, anthropic,
    groq ...) builds its clients on, read from what its ``_base_client`` imported."""
    base = vars(importlib.import_module(sdk.__name__ + "._base_client"))
    for name in _HTTP_LIBRARIES:
        if isinstance(base.get(name), ModuleType):
            return base[name]
    raise LookupError(f"{sdk.__name__} imports neither httpx2 nor httpx")


_OPENAI_OPERATION = re.compile(r"/(chat/completions|responses|embeddings|completions)$")


class InMemoryProvider:
    """Dispatches requests to the fake routes; keeps every request it answered in ``requests``.

    ``openai_compatible``: answer every base URL's OpenAI operations (``.../chat/completions``,
    ``.../responses`` ...) with the OpenAI routes, as an OpenAI-compatible provider does whatever its
    path prefix (``/v1beta/openai``, ``/inference/v1``, none)."""

    def __init__(self, *, openai_compatible: bool = False) -> None:
        self.routes = _load_routes()
        self.requests: list[FakeRequest] = []
        self.openai_compatible = openai_compatible

    def answer(self, request: FakeRequest) -> FakeResponse:
        self.requests.append(request)
        for method, pattern, handler in self.routes:
            if method == request.method and (match := pattern.search(request.path)):
                request.match = match
                return handler(request)
        return FakeResponse.json({"error": {"message": f"no fake route for {request.path}"}}, status=404)

    def handle(self, request: Any, http: ModuleType | None = None) -> Any:
        """An ``httpx2`` (or ``http``) request in, a response of the same library out (streams are sent
        whole)."""
        http = http or importlib.import_module("httpx2")
        path = request.url.path
        operation = _OPENAI_OPERATION.search(path) if self.openai_compatible else None
        if operation is not None:
            path = f"/v1/{operation.group(1)}"
        fake = FakeRequest(request.method, path, {}, {k.lower(): v for k, v in request.headers.items()},
                           request.read())
        response = self.answer(fake)
        body = response.body if isinstance(response.body, bytes) else b"".join(response.body)
        return http.Response(response.status, content=body, headers=response.headers)

    def sync_transport(self, http: ModuleType | None = None) -> Any:
        """A ``MockTransport`` of ``http`` (default ``httpx2``)."""
        http = http or importlib.import_module("httpx2")
        return http.MockTransport(lambda request: self.handle(request, http))

    def async_transport(self, http: ModuleType | None = None) -> Any:
        http = http or importlib.import_module("httpx2")

        async def handle(request: Any) -> Any:
            await request.aread()
            return self.handle(request, http)

        return http.MockTransport(handle)
