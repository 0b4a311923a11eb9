"""The reliability suite (issue 18) reuses the integration level's real PostgreSQL server."""

from __future__ import annotations

from integration.ledger.conftest import postgres_server, postgres_url  # noqa: F401
