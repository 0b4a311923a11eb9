"""``doctor``'s read-only look at a ledger, on SQLite and PostgreSQL."""

from __future__ import annotations

from ledger_testdata import at, execute, make_record

from llmledger.ledger import is_postgres, open_store
from llmledger.ledger.migrations import SCHEMA_VERSION
from llmledger.ledger.probe import probe
from llmledger.ledger.schema import row_from_record


def test_a_ledger_never_written_is_fine_and_stays_untouched(ledger_url: str) -> None:
    found = probe(ledger_url)
    assert found.ok and found.fix is None
    assert ("tables are created at the first" if is_postgres(ledger_url) else "does not exist yet") \
        in found.detail
    assert probe(ledger_url).detail == found.detail  # nothing was created by looking


def test_schema_and_calls(ledger_url: str) -> None:
    with open_store(ledger_url) as store:
        store.insert([row_from_record(make_record(at("2026-10-01"))) for _ in range(3)])
    found = probe(ledger_url)
    assert found.ok and found.detail == f"schema v{SCHEMA_VERSION}, 3 calls"


def test_a_newer_schema_fails_with_a_fix(ledger_url: str) -> None:
    open_store(ledger_url).close()
    execute(ledger_url, f"INSERT INTO schema_version VALUES ({SCHEMA_VERSION + 1}, 'future', "
            f"{'now()' if is_postgres(ledger_url) else repr('2030-01-01')})")
    found = probe(ledger_url)
    assert not found.ok and "newer than this llmledger" in found.detail
    assert found.fix is not None and "upgrade llmledger" in found.fix
