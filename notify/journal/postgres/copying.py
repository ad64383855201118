"""A whole PostgreSQL journal read at once, and another journal's contents written into one.

`notify journal copy` uses both. Rows get this database's ids; an update's id is mapped by its
key, a delivery's by (update, channel, recipient), both unique, and fallback_for follows.
"""

from __future__ import annotations

import json
from typing import Any

import psycopg

from notify.errors import JournalError, Location
from notify.journal.base import TABLES, JournalContents, ScheduledAction
from notify.journal.postgres import rows as records
from notify.journal.postgres.callbacks import export_callbacks, import_callbacks

Connection = psycopg.Connection[Any]
ACTION_COLUMNS = ScheduledAction.__slots__


def is_empty(conn: Connection) -> bool:
    found = conn.execute(
        " UNION ALL ".join(f"(SELECT 1 FROM {table} LIMIT 1)" for table in TABLES)
    ).fetchone()
    return found is None


def export_contents(conn: Connection) -> JournalContents:
    """Every row, from one snapshot (runs writing meanwhile are not half-seen)."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        incidents = conn.execute(f"SELECT {records.INCIDENT_COLUMNS} FROM incidents ORDER BY seq")
        updates = conn.execute(f"SELECT {records.UPDATE_COLUMNS} FROM updates ORDER BY id")
        contents = JournalContents(
            incidents=[records.incident(r) for r in incidents],
            updates=[records.update(r) for r in updates],
        )
        deliveries = f"SELECT {records.DELIVERY_COLUMNS} FROM deliveries ORDER BY id"
        contents.deliveries = records.deliveries(conn.execute(deliveries))
        sessions = 'SELECT key, value, updated_at FROM kv ORDER BY key COLLATE "C"'
        contents.sessions = [(k, v, at) for k, v, at in conn.execute(sessions)]
        suppressions = (
            "SELECT channel, recipient, reason, created_at FROM suppressions"
            ' ORDER BY channel COLLATE "C", recipient COLLATE "C"'
        )
        contents.suppressions = [(c, r, why, at) for c, r, why, at in conn.execute(suppressions)]
        done = f"SELECT {', '.join(ACTION_COLUMNS)} FROM scheduled_actions ORDER BY seq"
        contents.actions = [ScheduledAction(*row) for row in conn.execute(done)]
        contents.callbacks = export_callbacks(conn)
    return contents


def import_contents(
    conn: Connection, contents: JournalContents, *, replace: bool, shown: str
) -> None:
    """Write `contents` inside the caller's transaction; see Journal.import_contents."""
    # Nobody writes while we look and copy: the emptiness seen is the emptiness written into.
    conn.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
    if replace:
        conn.execute(f"TRUNCATE {', '.join(TABLES)}")
    elif not is_empty(conn):
        raise JournalError(
            "the journal is not empty: copying into it would mix two histories",
            where=Location(file=shown),
        )
    _incidents(conn, contents)
    update_ids = _updates(conn, contents)
    _deliveries(conn, contents, update_ids)
    if contents.sessions:
        conn.execute(
            "INSERT INTO kv (key, value, updated_at) SELECT * FROM"
            " unnest(%s::text[], %s::json[], %s::text[])",
            _columns([(k, json.dumps(v), at) for k, v, at in contents.sessions], 3),
        )
    if contents.suppressions:
        conn.execute(
            "INSERT INTO suppressions (channel, recipient, reason, created_at) SELECT * FROM"
            " unnest(%s::text[], %s::text[], %s::text[], %s::text[])",
            _columns(contents.suppressions, 4),
        )
    if contents.actions:
        conn.execute(
            f"INSERT INTO scheduled_actions ({', '.join(ACTION_COLUMNS)}) SELECT k, i, u, sl, d, s,"
            " ke, c FROM unnest(%s::text[], %s::text[], %s::int[], %s::text[], %s::text[],"
            " %s::text[], %s::text[], %s::text[]) WITH ORDINALITY AS x(k, i, u, sl, d, s, ke, c, n)"
            " ORDER BY n",
            _columns([tuple(getattr(a, c) for c in ACTION_COLUMNS) for a in contents.actions], 8),
        )
    import_callbacks(conn, contents.callbacks)


