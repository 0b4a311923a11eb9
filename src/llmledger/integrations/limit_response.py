"""Turn ``LimitExceeded`` into an HTTP error response (``limit_response: 429`` in the config).

Off by default: the exception then goes up like any other. When on, a request whose LLM call
was refused by a blocking limit gets that status, a ``Retry-After`` header with the seconds until
the window resets, and a short JSON body naming the limit.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from llmledger.errors import LimitExceeded


def configured_status(explicit: int | None) -> int | None:
    """The middleware's own setting, else the ``limit_response`` of the config ``init()`` loaded."""
    if explicit is not None:
        return explicit
    import llmledger

    config = llmledger._active_config()
    return config.limit_response if config is not None else None


def limit_response(status: int, error: LimitExceeded) -> tuple[str, list[tuple[str, str]], bytes]:
    """Status line, headers and body answering a refused call."""
    body = json.dumps({"error": "limit_exceeded", "customer": error.customer, "rule": error.rule,
                       "window": error.window, "retry_after_s": error.retry_after_s}).encode()
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    headers = [("content-type", "application/json"), ("content-length", str(len(body))),
               ("retry-after", str(error.retry_after_s))]
    return f"{status} {phrase}", headers, body
