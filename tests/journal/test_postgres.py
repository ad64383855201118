"""The PostgreSQL journal on a real server: the contract suite, then what only a server has.

Schema steps under an advisory lock, processes racing on an empty database, connection errors
that say what to do, and the password kept out of every message and every table.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import sys
from contextlib import closing
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from notify import secrets
from notify.errors import JournalError
from notify.journal import Journal, JournalContents, PlannedDelivery, open_journal, run_owner
from notify.journal.base import CallbackRequest, ScheduledAction
from notify.journal.owners import FOREIGN_CLAIM_TTL
from notify.journal.postgres.journal import PostgresJournal
from notify.journal.postgres.migrations import LATEST, MIGRATIONS
from tests.journal.contract import JournalContract
from tests.journal.contract.helpers import (
    INCIDENT_ID,
    MakeJournal,
    delivery,
    payments,
    post,
    run_processes,
)
from tests.postgres import PASSWORD


class TestPostgresJournal(JournalContract):
    @pytest.fixture
    def make_journal(self, postgres_dsn: str) -> MakeJournal:
        return functools.partial(open_journal, postgres_dsn)


def sql(dsn: str, statement: str, *params: object) -> list[tuple[Any, ...]]:
    """Run one statement on the test's database, as another tool would; its rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(statement, params or None)
        return cur.fetchall() if cur.description else []


def everything_stored(dsn: str) -> str:
    """Every row of every table, as text: what a database dump would hold."""
    tables = [t for (t,) in sql(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]
    return "\n".join(
        text for table in tables for (text,) in sql(dsn, f"SELECT t::text FROM {table} t")
    )


def _open_at_once(barrier: Any, index: int, dsn: str) -> None:
    barrier.wait()
    journal = open_journal(dsn)
    journal.kv_set(f"opened-by:{index}", {"index": index})
    journal.close()


# Schema


def test_a_new_database_records_each_migration_once(postgres_dsn: str) -> None:
    journal = open_journal(postgres_dsn)
    assert isinstance(journal, PostgresJournal)
    assert journal.applied_migrations == [n for n, _, _ in MIGRATIONS]
    info = journal.describe()
    assert (info.backend, info.schema) == ("PostgreSQL", LATEST)
    assert info.location == postgres_dsn.replace(PASSWORD, "***")
    journal.close()

    first = sql(postgres_dsn, "SELECT number, name, applied_at FROM migrations ORDER BY number")
    assert [(n, name) for n, name, _ in first] == [(n, name) for n, name, _ in MIGRATIONS]
    assert all(at.endswith("Z") and "T" in at for _, _, at in first)
    again = open_journal(postgres_dsn)
    assert isinstance(again, PostgresJournal)
    assert again.applied_migrations == []
    again.close()
    assert sql(postgres_dsn, "SELECT number, name, applied_at FROM migrations ORDER BY number") == (
        first
    )


def test_four_processes_opening_an_empty_database_at_once_all_work(postgres_dsn: str) -> None:
    run_processes(_open_at_once, postgres_dsn, count=4)

    numbers = sql(postgres_dsn, "SELECT number FROM migrations ORDER BY number")
    assert [n for (n,) in numbers] == [n for n, _, _ in MIGRATIONS]
    journal = open_journal(postgres_dsn)
    assert [journal.kv_get(f"opened-by:{i}") for i in range(4)] == [{"index": i} for i in range(4)]
    journal.close()


def test_a_database_from_a_newer_notify_is_refused_with_a_hint(postgres_dsn: str) -> None:
    open_journal(postgres_dsn).close()
    sql(postgres_dsn, "INSERT INTO migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')")

    with pytest.raises(JournalError) as err:
        open_journal(postgres_dsn)
    assert "upgrade notify" in str(err.value)
    assert PASSWORD not in str(err.value)


def test_times_come_from_the_servers_clock(postgres_dsn: str) -> None:
    journal = open_journal(postgres_dsn)
    _, (slack, _) = post(journal, "k1")
    (server_now,) = sql(postgres_dsn, "SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD')")[0]
    assert delivery(journal, slack.id).created_at.startswith(server_now)
    journal.close()


# Claims across machines


def test_a_claim_by_a_run_on_another_host_is_taken_over_once_its_lease_expires(
    postgres_dsn: str,
) -> None:
    """Another machine's pid can't be checked: its claim holds for FOREIGN_CLAIM_TTL, then any
    run may take the delivery over (its request most likely died with the machine)."""
    journal = open_journal(postgres_dsn)
    _, (slack, email) = post(journal, "k1")
    assert journal.claim(slack.id, "ci-runner-7.example:4242:99")
    assert journal.claim(email.id, "ci-runner-7.example:4242:99")
    assert not journal.claim(slack.id, run_owner()), "a fresh claim on another host holds"

    expired = datetime.now(UTC) - FOREIGN_CLAIM_TTL - timedelta(minutes=1)
    sql(
        postgres_dsn,
        "UPDATE deliveries SET updated_at = %s WHERE id = %s",
        expired.strftime("%Y-%m-%dT%H:%M:%SZ"),
        slack.id,
    )
    assert journal.claim(slack.id, run_owner())
    assert delivery(journal, slack.id).owner == run_owner()
    assert delivery(journal, email.id).owner == "ci-runner-7.example:4242:99"
    journal.close()


# Locations that can't be used


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda dsn: dsn.replace(PASSWORD, "not-the-Password-42"), "refused the password"),
        (lambda dsn: dsn.rsplit("/", 1)[0] + "/no_such_db", "has no database no_such_db"),
        (lambda dsn: re.sub(r":\d+/", ":1/", dsn), "cannot reach the PostgreSQL server"),
        (lambda dsn: dsn + "?no_such_option=1", "not a valid PostgreSQL location"),
    ],
    ids=["wrong-password", "missing-database", "unreachable", "malformed"],
)
def test_a_location_that_cannot_be_used_says_what_to_do_without_the_password(
    postgres_dsn: str, change: Any, expected: str
) -> None:
    location = change(postgres_dsn)
    with pytest.raises(JournalError) as err:
        open_journal(location)
    text = str(err.value)
    assert expected in text
    assert "\n" not in text
    assert PASSWORD not in text and "not-the-Password-42" not in text
    assert "***@127.0.0.1" in text


