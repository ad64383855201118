"""Schema step 5 (call-back requests) on journals an earlier notify wrote, at step 4, on both
backends: the step is applied once, what they held stays, and call-backs can be recorded."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import psycopg
import pytest

from notify.journal import Journal, open_journal
from notify.journal.base import CallbackRequest
from notify.journal.postgres import migrations as postgres_migrations
from notify.journal.sqlite import migrations as sqlite_migrations
from tests.journal.contract.helpers import INCIDENT_ID, post

RECORD_STEP = "INSERT INTO migrations (number, name, applied_at) VALUES ({mark}, {mark}, {mark})"
CREATE_MIGRATIONS = (
    "CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
    " applied_at TEXT NOT NULL)"
)


def _older_steps(steps: list[tuple[int, str, str]]) -> list[tuple[int, str, str]]:
    older = [step for step in steps if step[0] <= 4]
    assert [n for n, _, _ in older] == [1, 2, 3, 4]
    return older


def _use_before_step_5(journal: Journal) -> None:
    """What an earlier notify writes: an update of the payments incident and a session."""
    try:
        assert journal.describe().schema == 4
        post(journal, "before-step-5")
        journal.kv_set("status-bsky:session", {"did": "did:plc:abc"})
    finally:
        journal.close()


def _still_works(journal: Journal) -> None:
    """What the step-4 journal held is there, and call-backs record on top of it."""
    (update,) = journal.updates(INCIDENT_ID)
    assert update.key == "before-step-5"
    assert journal.kv_get("status-bsky:session") == {"did": "did:plc:abc"}
    assert journal.callbacks() == []
    request = CallbackRequest(
        INCIDENT_ID, "support-line", "+14155550100", "CA1", "2026-11-22T14:03:00Z"
    )
    assert journal.record_callback(request)
    assert not journal.record_callback(request)
    assert [r.call_sid for r in journal.callbacks(INCIDENT_ID)] == ["CA1"]
    assert journal.describe().schema == 5


def test_a_sqlite_journal_at_step_4_gains_call_backs_and_keeps_its_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "journal.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute(CREATE_MIGRATIONS)
        for number, name, sql in _older_steps(sqlite_migrations.MIGRATIONS):
            conn.executescript(sql)
            conn.execute(RECORD_STEP.format(mark="?"), (number, name, "2026-06-01T09:00:00Z"))
    # An earlier notify, which knew steps 1 to 4, sends with it.
    with monkeypatch.context() as earlier:
        earlier.setattr(sqlite_migrations, "MIGRATIONS", _older_steps(sqlite_migrations.MIGRATIONS))
        _use_before_step_5(open_journal(path))

    journal = open_journal(path)
    try:
        assert getattr(journal, "applied_migrations", None) == [5]
        _still_works(journal)
    finally:
        journal.close()
    with closing(sqlite3.connect(path)) as conn:
        recorded = conn.execute("SELECT number, applied_at FROM migrations ORDER BY number")
        steps = list(recorded)
    assert [n for n, _ in steps] == [1, 2, 3, 4, 5]
    assert steps[3][1] == "2026-06-01T09:00:00Z", "the earlier steps' records stay as they were"


def test_a_postgresql_journal_at_step_4_gains_call_backs_and_keeps_its_rows(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        conn.execute(CREATE_MIGRATIONS)
        for number, name, sql in _older_steps(postgres_migrations.MIGRATIONS):
            conn.execute(sql)
            conn.execute(RECORD_STEP.format(mark="%s"), (number, name, "2026-06-01T09:00:00Z"))
    with monkeypatch.context() as earlier:
        steps = _older_steps(postgres_migrations.MIGRATIONS)
        earlier.setattr(postgres_migrations, "MIGRATIONS", steps)
        earlier.setattr(postgres_migrations, "LATEST", 4)
        _use_before_step_5(open_journal(postgres_dsn))

    journal = open_journal(postgres_dsn)
    try:
        assert getattr(journal, "applied_migrations", None) == [5]
        _still_works(journal)
    finally:
        journal.close()
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        steps = conn.execute("SELECT number, applied_at FROM migrations ORDER BY number").fetchall()
    assert [n for n, _ in steps] == [1, 2, 3, 4, 5]
    assert steps[3][1] == "2026-06-01T09:00:00Z", "the earlier steps' records stay as they were"
