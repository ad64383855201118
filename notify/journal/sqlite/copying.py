"""A whole SQLite journal read at once, and another journal's contents written into one.

`notify journal copy` uses both. Rows get this file's ids; update_id and fallback_for follow.
"""

from __future__ import annotations

import json
import sqlite3

from notify.errors import JournalError, Location
from notify.journal.base import TABLES, Delivery, Incident, JournalContents, ScheduledAction, Update
from notify.journal.sqlite.callbacks import export_callbacks, import_callbacks
from notify.journal.sqlite.rows import dump, every, insert

ACTION_COLUMNS = ScheduledAction.__slots__


def is_empty(conn: sqlite3.Connection) -> bool:
    found = conn.execute(
        " UNION ALL ".join(f"SELECT * FROM (SELECT 1 FROM {table} LIMIT 1)" for table in TABLES)
    ).fetchone()
    return found is None


def export_contents(conn: sqlite3.Connection) -> JournalContents:
    """Every row; the caller holds a read transaction, so this is one snapshot."""
    contents = JournalContents(
        incidents=every(conn, Incident, "SELECT * FROM incidents ORDER BY rowid"),
        updates=every(conn, Update, "SELECT * FROM updates ORDER BY id"),
        deliveries=every(conn, Delivery, "SELECT * FROM deliveries ORDER BY id"),
    )
    for key, value, updated_at in conn.execute(
        "SELECT key, value, updated_at FROM kv ORDER BY key"
    ):
        contents.sessions.append((key, json.loads(value), updated_at))
    contents.suppressions = [
        (c, r, why, at)
        for c, r, why, at in conn.execute(
            "SELECT channel, recipient, reason, created_at FROM suppressions"
            " ORDER BY channel, recipient"
        )
    ]
    contents.actions = [
        ScheduledAction(**dict(row))
        for row in conn.execute("SELECT * FROM scheduled_actions ORDER BY rowid")
    ]
    contents.callbacks = export_callbacks(conn)
    return contents


def import_contents(
    conn: sqlite3.Connection, contents: JournalContents, *, replace: bool, where: str
) -> None:
    """Write `contents` inside the caller's write transaction; see Journal.import_contents."""
    if replace:
        for table in TABLES:
            conn.execute(f"DELETE FROM {table}")
    elif not is_empty(conn):
        raise JournalError(
            "the journal is not empty: copying into it would mix two histories",
            where=Location(file=where),
        )
    for incident in contents.incidents:
        insert(conn, "incidents", **dump(incident))
    update_ids = {u.id: insert(conn, "updates", **dump(u, skip="id")) for u in contents.updates}
    delivery_ids: dict[int, int] = {}
    rescues: list[tuple[int, int]] = []
    for d in contents.deliveries:
        values = dump(d, skip="id") | {"update_id": update_ids[d.update_id], "fallback_for": None}
        delivery_ids[d.id] = insert(conn, "deliveries", **values)
        if d.fallback_for is not None:
            rescues.append((d.id, d.fallback_for))
    conn.executemany(
        "UPDATE deliveries SET fallback_for = ? WHERE id = ?",
        [
            (delivery_ids[rescued], delivery_ids[rescue])
            for rescue, rescued in rescues
            if rescued in delivery_ids
        ],
    )
    conn.executemany(
        "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?)",
        [(k, json.dumps(v), at) for k, v, at in contents.sessions],
    )
    conn.executemany(
        "INSERT INTO suppressions (channel, recipient, reason, created_at) VALUES (?, ?, ?, ?)",
        contents.suppressions,
    )
    conn.executemany(
        f"INSERT INTO scheduled_actions ({', '.join(ACTION_COLUMNS)})"
        f" VALUES ({', '.join('?' for _ in ACTION_COLUMNS)})",
        [tuple(getattr(a, c) for c in ACTION_COLUMNS) for a in contents.actions],
    )
    import_callbacks(conn, contents.callbacks)
