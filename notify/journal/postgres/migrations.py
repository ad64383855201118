"""The PostgreSQL journal's schema: SQLite's numbered steps in PostgreSQL's words, recorded once.

Steps run in one transaction holding a transaction-level advisory lock, so processes that open
an empty (or older) database at once queue on the lock: the first applies the steps, the others
find them recorded. Times are ISO 8601 UTC text and JSON is `json` (kept as written), as the
journal's records carry them; ids are identity columns. Never edit a released step: add one.

Unlike SQLite's, no index covers a delivery's status, owner or updated_at, and its table keeps
room on each page (fillfactor 70): so the claim and the finish of every delivery are HOT updates,
written in place without touching any index, which is most of their cost on the server. `log`
and a `retry` of every incident read the table through (a sequential scan: milliseconds for
100,000 deliveries); one incident's rows come by the thread index.
"""

from __future__ import annotations

from typing import Any

import psycopg

from notify.errors import JournalError, Location

# pg_advisory_xact_lock key of schema changes: "notify" in ASCII, unlikely to meet another app's.
MIGRATION_LOCK = 0x6E6F74696679

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
            components JSON NOT NULL DEFAULT '[]',  -- list of names
            started_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            resolved_at TEXT,
            seq BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE  -- insertion order (SQLite's rowid)
        );
        CREATE INDEX incidents_started ON incidents (started_at);
        CREATE TABLE updates (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            incident_id TEXT NOT NULL REFERENCES incidents (id),
            number INTEGER NOT NULL,
            key TEXT NOT NULL UNIQUE,
            template TEXT NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            created_at TEXT NOT NULL,
            next_update_at TEXT,
            context JSON NOT NULL DEFAULT '{}',  -- non-secret inputs, for retry
            UNIQUE (incident_id, number)
        );
        CREATE TABLE deliveries (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            update_id BIGINT NOT NULL REFERENCES updates (id),
            incident_id TEXT NOT NULL REFERENCES incidents (id),
            channel TEXT NOT NULL,
            type TEXT NOT NULL,
            recipient TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'unknown', 'sent', 'failed', 'skipped')),
            attempts INTEGER NOT NULL DEFAULT 0,
            provider_message_id TEXT,
            thread_data JSON NOT NULL DEFAULT '{}',  -- opaque to the journal
            error TEXT,
            fallback_for BIGINT REFERENCES deliveries (id),
            owner TEXT,  -- the run holding the claim: host:pid:start
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,  -- of a claim: when it was taken (its lease starts)
            UNIQUE (update_id, channel, recipient)
        ) WITH (fillfactor = 70);
        CREATE INDEX deliveries_thread ON deliveries (incident_id, channel, recipient);
        """,
    ),
    (
        2,
        "provider sessions and the suppression list",
        """
        CREATE TABLE kv (
            key TEXT PRIMARY KEY,
            value JSON NOT NULL,  -- an object
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
            seq BIGINT GENERATED ALWAYS AS IDENTITY,  -- insertion order (SQLite's rowid)
            PRIMARY KEY (kind, incident_id, update_number, slot)
        );
        """,
    ),
    (
        4,
        "opt-outs normalised as recipients are: emails lower-cased, +numbers without punctuation",
        """
        -- One entry per (channel, normalised recipient): one of each stays.
        DELETE FROM suppressions a USING suppressions b
        WHERE a.channel = b.channel AND a.ctid > b.ctid
            AND CASE WHEN a.recipient LIKE '%@%' THEN lower(a.recipient)
            WHEN a.recipient LIKE '+%' THEN replace(replace(replace(replace(replace(
                a.recipient, ' ', ''), '(', ''), ')', ''), '-', ''), '.', '')
            ELSE a.recipient END
            = CASE WHEN b.recipient LIKE '%@%' THEN lower(b.recipient)
            WHEN b.recipient LIKE '+%' THEN replace(replace(replace(replace(replace(
                b.recipient, ' ', ''), '(', ''), ')', ''), '-', ''), '.', '')
            ELSE b.recipient END;
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
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,  -- insertion order
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

# The server's clock as the journal writes times: one clock for every machine sharing it.
NOW_SQL = """to_char(statement_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')"""


def migrate(conn: psycopg.Connection[Any], shown: str) -> list[int]:
    """Apply the steps the database lacks; return their numbers (empty when up to date)."""
    if schema_step(conn, shown) == LATEST:
        return []  # the usual case: no lock, no transaction
    done: list[int] = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        # Under the lock: whoever held it before us may have applied everything meanwhile.
        conn.execute(
            "CREATE TABLE IF NOT EXISTS migrations ("
            " number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        found = schema_step(conn, shown)
        for number, name, sql in MIGRATIONS:
            if number <= found:
                continue
            conn.execute(sql)  # several statements, no parameters: the simple query protocol
            conn.execute(
                f"INSERT INTO migrations (number, name, applied_at) VALUES (%s, %s, {NOW_SQL})",
                (number, name),
            )
            done.append(number)
    return done


def schema_step(conn: psycopg.Connection[Any], shown: str) -> int:
    """The latest step recorded (0 for an empty database). Raises JournalError for a step this
    notify doesn't know (a newer notify migrated the database)."""
    (exists,) = conn.execute("SELECT to_regclass('migrations') IS NOT NULL").fetchone() or (0,)
    if not exists:
        return 0
    (found,) = conn.execute("SELECT MAX(number) FROM migrations").fetchone() or (None,)
    latest = int(found) if found is not None else 0
    if latest > LATEST:
        raise JournalError(
            f"the journal has schema step {latest}, this notify knows steps up to {LATEST}",
            where=Location(file=shown),
            hint="A newer notify wrote it: upgrade notify, or point --journal at another database",
        )
    return latest
