"""The SQLite journal's schema as numbered steps, each recorded in a `migrations` table once.

Each step runs in its own BEGIN IMMEDIATE transaction and is skipped when already recorded, so
two processes opening a new journal at once apply each step exactly once (the second waits on the
write lock, then sees the record). Never edit a released step: add a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from notify.errors import JournalError, Location

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "incidents, updates and deliveries",
        """
        CREATE TABLE incidents (
            id TEXT PRIMARY KEY,
            title TEXT NOT NULL,
            status TEXT NOT NULL,
            impact TEXT,
            components TEXT NOT NULL DEFAULT '[]',  -- JSON list of names
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT
        );
        CREATE INDEX incidents_started ON incidents (started_at);
        CREATE TABLE updates (
            id INTEGER PRIMARY KEY,
            incident_id TEXT NOT NULL REFERENCES incidents (id),
            number INTEGER NOT NULL,
            key TEXT NOT NULL UNIQUE,
            template TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            next_update_at TEXT,
            context TEXT NOT NULL DEFAULT '{}',  -- JSON: non-secret inputs, for retry
            UNIQUE (incident_id, number)
        );
        CREATE TABLE deliveries (
            id INTEGER PRIMARY KEY,
            update_id INTEGER NOT NULL REFERENCES updates (id),
            incident_id TEXT NOT NULL REFERENCES incidents (id),
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            recipient TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'unknown', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            provider_message_id TEXT,
            thread_data TEXT NOT NULL DEFAULT '{}',  -- JSON, opaque to the journal
            error TEXT,
            fallback_for INTEGER REFERENCES deliveries (id),
            owner TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            UNIQUE (update_id, channel, recipient)
        );
        CREATE INDEX deliveries_thread ON deliveries (incident_id, channel, recipient, status);
        CREATE INDEX deliveries_status ON deliveries (status);
        CREATE INDEX deliveries_updated ON deliveries (updated_at);
        """,
    ),
    (
        2,
        "provider sessions and the suppression list",
        """
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,  -- JSON object
            updated_at TEXT NOT NULL
        );
        CREATE TABLE suppressions (
            channel TEXT NOT NULL,  -- '*' means every channel
            recipient TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            PRIMARY KEY (channel, recipient)
        );
        """,
    ),
    (
        3,
        "scheduled actions: what notify tick did, once per (kind, incident, update, slot)",
        """
        CREATE TABLE scheduled_actions (
            kind TEXT NOT NULL,
            incident_id TEXT NOT NULL,
            update_number INTEGER NOT NULL,  -- the update that set it up
            slot TEXT NOT NULL DEFAULT '',
            due_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('sent', 'failed', 'skipped')),
            key TEXT NOT NULL DEFAULT '',  -- the update it went out as ('' when skipped)
            created_at TEXT NOT NULL,
            PRIMARY KEY (kind, incident_id, update_number, slot)
        );
        """,
    ),
    (
        4,
        "opt-outs normalised as recipients are: emails lower-cased, +numbers without punctuation",
        """
        -- One entry per (channel, normalised recipient): the first one written stays.
        DELETE FROM suppressions WHERE rowid NOT IN (
            SELECT MIN(rowid) FROM suppressions GROUP BY channel,
            CASE WHEN recipient LIKE '%@%' THEN lower(recipient)
            WHEN recipient LIKE '+%' THEN replace(replace(replace(replace(replace(
                recipient, ' ', ''), '(', ''), ')', ''), '-', ''), '.', '')
            ELSE recipient END
        );
        UPDATE suppressions SET recipient =
            CASE WHEN recipient LIKE '%@%' THEN lower(recipient)
            WHEN recipient LIKE '+%' THEN replace(replace(replace(replace(replace(
                recipient, ' ', ''), '(', ''), ')', ''), '-', ''), '.', '')
            ELSE recipient END;
        """,
    ),
    (
        5,
        "call-back requests: callers to the support line who pressed 1, once per number",
        """
        CREATE TABLE callbacks (
            id INTEGER PRIMARY KEY,
            incident_id TEXT NOT NULL,
            channel TEXT NOT NULL,  -- the voice channel whose number was called
            caller TEXT NOT NULL,  -- E.164
            call_sid TEXT NOT NULL,  -- the first call in which they pressed 1
            requested_at TEXT NOT NULL,  -- when that call started
            created_at TEXT NOT NULL,
            UNIQUE (incident_id, channel, caller)
        );
        CREATE INDEX callbacks_incident ON callbacks (incident_id, requested_at);
        """,
    ),
]

LATEST = max(number for number, _, _ in MIGRATIONS)

_NOW_SQL = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def migrate(conn: sqlite3.Connection, where: str | None = None) -> list[int]:
    """Apply the steps `conn`'s database lacks; return their numbers (empty when up to date).

    `conn` must be in autocommit mode (isolation_level=None): transactions here are explicit.
    """
    with _immediate(conn):
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
    found = conn.execute("SELECT MAX(number) FROM migrations").fetchone()[0]
    if found is not None and found > LATEST:
        raise JournalError(
            f"the journal has schema step {found}, this notify knows steps up to {LATEST}",
            where=Location(file=where) if where else None,
            hint="a newer notify wrote it: upgrade notify, or point --journal at another file",
        )
    done = []
    for number, name, sql in MIGRATIONS:
        with _immediate(conn):
            # Checked inside the write transaction: another process may have applied it meanwhile.
            if conn.execute("SELECT 1 FROM migrations WHERE number = ?", (number,)).fetchone():
                continue
            for statement in _statements(sql):
                conn.execute(statement)
            conn.execute(
                f"INSERT INTO migrations (number, name, applied_at) VALUES (?, ?, {_NOW_SQL})",
                (number, name),
            )
            done.append(number)
    return done


def applied(conn: sqlite3.Connection) -> list[tuple[int, str, str]]:
    """(number, name, applied_at) of every recorded step, in order."""
    rows = conn.execute("SELECT number, name, applied_at FROM migrations ORDER BY number")
    return [(int(n), str(m), str(a)) for n, m, a in rows]


@contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _statements(sql: str) -> Iterator[str]:
    # executescript() would COMMIT first and so break the step's transaction: run one by one.
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