def test_a_missing_psycopg_names_the_extra_to_install(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg now fails
    with pytest.raises(JournalError) as err:
        open_journal(postgres_dsn)
    assert "pip install 'notify[postgres]'" in str(err.value)
    assert PASSWORD not in str(err.value)


def test_the_password_and_other_secrets_never_reach_the_tables(postgres_dsn: str) -> None:
    token = "xoxb-1234-SECRET-abcdef"
    secrets.register(token)
    journal = open_journal(postgres_dsn)
    planned = [
        PlannedDelivery("ops-slack", "slack", "C1"),
        PlannedDelivery("ops-slack", "slack", "C2", status="skipped", error=f"bad {token}"),
        PlannedDelivery("ops-slack", "slack", "C3"),
    ]
    _, (slack, _, batched) = post(journal, "k1", deliveries=planned)
    journal.finish(slack.id, status="failed", attempts=1, error=f"invalid_auth for {token}")
    journal.finish_many([(batched.id, {"status": "failed", "attempts": 1, "error": token})])
    journal.kv_set("status-bsky:session", {"handle": "status.acme.example"})
    journal.close()

    stored = everything_stored(postgres_dsn)
    assert INCIDENT_ID in stored and "invalid_auth for ***" in stored
    assert token not in stored
    assert PASSWORD not in stored


def test_a_lost_connection_is_a_journal_error_naming_retry(postgres_dsn: str) -> None:
    journal = open_journal(postgres_dsn)
    _, (slack, _) = post(journal, "k1")
    sql(
        postgres_dsn,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    with pytest.raises(JournalError) as err:
        journal.claim(slack.id, run_owner())
    assert "notify retry" in str(err.value)
    assert PASSWORD not in str(err.value)
    journal.close()


# Copying between backends


def _a_journal_with_everything(journal: Journal) -> None:
    """Two incidents, a rescue by fallback, a thread, a session and opt-outs."""
    _, (slack, email) = post(journal, "k1")
    journal.finish(
        slack.id,
        status="sent",
        attempts=1,
        provider_message_id="100.1",
        thread_data={"channel": "C0123456789", "ts": "100.1"},
    )
    journal.finish(email.id, status="failed", attempts=3, error="550 mailbox unavailable")
    (rescue,) = journal.add_deliveries(
        email.update_id,
        [PlannedDelivery("oncall-sms", "sms", "+14155550100", fallback_for=email.id)],
    )
    journal.finish(rescue.id, status="sent", attempts=1, provider_message_id="SM1")
    _, (reply, _) = post(journal, "k2", "identified")
    journal.finish(
        reply.id,
        status="sent",
        attempts=1,
        provider_message_id="100.2",
        thread_data={"channel": "C0123456789", "ts": "100.2"},
    )
    post(journal, "k3", incident=payments(id="2026-11-23-login", title="Login slow"))
    journal.kv_set("status-bsky:session", {"did": "did:plc:abc"})
    journal.suppress("*", "angry@example.com", "asked by email")
    journal.suppress("customers-sms", "+14155550199", "replied STOP")
    journal.record_action(
        ScheduledAction("reminder", INCIDENT_ID, 2, "", "2026-11-22T18:30:00Z", "sent", "k2-r")
    )
    journal.record_callback(
        CallbackRequest(INCIDENT_ID, "support-line", "+14155550100", "CA1", "2026-11-22T14:03:00Z")
    )


def _without_ids(contents: JournalContents) -> Any:
    """What must survive a copy: everything but the ids each journal gives its rows."""
    key_of = {u.id: u.key for u in contents.updates}
    where = {d.id: (key_of[d.update_id], d.channel, d.recipient) for d in contents.deliveries}
    deliveries = [
        {
            **{f.name: getattr(d, f.name) for f in fields(d) if f.name not in ("id", "update_id")},
            "update": key_of[d.update_id],
            "fallback_for": where.get(d.fallback_for) if d.fallback_for else None,
        }
        for d in contents.deliveries
    ]
    updates = [{**asdict(u), "id": None} for u in contents.updates]
    return (
        contents.incidents,
        updates,
        deliveries,
        contents.sessions,
        contents.suppressions,
        contents.actions,
        contents.callbacks,
    )


def test_a_copy_sqlite_to_postgresql_and_back_keeps_everything(
    postgres_dsn: str, tmp_path: Path
) -> None:
    original = open_journal(tmp_path / "laptop.db")
    _a_journal_with_everything(original)
    contents = original.export_contents()
    assert contents.counts() == {
        "incidents": 2,
        "updates": 3,
        "deliveries": 7,
        "sessions": 1,
        "suppressions": 2,
        "actions": 1,
        "callbacks": 1,
    }

    shared = open_journal(postgres_dsn)
    assert shared.is_empty()
    shared.import_contents(contents)
    assert not shared.is_empty()
    copied = shared.export_contents()
    assert _without_ids(copied) == _without_ids(contents)
    # Threads continue: the next update on the server replies under the copied root.
    thread = shared.thread(INCIDENT_ID, "ops-slack", "C0123456789")
    assert (thread.root or {})["ts"] == "100.1" and (thread.previous or {})["ts"] == "100.2"
    assert post(shared, "k4", "monitoring")[0].number == 3
    assert [i.id for i in shared.list_incidents()] == [i.id for i in original.list_incidents()]

    back = open_journal(tmp_path / "back.db")
    back.import_contents(shared.export_contents())
    assert back.find_update("k4") is not None
    assert back.callbacks(INCIDENT_ID) == original.callbacks(INCIDENT_ID) != []
    assert back.thread(INCIDENT_ID, "ops-slack", "C0123456789") == shared.thread(
        INCIDENT_ID, "ops-slack", "C0123456789"
    )
    for journal in (original, shared, back):
        journal.close()


def test_a_copy_into_a_journal_that_is_not_empty_is_refused_unless_replacing(
    postgres_dsn: str, tmp_path: Path
) -> None:
    source = open_journal(tmp_path / "laptop.db")
    _a_journal_with_everything(source)
    shared = open_journal(postgres_dsn)
    post(shared, "already-there")

    with pytest.raises(JournalError) as err:
        shared.import_contents(source.export_contents())
    assert "not empty" in str(err.value)
    assert shared.find_update("k1") is None, "nothing half-copied"

    shared.import_contents(source.export_contents(), replace=True)
    assert shared.find_update("already-there") is None
    assert _without_ids(shared.export_contents()) == _without_ids(source.export_contents())
    source.close()
    shared.close()


def test_journal_copy_knows_every_table_of_both_schemas(postgres_dsn: str, tmp_path: Path) -> None:
    """A schema step that adds a table must teach `journal copy` to move it, on both backends."""
    from notify.journal.postgres import copying as postgres_copying
    from notify.journal.sqlite import copying as sqlite_copying

    open_journal(postgres_dsn).close()
    on_server = sql(postgres_dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    assert {t for (t,) in on_server} - {"migrations"} == set(postgres_copying.TABLES)

    path = tmp_path / "journal.db"
    open_journal(path).close()
    with closing(sqlite3.connect(path)) as conn:
        in_file = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    assert {t for (t,) in in_file} - {"migrations"} == set(sqlite_copying.TABLES)


def test_opt_outs_stored_as_written_are_normalised_by_migration_step_4(postgres_dsn: str) -> None:
    """Issue 9, item 1: entries an older notify stored as people wrote them match recipients."""
    open_journal(postgres_dsn).close()
    sql(
        postgres_dsn,
        "INSERT INTO suppressions (channel, recipient, reason, created_at) VALUES"
        " ('*', '+1 415 555 0100', '', ''), ('*', '+1 (415) 555-0100', '', ''),"
        " ('sms', '+44 20 7183 8750', '', ''), ('*', 'Bob@Example.com', '', ''),"
        " ('*', '-1000000000001', '', '')",
    )
    # As a notify that knew steps 1 to 3 left the database.
    sql(postgres_dsn, "DROP TABLE callbacks")
    sql(postgres_dsn, "DELETE FROM migrations WHERE number >= 4")
    journal = open_journal(postgres_dsn)
    try:
        stored = sorted((c, r) for c, r, _, _ in journal.suppressed())
        assert stored == [
            ("*", "+14155550100"),
            ("*", "-1000000000001"),
            ("*", "bob@example.com"),
            ("sms", "+442071838750"),
        ]
        assert journal.is_suppressed("sms", "+14155550100")
    finally:
        journal.close()
