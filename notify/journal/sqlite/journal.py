"""SqliteJournal: the Journal in one SQLite file, safe across processes and threads.

One connection per Journal, in autocommit mode with explicit transactions: reads in BEGIN,
writes in BEGIN IMMEDIATE so concurrent runs serialise on the write lock (waiting up to 10 s)
instead of failing on a lock upgrade half-way. A lock guards the connection because the
dispatcher may call from a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from notify.errors import JournalError, Location
from notify.journal.base import (
    IN_FLIGHT,
    Delivery,
    Incident,
    Journal,
    JournalContents,
    JournalInfo,
    PlannedDelivery,
    ScheduledAction,
    Update,
)
from notify.journal.owners import claim_abandoned
from notify.journal.sqlite import copying
from notify.journal.sqlite.callbacks import CallbackQueries
from notify.journal.sqlite.connection import connect, journal_error, runtime_failure
from notify.journal.sqlite.rows import every, one, utcnow_iso
from notify.journal.sqlite.writes import (
    CLAIM_SQL,
    FINISH_SQL,
    finish_values,
    insert_missing,
    insert_new_rows,
    insert_update,
    planned_ids,
    upsert_incident,
)
from notify.model import ThreadRef


class SqliteJournal(CallbackQueries, Journal):
    """The Journal in one SQLite file (see the module's docstring for how it stays consistent)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        conn, self.applied_migrations = connect(self.path)
        self._conn: sqlite3.Connection | None = conn

    def _error(self, what: str, exc: sqlite3.Error) -> JournalError:
        return journal_error(self.path, what, exc)

    def _failed(self, exc: sqlite3.DatabaseError) -> JournalError:
        return runtime_failure(self.path, exc)

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        with self._lock:
            if self._conn is None:
                raise JournalError("the journal is closed", where=Location(file=str(self.path)))
            conn = self._conn
            try:
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                # Locked past the busy timeout, disk full, I/O errors, a damaged file.
                raise self._failed(exc) from exc

    def _single(self, sql: str, params: tuple[Any, ...]) -> int:
        """One write statement in autocommit (atomic by itself); returns the rows it changed."""
        with self._lock:
            if self._conn is None:
                raise JournalError("the journal is closed", where=Location(file=str(self.path)))
            try:
                return self._conn.execute(sql, params).rowcount
            except sqlite3.DatabaseError as exc:
                raise self._failed(exc) from exc

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # incidents

    def get_incident(self, incident_id: str) -> Incident | None:
        with self._tx() as conn:
            return one(conn, Incident, "SELECT * FROM incidents WHERE id = ?", (incident_id,))

    def save_incident(self, incident: Incident) -> None:
        with self._tx(write=True) as conn:
            upsert_incident(conn, incident, incident.updated_at or utcnow_iso())

    def list_incidents(self, include_resolved: bool = False) -> list[Incident]:
        where = "" if include_resolved else "WHERE resolved_at IS NULL"
        sql = f"SELECT * FROM incidents {where} ORDER BY started_at DESC, rowid DESC"
        with self._tx() as conn:
            return every(conn, Incident, sql)

    # updates

    def find_update(self, key: str) -> Update | None:
        with self._tx() as conn:
            return one(conn, Update, "SELECT * FROM updates WHERE key = ?", (key,))

    def add_update(
        self,
        incident: Incident,
        *,
        key: str,
        template: str,
        status: str,
        message: str,
        next_update_at: str | None,
        context: dict[str, Any],
        deliveries: Sequence[PlannedDelivery],
    ) -> tuple[Update, list[Delivery]]:
        problem = sqlite3.IntegrityError()
        for _ in range(3):
            try:
                with self._tx(write=True) as conn:
                    update = one(conn, Update, "SELECT * FROM updates WHERE key = ?", (key,))
                    if update is not None:  # a re-run under its key: add the rows it lacks
                        insert_missing(conn, update, deliveries)
                    else:
                        update = insert_update(
                            conn,
                            incident,
                            key=key,
                            template=template,
                            status=status,
                            message=message,
                            next_update_at=next_update_at,
                            context=context,
                        )
                        if (rows := insert_new_rows(conn, update, deliveries)) is not None:
                            return update, rows
                    sql = "SELECT * FROM deliveries WHERE update_id = ? ORDER BY id"
                    return update, every(conn, Delivery, sql, (update.id,))
            except sqlite3.IntegrityError as exc:
                # Another writer recorded this key (or number) first: read theirs on the next try.
                problem = exc
        raise self._error(f"could not record the update with key {key!r}", problem)

    def updates(self, incident_id: str) -> list[Update]:
        sql = "SELECT * FROM updates WHERE incident_id = ? ORDER BY number"
        with self._tx() as conn:
            return every(conn, Update, sql, (incident_id,))

    # deliveries

    def add_deliveries(self, update_id: int, rows: Iterable[PlannedDelivery]) -> list[Delivery]:
        planned = list(rows)
        with self._tx(write=True) as conn:
            update = one(conn, Update, "SELECT * FROM updates WHERE id = ?", (update_id,))
            if update is None:
                raise JournalError(f"no update {update_id} in the journal")
            if (fresh := insert_new_rows(conn, update, planned)) is not None:
                return fresh  # a plan recorded in parts, a fallback's rows: all new
            ids = planned_ids(conn, update, planned)
            sql = "SELECT * FROM deliveries WHERE id = ?"
            return [d for i in ids if (d := one(conn, Delivery, sql, (i,)))]

    def claim(self, delivery_id: int, owner: str) -> bool:
        now = utcnow_iso()
        claim_sql = CLAIM_SQL
        # The common case is one atomic statement, committed on its own: a fan-out claims
        # hundreds of rows a second, and BEGIN/COMMIT around it doubles the cost.
        if self._single(claim_sql, (owner, now, delivery_id, owner)) == 1:
            return True
        with self._tx(write=True) as conn:
            cur = conn.execute(claim_sql, (owner, now, delivery_id, owner))
            if cur.rowcount == 1:
                return True
            row = conn.execute(
                "SELECT status, owner, updated_at FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
            # Still inside the write transaction: nobody can claim it between check and update.
            if row is None or row["status"] != IN_FLIGHT:
                return False
            if not claim_abandoned(row["owner"], row["updated_at"]):
                return False
            cur = conn.execute(
                "UPDATE deliveries SET owner = ?, updated_at = ? WHERE id = ? AND owner = ?",
                (owner, now, delivery_id, row["owner"]),
            )
            return cur.rowcount == 1

    def finish(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        provider_message_id: str | None = None,
        thread_data: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        values = finish_values(
            delivery_id,
            status=status,
            attempts=attempts,
            provider_message_id=provider_message_id,
            thread_data=thread_data,
            error=error,
        )
        updated = self._single(FINISH_SQL, values)
        if updated != 1:
            raise JournalError(f"no delivery {delivery_id} in the journal")

    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]:
        # One transaction for a whole batch (SendGrid: 1,000 rows): a commit per row costs more
        # than the request. Rows another run holds are left to `claim`, which knows dead runs.
        now = utcnow_iso()
        claimed: list[int] = []
        with self._tx(write=True) as conn:
            for delivery_id in delivery_ids:
                cur = conn.execute(CLAIM_SQL, (owner, now, delivery_id, owner))
                if cur.rowcount == 1:
                    claimed.append(delivery_id)
        return claimed

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        values = [finish_values(delivery_id, **fields) for delivery_id, fields in outcomes]
        with self._tx(write=True) as conn:
            cur = conn.executemany(FINISH_SQL, values)
            if cur.rowcount != len(values):
                raise JournalError("a delivery of the batch is missing from the journal")

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        with self._tx() as conn:
            return one(conn, Delivery, "SELECT * FROM deliveries WHERE id = ?", (delivery_id,))

    def deliveries(
        self,
        *,
        update_id: int | None = None,
        incident_id: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Delivery]:
        clauses: list[str] = []
        params: list[Any] = []
        if update_id is not None:
            clauses.append("update_id = ?")
            params.append(update_id)
        if incident_id is not None:
            clauses.append("incident_id = ?")
            params.append(incident_id)
        if statuses is not None:
            wanted = list(statuses)
            clauses.append(f"status IN ({', '.join('?' for _ in wanted)})" if wanted else "0")
            params.extend(wanted)
        sql = "SELECT * FROM deliveries"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY updated_at DESC, id DESC" if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(max(limit, 0))
        with self._tx() as conn:
            return every(conn, Delivery, sql, params)

    def thread(self, incident_id: str, channel: str, recipient: str) -> ThreadRef:
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT d.provider_message_id, d.thread_data FROM deliveries d"
                " JOIN updates u ON u.id = d.update_id"
                " WHERE d.incident_id = ? AND d.channel = ? AND d.recipient = ?"
                " AND d.status = 'sent' ORDER BY u.number, d.id",
                (incident_id, channel, recipient),
            ).fetchall()
        history = tuple(
            {**json.loads(data or "{}"), "provider_message_id": message_id}
            for message_id, data in rows
        )
        return ThreadRef.of(history)

    # scheduled actions

    def record_action(self, action: ScheduledAction) -> bool:
        values = {f: getattr(action, f) for f in ScheduledAction.__slots__}
        values["created_at"] = action.created_at or utcnow_iso()
        with self._tx(write=True) as conn:
            # The primary key decides: of several ticks recording one moment, the first wins.
            conflict = "ON CONFLICT (kind, incident_id, update_number, slot) DO NOTHING"
            columns = ", ".join(values)
            marks = ", ".join("?" for _ in values)
            sql = f"INSERT INTO scheduled_actions ({columns}) VALUES ({marks}) {conflict}"
            return conn.execute(sql, tuple(values.values())).rowcount == 1

    def actions(self, incident_id: str | None = None) -> list[ScheduledAction]:
        sql = "SELECT * FROM scheduled_actions"
        params: tuple[str, ...] = ()
        if incident_id is not None:
            sql += " WHERE incident_id = ?"
            params = (incident_id,)
        with self._tx() as conn:
            rows = conn.execute(sql + " ORDER BY created_at, rowid", params).fetchall()
        return [ScheduledAction(**dict(row)) for row in rows]

    # provider sessions

    def kv_get(self, key: str) -> dict[str, Any] | None:
        with self._tx() as conn:
            row = conn.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        value = json.loads(row["value"]) if row else None
        return value if isinstance(value, dict) else None

    def kv_set(self, key: str, value: dict[str, Any]) -> None:
        with self._tx(write=True) as conn:
            conn.execute(
                "INSERT INTO kv (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key)"
                " DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, json.dumps(value), utcnow_iso()),
            )

    # suppression list

    def suppress(self, channel: str, recipient: str, reason: str = "") -> None:
        with self._tx(write=True) as conn:
            conn.execute(
                "INSERT INTO suppressions (channel, recipient, reason, created_at)"
                " VALUES (?, ?, ?, ?)"
                " ON CONFLICT (channel, recipient) DO UPDATE SET reason = excluded.reason",
                (channel, recipient, reason, utcnow_iso()),
            )

    def unsuppress(self, channel: str, recipient: str) -> bool:
        with self._tx(write=True) as conn:
            cur = conn.execute(
                "DELETE FROM suppressions WHERE channel = ? AND recipient = ?",
                (channel, recipient),
            )
            return cur.rowcount > 0

    def suppressed(self, channel: str | None = None) -> list[tuple[str, str, str, str]]:
        """Every row, or those that apply to `channel`: its own and the '*' ones."""
        sql = "SELECT channel, recipient, reason, created_at FROM suppressions"
        params: tuple[str, ...] = ()
        if channel is not None:
            sql += " WHERE channel IN (?, '*')"
            params = (channel,)
        with self._tx() as conn:
            rows = conn.execute(sql + " ORDER BY channel, recipient", params).fetchall()
        return [tuple(row) for row in rows]

    def is_suppressed(self, channel: str, recipient: str) -> bool:
        with self._tx() as conn:
            row = conn.execute(
                "SELECT 1 FROM suppressions WHERE channel IN (?, '*') AND recipient = ?",
                (channel, recipient),
            ).fetchone()
        return row is not None

    # the journal as a whole

    def describe(self) -> JournalInfo:
        with self._tx() as conn:
            (schema,) = conn.execute("SELECT COALESCE(MAX(number), 0) FROM migrations").fetchone()
        return JournalInfo("SQLite", str(self.path), int(schema))

    def verify(self) -> list[str]:
        """SQLite's own integrity check of every page, index and constraint."""
        try:
            with self._tx() as conn:
                rows = conn.execute("PRAGMA integrity_check").fetchall()
        except JournalError as exc:
            return [str(exc)]
        problems = [str(row[0]) for row in rows]
        return [] if problems == ["ok"] else problems

    def is_empty(self) -> bool:
        with self._tx() as conn:
            return copying.is_empty(conn)

    def export_contents(self) -> JournalContents:
        with self._tx() as conn:
            return copying.export_contents(conn)

    def import_contents(self, contents: JournalContents, *, replace: bool = False) -> None:
        with self._tx(write=True) as conn:
            copying.import_contents(conn, contents, replace=replace, where=str(self.path))
