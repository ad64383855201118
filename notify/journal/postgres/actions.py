"""The PostgreSQL journal's scheduled actions: what `notify tick` did, once per due moment."""

from __future__ import annotations

from typing import Any

import psycopg

from notify.journal.base import ScheduledAction
from notify.journal.postgres.migrations import NOW_SQL

Connection = psycopg.Connection[Any]
_COLUMNS = "kind, incident_id, update_number, slot, due_at, status, key, created_at"


def record_action(conn: Connection, action: ScheduledAction) -> bool:
    """Insert unless (kind, incident, update, slot) is there: of racing ticks the first wins."""
    created = "%s" if action.created_at else NOW_SQL
    params: tuple[Any, ...] = (
        action.kind,
        action.incident_id,
        action.update_number,
        action.slot,
        action.due_at,
        action.status,
        action.key,
    )
    if action.created_at:
        params += (action.created_at,)
    cur = conn.execute(
        f"INSERT INTO scheduled_actions ({_COLUMNS})"
        f" VALUES (%s, %s, %s, %s, %s, %s, %s, {created})"
        " ON CONFLICT (kind, incident_id, update_number, slot) DO NOTHING",
        params,
    )
    return cur.rowcount == 1


def actions(conn: Connection, incident_id: str | None) -> list[ScheduledAction]:
    sql = f"SELECT {_COLUMNS} FROM scheduled_actions"
    params: tuple[str, ...] = ()
    if incident_id is not None:
        sql += " WHERE incident_id = %s"
        params = (incident_id,)
    rows = conn.execute(sql + " ORDER BY seq", params).fetchall()
    return [ScheduledAction(*row) for row in rows]
