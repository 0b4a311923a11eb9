"""Exceptions llmledger raises at its boundaries (never inside a user's LLM call)."""

from __future__ import annotations


class LLMLedgerError(Exception):
    """Base class of everything llmledger raises on purpose."""


class ConfigError(LLMLedgerError, ValueError):
    """Bad configuration, raised at ``init()``; the message names the file, key and value."""

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None) -> None:
        where = ", ".join(part for part in (source, f"key {key!r}" if key else None) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.key = key