def _columns(rows: list[tuple[Any, ...]], width: int) -> tuple[list[Any], ...]:
    """Rows as one list per column (the arrays unnest() takes)."""
    if not rows:
        return tuple([] for _ in range(width))
    return tuple(list(column) for column in zip(*rows, strict=True))


def _incidents(conn: Connection, contents: JournalContents) -> None:
    if not contents.incidents:
        return
    conn.execute(
        "INSERT INTO incidents (id, title, status, impact, components, started_at, updated_at,"
        " resolved_at) SELECT i, t, s, im, c, st, up, re FROM unnest(%s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::json[], %s::text[], %s::text[], %s::text[])"
        " WITH ORDINALITY AS x(i, t, s, im, c, st, up, re, n) ORDER BY n",
        _columns(
            [
                (
                    i.id,
                    i.title,
                    i.status,
                    i.impact,
                    json.dumps(i.components),
                    i.started_at,
                    i.updated_at,
                    i.resolved_at,
                )
                for i in contents.incidents
            ],
            8,
        ),
    )


def _updates(conn: Connection, contents: JournalContents) -> dict[int, int]:
    """Insert the updates; their source ids -> ours."""
    if not contents.updates:
        return {}
    cur = conn.execute(
        "INSERT INTO updates (incident_id, number, key, template, status, message, created_at,"
        " next_update_at, context) SELECT i, nu, k, t, s, m, c, nx, cx FROM unnest(%s::text[],"
        " %s::int[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::json[]) WITH ORDINALITY AS x(i, nu, k, t, s, m, c, nx, cx, n) ORDER BY n"
        " RETURNING key, id",
        _columns(
            [
                (
                    u.incident_id,
                    u.number,
                    u.key,
                    u.template,
                    u.status,
                    u.message,
                    u.created_at,
                    u.next_update_at,
                    json.dumps(u.context),
                )
                for u in contents.updates
            ],
            9,
        ),
    )
    ours = {key: int(new_id) for key, new_id in cur}
    return {u.id: ours[u.key] for u in contents.updates}


def _deliveries(conn: Connection, contents: JournalContents, update_ids: dict[int, int]) -> None:
    if not contents.deliveries:
        return
    cur = conn.execute(
        "INSERT INTO deliveries (update_id, incident_id, channel, type, recipient, status,"
        " attempts, provider_message_id, thread_data, error, owner, created_at, updated_at)"
        " SELECT u, i, c, t, r, s, a, p, td, e, o, cr, up FROM unnest(%s::bigint[], %s::text[],"
        " %s::text[], %s::text[], %s::text[], %s::text[], %s::int[], %s::text[], %s::json[],"
        " %s::text[], %s::text[], %s::text[], %s::text[])"
        " WITH ORDINALITY AS x(u, i, c, t, r, s, a, p, td, e, o, cr, up, n) ORDER BY n"
        " RETURNING update_id, channel, recipient, id",
        _columns(
            [
                (
                    update_ids[d.update_id],
                    d.incident_id,
                    d.channel,
                    d.type,
                    d.recipient,
                    d.status,
                    d.attempts,
                    d.provider_message_id,
                    json.dumps(d.thread_data),
                    d.error,
                    d.owner,
                    d.created_at,
                    d.updated_at,
                )
                for d in contents.deliveries
            ],
            13,
        ),
    )
    ours = {(u, c, r): int(i) for u, c, r, i in cur}
    new_id = {
        d.id: ours[(update_ids[d.update_id], d.channel, d.recipient)] for d in contents.deliveries
    }
    rescues = [
        (new_id[d.id], new_id[d.fallback_for])
        for d in contents.deliveries
        if d.fallback_for is not None and d.fallback_for in new_id
    ]
    if rescues:
        conn.execute(
            "UPDATE deliveries SET fallback_for = x.f FROM unnest(%s::bigint[], %s::bigint[])"
            " AS x(i, f) WHERE deliveries.id = x.i",
            _columns(rescues, 2),
        )
