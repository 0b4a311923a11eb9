"""WSGI middleware: ``app = LLMLedgerWSGIMiddleware(app, resolver)``; ``resolver(environ)``.

The customer scope covers the application call and the iteration of its response body, so a
streamed body that calls an LLM while it is being sent is attributed too.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from llmledger.errors import LimitExceeded
from llmledger.integrations.limit_response import configured_status, limit_response
from llmledger.integrations.resolve import ResolvedCustomer, scope_for

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LLMLedgerWSGIMiddleware:
    def __init__(self, app: WSGIApp, resolver: Callable[[dict[str, Any]], ResolvedCustomer], *,
                 limit_response: int | None = None) -> None:
        self.app = app
        self.resolver = resolver
        self.limit_response = limit_response

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        resolved = self.resolver(environ)
        started = False

        def tracked_start_response(*args: Any) -> Any:
            nonlocal started
            started = True
            return start_response(*args)

        with scope_for(resolved):
            try:
                body = self.app(environ, tracked_start_response)
            except LimitExceeded as error:
                status = configured_status(self.limit_response)
                if status is None:
                    raise
                line, headers, payload = limit_response(status, error)
                # exc_info only replaces headers the app already gave (PEP 3333)
                start_response(line, headers, *((sys.exc_info(),) if started else ()))
                return [payload]
        if resolved is None:
            return body
        return _ScopedBody(body, resolved)


class _ScopedBody:
    """The response iterable, iterated inside the customer scope; ``close()`` passed through."""

    def __init__(self, body: Iterable[bytes], resolved: ResolvedCustomer) -> None:
        self._body = body
        self._resolved = resolved
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._iterator is None:
            self._iterator = iter(self._body)
        with scope_for(self._resolved):
            return next(self._iterator)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close is not None:
            close()
