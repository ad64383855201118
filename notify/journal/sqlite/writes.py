"""The SQLite journal's write statements that several of its methods share."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from typing import Any

from notify.journal.base import (
    ALL_STATUSES,
    Incident,
    PlannedDelivery,
    Update,
)
from notify.journal.sqlite.rows import dump, insert, utcnow_iso
from notify.secrets import redact

CLAIM_SQL = (
    "UPDATE deliveries SET status = 'unknown', owner = ?, updated_at = ?"
    " WHERE id = ? AND (status IN ('pending', 'failed')"
    " OR (status = 'unknown' AND (owner IS NULL OR owner = ?)))"
)
FINISH_SQL = (
    "UPDATE deliveries SET status = ?, attempts = ?, provider_message_id = ?,"
    " thread_data = ?, error = ?, owner = NULL, updated_at = ? WHERE id = ?"
)


def finish_values(
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    provider_message_id: str | None = None,
    thread_data: dict[str, Any] | None = None,
    error: str | None = None,
) -> tuple[Any, ...]:
    """The parameters of FINISH_SQL, the error redacted."""
    if status not in ALL_STATUSES:
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


def upsert_incident(conn: sqlite3.Connection, incident: Incident, updated_at: str) -> None:
    """Insert the incident, or update what may change about it."""
    # started_at is kept from the first insert: an incident starts once.
    values = dump(incident) | {"started_at": incident.started_at or updated_at}
    conflict = (
        "ON CONFLICT (id) DO UPDATE SET title = excluded.title, status = excluded.status,"
        " impact = excluded.impact, components = excluded.components,"
        " updated_at = excluded.updated_at, resolved_at = excluded.resolved_at"
    )
    insert(conn, "incidents", conflict, **(values | {"updated_at": updated_at}))


def insert_planned(
    conn: sqlite3.Connection, update: Update, planned: Iterable[PlannedDelivery]
) -> list[int]:
    """Insert the planned rows the update lacks; return every planned row's id, in order."""
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
