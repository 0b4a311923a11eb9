"""ASGI middleware: ``app = LLMLedgerASGIMiddleware(app, resolver)``.

``resolver(scope)`` (sync or async) reads the customer from the request — a header set by your
auth layer, the authenticated user on the scope, a path parameter — and answers what
``integrations.resolve.ResolvedCustomer`` allows. Every LLM call the request makes is attributed
to it. A resolver that raises is a bug in the app: the request fails with that exception, as it
would without llmledger, rather than being silently mis-billed.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from llmledger.integrations.resolve import ResolvedCustomer, scope_for

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


class LLMLedgerASGIMiddleware:
    def __init__(self, app: ASGIApp,
                 resolver: Callable[[Scope], ResolvedCustomer | Awaitable[ResolvedCustomer]]) -> None:
        self.app = app
        self.resolver = resolver

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]],
                       send: Callable[[Any], Awaitable[None]]) -> None:
        if scope.get("type") not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        resolved = self.resolver(scope)
        if inspect.isawaitable(resolved):
            resolved = await resolved
        with scope_for(resolved):
            await self.app(scope, receive, send)
