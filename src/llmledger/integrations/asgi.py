"""ASGI middleware: ``app = LLMLedgerASGIMiddleware(app, resolver)``.

``resolver(scope)`` (sync or async) reads the customer from the request — a header set by your
auth layer, the authenticated user on the scope, a path parameter — and answers what
``integrations.resolve.ResolvedCustomer`` allows. Every LLM call the request makes is attributed
to it. A resolver that raises is a bug in the app: the request fails with that exception, as it
would without llmledger, rather than being silently mis-billed.

``limit_response=429`` (or ``limit_response: 429`` in the config) answers a request whose LLM call
a blocking limit refused with that status and a ``Retry-After`` header, if the app has not started
its response yet (see ``integrations.limit_response``).
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from llmledger.errors import LimitExceeded
from llmledger.integrations.limit_response import configured_status, limit_response
from llmledger.integrations.resolve import ResolvedCustomer, scope_for

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class LLMLedgerASGIMiddleware:
    def __init__(self, app: ASGIApp,
                 resolver: Callable[[Scope], ResolvedCustomer | Awaitable[ResolvedCustomer]], *,
                 limit_response: int | None = None) -> None:
        self.app = app
        self.resolver = resolver
        self.limit_response = limit_response

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope.get("type") not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        resolved = self.resolver(scope)
        if inspect.isawaitable(resolved):
            resolved = await resolved
        started = False

        async def tracked_send(message: Any) -> None:
            nonlocal started
            if message.get("type") == "http.response.start":
                started = True
            await send(message)

        with scope_for(resolved):
            try:
                await self.app(scope, receive, tracked_send)
            except LimitExceeded as error:
                status = configured_status(self.limit_response)
                if status is None or started or scope.get("type") != "http":
                    raise
                _, headers, body = limit_response(status, error)
                await send({"type": "http.response.start", "status": status,
                            "headers": [(k.encode(), v.encode()) for k, v in headers]})
                await send({"type": "http.response.body", "body": body})
