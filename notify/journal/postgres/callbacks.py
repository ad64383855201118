"""The PostgreSQL journal's call-back requests: callers to the support line, once per number."""

from __future__ import annotations

from typing import Any

import psycopg

from notify.journal.base import CallbackRequest
from notify.journal.postgres.migrations import NOW_SQL

Connection = psycopg.Connection[Any]
COLUMNS = CallbackRequest.__slots__  # the table's columns but its id, in the dataclass's order
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM callbacks"


def insert_callback(conn: Connection, request: CallbackRequest) -> bool:
    """Insert unless (incident, channel, caller) is there: of racing runs on any machine the
    first wins (the unique constraint decides; a second insert waits for the first to commit)."""
    params: tuple[str, ...] = tuple(getattr(request, name) for name in COLUMNS[:-1])
    created = "%s" if request.created_at else NOW_SQL
    if request.created_at:
        params += (request.created_at,)
    cur = conn.execute(
        f"INSERT INTO callbacks ({', '.join(COLUMNS)}) VALUES (%s, %s, %s, %s, %s, {created})"
        " ON CONFLICT (incident_id, channel, caller) DO NOTHING",
        params,
    )
    return cur.rowcount == 1


def select_callbacks(conn: Connection, incident_id: str | None) -> list[CallbackRequest]:
    sql = _SELECT
    params: tuple[str, ...] = ()
    if incident_id is not None:
        sql, params = f"{_SELECT} WHERE incident_id = %s", (incident_id,)
    rows = conn.execute(f'{sql} ORDER BY requested_at COLLATE "C", id', params).fetchall()
    return [CallbackRequest(*row) for row in rows]


def export_callbacks(conn: Connection) -> list[CallbackRequest]:
    """All of them in the order recorded, for `notify journal copy`."""
    return [CallbackRequest(*row) for row in conn.execute(f"{_SELECT} ORDER BY id")]


def import_callbacks(conn: Connection, requests: list[CallbackRequest]) -> None:
    """Another journal's requests, in their order (they get this database's ids)."""
    if not requests:
        return
    columns = tuple([getattr(r, name) for r in requests] for name in COLUMNS)
    conn.execute(
        f"INSERT INTO callbacks ({', '.join(COLUMNS)}) SELECT i, ch, ca, s, r, c FROM"
        " unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " WITH ORDINALITY AS x(i, ch, ca, s, r, c, n) ORDER BY n",
        columns,
    )
