"""The SQLite journal: the contract suite on a real file, then what only a SQLite file has.

Schema steps, WAL, the file's mode, secrets kept off the disk, journals an earlier notify wrote.
"""

from __future__ import annotations

import functools
import sqlite3
import stat
import sys
from contextlib import closing
from pathlib import Path

import pytest

from notify import secrets
from notify.errors import JournalError
from notify.journal import PlannedDelivery, open_journal
from notify.journal.sqlite import SqliteJournal
from notify.journal.sqlite.migrations import MIGRATIONS
from tests.journal.contract import JournalContract
from tests.journal.contract.helpers import (
    INCIDENT_ID,
    MakeJournal,
    delivery,
    payments,
    post,
    run_processes,
)


class TestSqliteJournal(JournalContract):
    @pytest.fixture
    def make_journal(self, tmp_path: Path) -> MakeJournal:
        return functools.partial(open_journal, str(tmp_path / ".notify" / "journal.db"))


def recorded_migrations(path: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT number, name, applied_at FROM migrations ORDER BY number")
        return list(rows)


def _open_at_once(barrier: object, index: int, path: str) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    journal = open_journal(Path(path))
    journal.kv_set(f"opened-by:{index}", {"index": index})
    journal.close()


# Schema


def test_a_new_journal_records_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "journal.db"
    journal = open_journal(path)
    assert isinstance(journal, SqliteJournal)
    assert journal.applied_migrations == [n for n, _, _ in MIGRATIONS]
    journal.close()

    first = recorded_migrations(path)
    assert [(n, name) for n, name, _ in first] == [(n, name) for n, name, _ in MIGRATIONS]
    assert all(at.endswith("Z") and "T" in at for _, _, at in first)

    again = open_journal(path)
    assert isinstance(again, SqliteJournal)
    assert again.applied_migrations == []
    again.close()
    assert recorded_migrations(path) == first
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX file modes")
def test_a_new_journal_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    open_journal(path).close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_journal_written_before_the_latest_step_migrates_and_keeps_its_rows(
    tmp_path: Path,
) -> None:
    """A journal from a notify that knew only step 1 (no sessions, no opt-outs)."""
    path = tmp_path / "journal.db"
    number, name, sql = MIGRATIONS[0]
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.executescript(
            "CREATE TABLE migrations (number INTEGER PRIMARY KEY, name TEXT NOT NULL,"
            " applied_at TEXT NOT NULL);" + sql
        )
        conn.execute("INSERT INTO migrations VALUES (?, ?, '2026-01-05T09:00:00Z')", (number, name))
        conn.execute(
            "INSERT INTO incidents VALUES ('2026-01-05-api', 'API errors', 'resolved', 'minor',"
            " '[\"api\"]', '2026-01-05T09:00:00Z', '2026-01-05T10:00:00Z', '2026-01-05T10:00:00Z')"
        )
        conn.execute(
            "INSERT INTO updates VALUES (1, '2026-01-05-api', 1, 'api-1', 'investigating',"
            " 'investigating', 'Errors on the API.', '2026-01-05T09:00:00Z', NULL,"
            " '{\"vars\": {}}')"
        )
        conn.execute(
            "INSERT INTO deliveries VALUES (1, 1, '2026-01-05-api', 'ops-slack', 'slack', 'C1',"
            " 'sent', 1, '100.1', '{\"ts\": \"100.1\"}', NULL, NULL, NULL,"
            " '2026-01-05T09:00:00Z', '2026-01-05T09:00:01Z')"
        )

    journal = open_journal(path)
    assert isinstance(journal, SqliteJournal)
    assert journal.applied_migrations == [n for n, _, _ in MIGRATIONS[1:]]
    old = journal.get_incident("2026-01-05-api")
    assert old is not None
    assert (old.components, old.resolved_at) == (["api"], "2026-01-05T10:00:00Z")
    assert journal.find_update("api-1") is not None
    assert journal.thread("2026-01-05-api", "ops-slack", "C1").root == {
        "ts": "100.1",
        "provider_message_id": "100.1",
    }
    journal.suppress("*", "angry@example.com")  # the new step's tables work
    assert journal.is_suppressed("ops-slack", "angry@example.com")
    update, _ = post(journal, "api-2", incident=payments(id="2026-01-05-api"))
    assert update.number == 2
    journal.close()
    assert recorded_migrations(path)[0] == (number, name, "2026-01-05T09:00:00Z")


def test_two_processes_opening_a_new_journal_at_once_both_work(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    run_processes(_open_at_once, str(path))

    assert [n for n, _, _ in recorded_migrations(path)] == [n for n, _, _ in MIGRATIONS]
    journal = open_journal(path)
    assert journal.kv_get("opened-by:0") == {"index": 0}
    assert journal.kv_get("opened-by:1") == {"index": 1}
    journal.close()


def test_a_journal_from_a_newer_notify_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    open_journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')")

    with pytest.raises(JournalError) as err:
        open_journal(path)
    assert str(path) in str(err.value)
    assert "upgrade notify" in str(err.value)


def test_a_file_that_is_not_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.write_text("these are my notes, not a database\n" * 100)

    with pytest.raises(JournalError) as err:
        open_journal(path)
    assert str(path) in str(err.value)
    assert "--journal" in str(err.value)

    with pytest.raises(JournalError):
        open_journal(path / "journal.db")  # its folder would have to be a file


# The file itself


def test_a_sqlite_url_and_a_path_open_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "shared" / "journal.db"
    by_path = open_journal(path)
    post(by_path, "k1")
    by_url = open_journal(f"sqlite://{path}")
    assert isinstance(by_url, SqliteJournal)
    assert by_url.path == path
    assert by_url.find_update("k1") == by_path.find_update("k1")
    by_url.close()
    by_path.close()


def test_secrets_in_error_text_never_reach_the_file(tmp_path: Path) -> None:
    token = "xoxb-1234-SECRET-abcdef"
    secrets.register(token)
    path = tmp_path / "journal.db"
    journal = open_journal(path)
    planned = [
        PlannedDelivery("ops-slack", "slack", "C1"),
        PlannedDelivery("ops-slack", "slack", "C2", status="skipped", error=f"bad {token}"),
        PlannedDelivery("ops-slack", "slack", "C3"),
    ]
    _, (slack, skipped, batched) = post(journal, "k1", deliveries=planned)
    journal.finish(slack.id, status="failed", attempts=1, error=f"invalid_auth for token {token}")
    journal.finish_many([(batched.id, {"status": "failed", "attempts": 1, "error": token})])

    assert delivery(journal, slack.id).error == "invalid_auth for token ***"
    assert delivery(journal, skipped.id).error == "bad ***"
    assert delivery(journal, batched.id).error == "***"
    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.db")]
    assert any(p.name.endswith("-wal") for p in files)
    for file in files:
        assert token.encode() not in file.read_bytes(), file.name
    journal.close()
    assert token.encode() not in path.read_bytes()
    assert INCIDENT_ID.encode() in path.read_bytes()
