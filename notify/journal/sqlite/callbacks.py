"""The SQLite journal's call-back requests: callers to the support line, once per number."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from notify.journal.base import CallbackRequest
from notify.journal.sqlite.rows import utcnow_iso

COLUMNS = CallbackRequest.__slots__  # the table's columns but its id, in the dataclass's order
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM callbacks"


def insert_callback(conn: sqlite3.Connection, request: CallbackRequest) -> bool:
    """Insert unless (incident, channel, caller) is there: of racing runs the first wins."""
    values = [getattr(request, name) for name in COLUMNS]
    values[-1] = request.created_at or utcnow_iso()
    cur = conn.execute(
        f"INSERT INTO callbacks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
        " ON CONFLICT (incident_id, channel, caller) DO NOTHING",
        values,
    )
    return cur.rowcount == 1


def select_callbacks(conn: sqlite3.Connection, incident_id: str | None) -> list[CallbackRequest]:
    sql = _SELECT
    params: tuple[str, ...] = ()
    if incident_id is not None:
        sql, params = f"{_SELECT} WHERE incident_id = ?", (incident_id,)
    rows = conn.execute(f"{sql} ORDER BY requested_at, id", params).fetchall()
    return [CallbackRequest(*row) for row in rows]


def export_callbacks(conn: sqlite3.Connection) -> list[CallbackRequest]:
    """All of them in the order recorded, for `notify journal copy`."""
    return [CallbackRequest(*row) for row in conn.execute(f"{_SELECT} ORDER BY id")]


def import_callbacks(conn: sqlite3.Connection, requests: list[CallbackRequest]) -> None:
    """Another journal's requests, in their order (they get this file's ids)."""
    conn.executemany(
        f"INSERT INTO callbacks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})",
        [tuple(getattr(r, name) for name in COLUMNS) for r in requests],
    )


class CallbackQueries:
    """SqliteJournal's call-back methods (kept here: journal.py is long enough)."""

    if TYPE_CHECKING:

        def _tx(self, write: bool = False) -> AbstractContextManager[sqlite3.Connection]: ...

    def record_callback(self, request: CallbackRequest) -> bool:
        with self._tx(write=True) as conn:
            return insert_callback(conn, request)

    def callbacks(self, incident_id: str | None = None) -> list[CallbackRequest]:
        with self._tx() as conn:
            return select_callbacks(conn, incident_id)
