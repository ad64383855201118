"""SqliteJournal: the Journal in one SQLite file, safe across processes and threads.

One connection per Journal, in autocommit mode with explicit transactions: reads in BEGIN,
writes in BEGIN IMMEDIATE so concurrent runs serialise on the write lock (waiting up to 10 s)
instead of failing on a lock upgrade half-way. A lock guards the connection because the
dispatcher may call from a worker thread.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from notify.errors import JournalError, Location
from notify.journal import claim_abandoned
from notify.journal.base import (
    FAILED,
    IN_FLIGHT,
    PENDING,
    SENT,
    SKIPPED,
    Delivery,
    Incident,
    Journal,
    PlannedDelivery,
    Update,
)
from notify.journal.migrations import dump, every, insert, migrate, one
from notify.model import ThreadRef
from notify.secrets import redact

BUSY_TIMEOUT_S = 10.0
_STATUSES = frozenset({PENDING, IN_FLIGHT, SENT, FAILED, SKIPPED})
_HINT = "check the path given by --journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml"


def utcnow_iso() -> str:
    """Now, as the journal writes times: ISO 8601 UTC to the second ("2026-11-22T17:40:00Z")."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _use_wal(conn: sqlite3.Connection) -> None:
    """WAL: readers never block the run that is writing.

    synchronous=NORMAL: in WAL mode every commit survives the process dying (kill -9, OOM,
    Ctrl-C): the claim is in the WAL before its request leaves. Only an OS crash or power loss can
    lose the last commits. FULL would fsync every commit: 3 ms per claim and finish, which caps a
    fan-out far below a 500/s rate limit (benchmarks/delivery_sms.py)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            return
        except sqlite3.OperationalError as exc:
            # Switching needs an exclusive lock, and SQLite answers "locked" at once rather than
            # wait for it (two new journals opened together): retry up to the busy timeout.
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


_CLAIM_SQL = (
    "UPDATE deliveries SET status = 'unknown', owner = ?, updated_at = ?"
    " WHERE id = ? AND (status IN ('pending', 'failed')"
    " OR (status = 'unknown' AND (owner IS NULL OR owner = ?)))"
)
_FINISH_SQL = (
    "UPDATE deliveries SET status = ?, attempts = ?, provider_message_id = ?,"
    " thread_data = ?, error = ?, owner = NULL, updated_at = ? WHERE id = ?"
)


def _finish_values(
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    provider_message_id: str | None = None,
    thread_data: dict[str, Any] | None = None,
    error: str | None = None,
) -> tuple[Any, ...]:
    """The parameters of _FINISH_SQL, the error redacted."""
    if status not in _STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    return (
        status,
        attempts,
        provider_message_id,
        json.dumps(thread_data or {}),
        redact(error) if error is not None else None,
        utcnow_iso(),
        delivery_id,
    )


class SqliteJournal(Journal):
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise JournalError(
                f"cannot create the journal's folder: {exc.strerror or exc}",
                where=Location(file=str(self.path.parent)),
                hint=_HINT,
            ) from exc
        is_new = not self.path.exists()
        try:
            conn = sqlite3.connect(
                str(self.path),
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
        except sqlite3.Error as exc:
            raise self._error("cannot open the journal", exc) from exc
        try:
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            if is_new:
                # Bluesky session tokens live here: owner-only, like ~/.ssh files. SQLite gives
                # the -wal and -shm files the database file's mode.
                os.chmod(self.path, 0o600)
            _use_wal(conn)
            self.applied_migrations = migrate(conn, str(self.path))
        except sqlite3.Error as exc:
            conn.close()
            raise self._error("cannot open the journal", exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn: sqlite3.Connection | None = conn

    def _error(self, what: str, exc: sqlite3.Error) -> JournalError:
        return JournalError(f"{what}: {exc}", where=Location(file=str(self.path)), hint=_HINT)

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
            except sqlite3.OperationalError as exc:
                # Locked past the busy timeout, disk full, I/O errors: the user can act on them.
                raise self._error("the journal failed", exc) from exc

    def _single(self, sql: str, params: tuple[Any, ...]) -> int:
        """One write statement in autocommit (atomic by itself); returns the rows it changed."""
        with self._lock:
            if self._conn is None:
                raise JournalError("the journal is closed", where=Location(file=str(self.path)))
            try:
                return self._conn.execute(sql, params).rowcount
            except sqlite3.OperationalError as exc:
                raise self._error("the journal failed", exc) from exc

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
            _upsert_incident(conn, incident, incident.updated_at or utcnow_iso())

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
                    if update is None:
                        now = utcnow_iso()
                        _upsert_incident(conn, incident, now)
                        sql = "SELECT COALESCE(MAX(number), 0) FROM updates WHERE incident_id = ?"
                        (last,) = conn.execute(sql, (incident.id,)).fetchone()
                        update = Update(
                            id=0,
                            incident_id=incident.id,
                            number=last + 1,
                            key=key,
                            template=template,
                            status=status,
                            message=message,
                            created_at=now,
                            next_update_at=next_update_at,
                            context=context,
                        )
                        update.id = insert(conn, "updates", **dump(update, skip="id"))
                    _insert_planned(conn, update, deliveries)
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
            ids = _insert_planned(conn, update, planned)
            sql = "SELECT * FROM deliveries WHERE id = ?"
            return [d for i in ids if (d := one(conn, Delivery, sql, (i,)))]

    def claim(self, delivery_id: int, owner: str) -> bool:
        now = utcnow_iso()
        claim_sql = _CLAIM_SQL
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
        values = _finish_values(
            delivery_id,
            status=status,
            attempts=attempts,
            provider_message_id=provider_message_id,
            thread_data=thread_data,
            error=error,
        )
        updated = self._single(_FINISH_SQL, values)
        if updated != 1:
            raise JournalError(f"no delivery {delivery_id} in the journal")

    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]:
        # One transaction for a whole batch (SendGrid: 1,000 rows): a commit per row costs more
        # than the request. Rows another run holds are left to `claim`, which knows dead runs.
        now = utcnow_iso()
        claimed: list[int] = []
        with self._tx(write=True) as conn:
            for delivery_id in delivery_ids:
                cur = conn.execute(_CLAIM_SQL, (owner, now, delivery_id, owner))
                if cur.rowcount == 1:
                    claimed.append(delivery_id)
        return claimed

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        values = [_finish_values(delivery_id, **fields) for delivery_id, fields in outcomes]
        with self._tx(write=True) as conn:
            cur = conn.executemany(_FINISH_SQL, values)
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
        if not history:
            return ThreadRef()
        return ThreadRef(root=history[0], previous=history[-1], history=history)

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


def _upsert_incident(conn: sqlite3.Connection, incident: Incident, updated_at: str) -> None:
    # started_at is kept from the first insert: an incident starts once.
    values = dump(incident) | {"started_at": incident.started_at or updated_at}
    conflict = (
        "ON CONFLICT (id) DO UPDATE SET title = excluded.title, status = excluded.status,"
        " impact = excluded.impact, components = excluded.components,"
        " updated_at = excluded.updated_at, resolved_at = excluded.resolved_at"
    )
    insert(conn, "incidents", conflict, **(values | {"updated_at": updated_at}))


def _insert_planned(
    conn: sqlite3.Connection, update: Update, planned: Iterable[PlannedDelivery]
) -> list[int]:
    """Insert the rows the update lacks; return every planned row's id, in order."""
    now = utcnow_iso()
    rows = [
        (
            update.id,
            update.incident_id,
            p.channel,
            p.type,
            p.recipient,
            p.status,
            redact(p.error) if p.error is not None else None,
            p.fallback_for,
            now,
            now,
        )
        for p in planned
    ]
    # One statement for all of them, then one query for their ids: an audience of 100,000 is
    # two statements, not 200,000.
    conn.executemany(
        "INSERT INTO deliveries (update_id, incident_id, channel, type, recipient, status, error,"
        " fallback_for, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (update_id, channel, recipient) DO NOTHING",
        rows,
    )
    if len(rows) > 100:  # a whole audience: read every id of the update at once
        sql = "SELECT channel, recipient, id FROM deliveries WHERE update_id = ?"
        found = conn.execute(sql, (update.id,))
        ids = {(channel, recipient): i for channel, recipient, i in found}
        return [int(ids[(row[2], row[4])]) for row in rows]
    sql = "SELECT id FROM deliveries WHERE update_id = ? AND channel = ? AND recipient = ?"
    return [int(conn.execute(sql, (row[0], row[2], row[4])).fetchone()[0]) for row in rows]
