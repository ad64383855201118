"""PostgresJournal: the Journal in a PostgreSQL database that many machines share.

One connection per Journal (per run), in autocommit mode: a claim, a finish or a read is one
statement, atomic by itself; what must be several statements runs in an explicit transaction.
Exactly-once holds across machines because the database enforces it: one row per (update,
channel, recipient), one update per key, claims as conditional UPDATEs, and the takeover of an
abandoned claim under the row's lock. Times come from the server's clock. A lock guards the
connection because the dispatcher may call from a worker thread.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg

from notify.errors import JournalError, Location
from notify.journal.base import (
    IN_FLIGHT,
    CallbackRequest,
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
from notify.journal.postgres import actions, callbacks, copying, state
from notify.journal.postgres import rows as records
from notify.journal.postgres.connection import connect, journal_failed
from notify.journal.postgres.hotpath import HotStatements
from notify.journal.postgres.migrations import migrate, schema_step
from notify.journal.postgres.writes import (
    CLAIM_MANY_SQL,
    CLAIM_SQL,
    FINISH_MANY_SQL,
    HOLDER_SQL,
    INSERT_UPDATE_SQL,
    TAKE_OVER_SQL,
    UPDATE_LOCK,
    finish_many_params,
    finish_row,
    insert_planned,
    upsert_incident,
)
from notify.model import ThreadRef

Connection = psycopg.Connection[Any]


class PostgresJournal(Journal):
    """The Journal in one PostgreSQL database (the module's docstring says how it stays right)."""

    def __init__(self, location: str, shown: str) -> None:
        self.shown = shown  # the location as it may be printed: password ***
        self._lock = threading.RLock()
        conn = connect(location, shown)
        try:
            self.applied_migrations = migrate(conn, shown)
            self._hot = HotStatements(conn)  # read, claim, finish: prepared once, run per delivery
        except psycopg.Error as exc:
            conn.close()
            raise journal_failed(shown, exc) from None
        except BaseException:
            conn.close()
            raise
        self._conn: Connection | None = conn

    @contextmanager
    def _use(self) -> Iterator[Connection]:
        """The connection, for one statement or a transaction of them; database errors become
        JournalErrors naming the (masked) location."""
        with self._lock:
            if self._conn is None:
                raise JournalError("the journal is closed", where=Location(file=self.shown))
            try:
                yield self._conn
            except psycopg.Error as exc:
                raise journal_failed(self.shown, exc) from None

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        with self._use() as conn, conn.transaction():
            yield conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # incidents

    def get_incident(self, incident_id: str) -> Incident | None:
        sql = f"SELECT {records.INCIDENT_COLUMNS} FROM incidents WHERE id = %s"
        with self._use() as conn:
            row = conn.execute(sql, (incident_id,)).fetchone()
        return records.incident(row) if row else None

    def save_incident(self, incident: Incident) -> None:
        with self._use() as conn:
            upsert_incident(conn, incident, incident.updated_at or None)

    def list_incidents(self, include_resolved: bool = False) -> list[Incident]:
        where = "" if include_resolved else "WHERE resolved_at IS NULL"
        sql = (
            f"SELECT {records.INCIDENT_COLUMNS} FROM incidents {where}"
            ' ORDER BY started_at COLLATE "C" DESC, seq DESC'
        )
        with self._use() as conn:
            return [records.incident(r) for r in conn.execute(sql)]

    # updates

    def find_update(self, key: str) -> Update | None:
        sql = f"SELECT {records.UPDATE_COLUMNS} FROM updates WHERE key = %s"
        with self._use() as conn:
            row = conn.execute(sql, (key,)).fetchone()
        return records.update(row) if row else None

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
        find = f"SELECT {records.UPDATE_COLUMNS} FROM updates WHERE key = %s"
        with self._tx() as conn:
            # Every add_update queues here (once per send, so cheap): the key is looked up and
            # the update numbered with no other run between.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (UPDATE_LOCK,))
            row = conn.execute(find, (key,)).fetchone()
            if row is None:
                upsert_incident(conn, incident, None)
                params = {
                    "incident_id": incident.id,
                    "key": key,
                    "template": template,
                    "status": status,
                    "message": message,
                    "next_update_at": next_update_at,
                    "context": json.dumps(context),
                }
                row = conn.execute(INSERT_UPDATE_SQL, params).fetchone()
            assert row is not None
            update = records.update(row)
            insert_planned(conn, update, deliveries)
            planned = conn.execute(
                f"SELECT {records.DELIVERY_COLUMNS} FROM deliveries WHERE update_id = %s"
                " ORDER BY id",
                (update.id,),
            )
            return update, records.deliveries(planned)

    def updates(self, incident_id: str) -> list[Update]:
        sql = f"SELECT {records.UPDATE_COLUMNS} FROM updates WHERE incident_id = %s ORDER BY number"
        with self._use() as conn:
            return [records.update(r) for r in conn.execute(sql, (incident_id,))]

    # deliveries

    def add_deliveries(self, update_id: int, rows: Iterable[PlannedDelivery]) -> list[Delivery]:
        planned = list(rows)
        with self._tx() as conn:
            found = conn.execute(
                f"SELECT {records.UPDATE_COLUMNS} FROM updates WHERE id = %s", (update_id,)
            ).fetchone()
            if found is None:
                raise JournalError(f"no update {update_id} in the journal")
            ids = insert_planned(conn, records.update(found), planned)
            sql = f"SELECT {records.DELIVERY_COLUMNS} FROM deliveries WHERE id = ANY(%s)"
            by_id = {d.id: d for d in records.deliveries(conn.execute(sql, (ids,)))}
        return [by_id[i] for i in ids if i in by_id]

    def claim(self, delivery_id: int, owner: str) -> bool:
        params = {"owner": owner, "id": delivery_id}
        with self._use() as conn:
            # The common case is this one statement: pending or failed, or already ours.
            if self._hot.claim(delivery_id, owner):
                return True
            with conn.transaction():
                held = conn.execute(HOLDER_SQL, (delivery_id,)).fetchone()
                if held is None:
                    return False
                status, holder, claimed_at, now = held
                # Decided on the locked row: nobody claims it between this look and our UPDATE.
                if status in ("pending", "failed") or (
                    status == IN_FLIGHT and holder in (None, owner)
                ):
                    return conn.execute(CLAIM_SQL, params).rowcount == 1
                if status != IN_FLIGHT or not claim_abandoned(holder, claimed_at, _utc(now)):
                    return False
                return conn.execute(TAKE_OVER_SQL, (owner, delivery_id)).rowcount == 1

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
        values = finish_row(
            delivery_id,
            status=status,
            attempts=attempts,
            provider_message_id=provider_message_id,
            thread_data=thread_data,
            error=error,
        )
        with self._use():
            updated = self._hot.finish(values)
        if updated != 1:
            raise JournalError(f"no delivery {delivery_id} in the journal")

    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]:
        if not delivery_ids:
            return []
        with self._use() as conn:
            cur = conn.execute(CLAIM_MANY_SQL, {"owner": owner, "ids": list(delivery_ids)})
            mine = {row[0] for row in cur}
        return [i for i in delivery_ids if i in mine]

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        if not outcomes:
            return
        values = [finish_row(delivery_id, **fields) for delivery_id, fields in outcomes]
        with self._tx() as conn:
            updated = conn.execute(FINISH_MANY_SQL, finish_many_params(values)).rowcount
            if updated != len({v[-1] for v in values}):
                raise JournalError("a delivery of the batch is missing from the journal")

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        with self._use():
            return self._hot.get_delivery(delivery_id)

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
            clauses.append("update_id = %s")
            params.append(update_id)
        if incident_id is not None:
            clauses.append("incident_id = %s")
            params.append(incident_id)
        if statuses is not None:
            clauses.append("status = ANY(%s)")
            params.append(list(statuses))
        sql = f"SELECT {records.DELIVERY_COLUMNS} FROM deliveries"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += ' ORDER BY updated_at COLLATE "C" DESC, id DESC' if newest_first else " ORDER BY id"
        if limit is not None:
            sql += " LIMIT %s"
            params.append(max(limit, 0))
        with self._use() as conn:
            return records.deliveries(conn.execute(sql, params))

    def thread(self, incident_id: str, channel: str, recipient: str) -> ThreadRef:
        with self._use() as conn:
            found = conn.execute(
                "SELECT d.provider_message_id, d.thread_data FROM deliveries d"
                " JOIN updates u ON u.id = d.update_id"
                " WHERE d.incident_id = %s AND d.channel = %s AND d.recipient = %s"
                " AND d.status = 'sent' ORDER BY u.number, d.id",
                (incident_id, channel, recipient),
            ).fetchall()
        history = tuple(
            {**(data or {}), "provider_message_id": message_id} for message_id, data in found
        )
        return ThreadRef.of(history)

    # scheduled actions

    def record_action(self, action: ScheduledAction) -> bool:
        with self._use() as conn:
            return actions.record_action(conn, action)

    def actions(self, incident_id: str | None = None) -> list[ScheduledAction]:
        with self._use() as conn:
            return actions.actions(conn, incident_id)

    # call-back requests

    def record_callback(self, request: CallbackRequest) -> bool:
        with self._use() as conn:
            return callbacks.insert_callback(conn, request)

    def callbacks(self, incident_id: str | None = None) -> list[CallbackRequest]:
        with self._use() as conn:
            return callbacks.select_callbacks(conn, incident_id)

    # provider sessions

    def kv_get(self, key: str) -> dict[str, Any] | None:
        with self._use() as conn:
            return state.kv_get(conn, key)

    def kv_set(self, key: str, value: dict[str, Any]) -> None:
        with self._use() as conn:
            state.kv_set(conn, key, value)

    # suppression list

    def suppress(self, channel: str, recipient: str, reason: str = "") -> None:
        with self._use() as conn:
            state.suppress(conn, channel, recipient, reason)

    def unsuppress(self, channel: str, recipient: str) -> bool:
        with self._use() as conn:
            return state.unsuppress(conn, channel, recipient)

    def suppressed(self, channel: str | None = None) -> list[tuple[str, str, str, str]]:
        """Every row, or those that apply to `channel`: its own and the '*' ones."""
        with self._use() as conn:
            return state.suppressed(conn, channel)

    def is_suppressed(self, channel: str, recipient: str) -> bool:
        with self._use() as conn:
            return state.is_suppressed(conn, channel, recipient)

    # the journal as a whole

    def describe(self) -> JournalInfo:
        with self._use() as conn:
            return JournalInfo("PostgreSQL", self.shown, schema_step(conn, self.shown))

    def is_empty(self) -> bool:
        with self._use() as conn:
            return copying.is_empty(conn)

    def export_contents(self) -> JournalContents:
        with self._use() as conn:
            return copying.export_contents(conn)

    def import_contents(self, contents: JournalContents, *, replace: bool = False) -> None:
        with self._tx() as conn:
            copying.import_contents(conn, contents, replace=replace, shown=self.shown)


def _utc(now: str) -> datetime:
    return datetime.fromisoformat(now.replace("Z", "+00:00"))
