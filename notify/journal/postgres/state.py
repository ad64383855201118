"""The PostgreSQL journal's small state: provider sessions (kv) and the suppression list."""

from __future__ import annotations

import json
from typing import Any

import psycopg

from notify.journal.postgres.migrations import NOW_SQL

Connection = psycopg.Connection[Any]


def kv_get(conn: Connection, key: str) -> dict[str, Any] | None:
    row = conn.execute("SELECT value FROM kv WHERE key = %s", (key,)).fetchone()
    value = row[0] if row else None
    return value if isinstance(value, dict) else None


def kv_set(conn: Connection, key: str, value: dict[str, Any]) -> None:
    conn.execute(
        f"INSERT INTO kv (key, value, updated_at) VALUES (%s, %s::json, {NOW_SQL})"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (key, json.dumps(value)),
    )


def suppress(conn: Connection, channel: str, recipient: str, reason: str) -> None:
    conn.execute(
        "INSERT INTO suppressions (channel, recipient, reason, created_at)"
        f" VALUES (%s, %s, %s, {NOW_SQL})"
        " ON CONFLICT (channel, recipient) DO UPDATE SET reason = excluded.reason",
        (channel, recipient, reason),
    )


def unsuppress(conn: Connection, channel: str, recipient: str) -> bool:
    cur = conn.execute(
        "DELETE FROM suppressions WHERE channel = %s AND recipient = %s", (channel, recipient)
    )
    return cur.rowcount > 0


def suppressed(conn: Connection, channel: str | None) -> list[tuple[str, str, str, str]]:
    sql = "SELECT channel, recipient, reason, created_at FROM suppressions"
    params: tuple[str, ...] = ()
    if channel is not None:
        sql += " WHERE channel IN (%s, '*')"
        params = (channel,)
    # Byte order, as SQLite sorts: a server's locale would put '*' elsewhere.
    sql += ' ORDER BY channel COLLATE "C", recipient COLLATE "C"'
    return [(c, r, why, at) for c, r, why, at in conn.execute(sql, params)]


def is_suppressed(conn: Connection, channel: str, recipient: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM suppressions WHERE channel IN (%s, '*') AND recipient = %s",
        (channel, recipient),
    ).fetchone()
    return row is not None
