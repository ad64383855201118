"""The PostgreSQL journal's write statements: claims, outcomes, incidents and planned rows.

Each claim is one atomic UPDATE whose WHERE says which rows may be claimed, so the database
itself decides who wins a race (the row lock queues the losers, who then see the row taken).
A batch is one statement for all its rows, not a statement per row.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from notify.journal.base import (
    ALL_STATUSES,
    Incident,
    PlannedDelivery,
    Update,
)
from notify.journal.postgres.migrations import NOW_SQL
from notify.journal.postgres.rows import UPDATE_COLUMNS
from notify.secrets import redact

# pg_advisory_xact_lock key that serialises add_update (once per send): numbering an incident's
# updates and the check for an existing key happen under it.
UPDATE_LOCK = 0x6E6F74696679 + 1

CLAIMABLE = (
    "(status IN ('pending', 'failed')"
    " OR (status = 'unknown' AND (owner IS NULL OR owner = %(owner)s)))"
)
CLAIM_SQL = (
    f"UPDATE deliveries SET status = 'unknown', owner = %(owner)s, updated_at = {NOW_SQL}"
    f" WHERE id = %(id)s AND {CLAIMABLE}"
)
# Rows another run is claiming this instant are skipped, not waited for (SKIP LOCKED): the
# dispatcher tries those with `claim` after its request. Locked in id order: no deadlocks.
CLAIM_MANY_SQL = (
    f"UPDATE deliveries SET status = 'unknown', owner = %(owner)s, updated_at = {NOW_SQL}"
    " WHERE id IN (SELECT id FROM deliveries WHERE id = ANY(%(ids)s)"
    f" AND {CLAIMABLE} ORDER BY id FOR UPDATE SKIP LOCKED) RETURNING id"
)
# The claim of a row in flight under another owner, read under its row lock.
HOLDER_SQL = f"SELECT status, owner, updated_at, {NOW_SQL} FROM deliveries WHERE id = %s FOR UPDATE"
TAKE_OVER_SQL = (
    f"UPDATE deliveries SET status = 'unknown', owner = %s, updated_at = {NOW_SQL} WHERE id = %s"
)
FINISH_SQL = (
    "UPDATE deliveries SET status = %s, attempts = %s, provider_message_id = %s,"
    f" thread_data = %s::json, error = %s, owner = NULL, updated_at = {NOW_SQL} WHERE id = %s"
)
FINISH_MANY_SQL = (
    "UPDATE deliveries AS d SET status = v.status, attempts = v.attempts,"
    " provider_message_id = v.provider_message_id, thread_data = v.thread_data::json,"
    f" error = v.error, owner = NULL, updated_at = {NOW_SQL}"
    " FROM unnest(%s::bigint[], %s::text[], %s::int[], %s::text[], %s::text[], %s::text[])"
    " AS v(id, status, attempts, provider_message_id, thread_data, error) WHERE d.id = v.id"
)
UPSERT_INCIDENT_SQL = (
    "INSERT INTO incidents (id, title, status, impact, components, started_at, updated_at,"
    " resolved_at) VALUES (%(id)s, %(title)s, %(status)s, %(impact)s, %(components)s::json,"
    f" COALESCE(%(started_at)s, %(updated_at)s, {NOW_SQL}), COALESCE(%(updated_at)s, {NOW_SQL}),"
    " %(resolved_at)s) ON CONFLICT (id) DO UPDATE SET title = excluded.title,"
    " status = excluded.status, impact = excluded.impact, components = excluded.components,"
    " updated_at = excluded.updated_at, resolved_at = excluded.resolved_at"
)
INSERT_UPDATE_SQL = (
    "INSERT INTO updates (incident_id, number, key, template, status, message, created_at,"
    " next_update_at, context) SELECT %(incident_id)s,"
    " COALESCE(MAX(number), 0) + 1, %(key)s, %(template)s, %(status)s, %(message)s,"
    f" {NOW_SQL}, %(next_update_at)s, %(context)s::json FROM updates"
    f" WHERE incident_id = %(incident_id)s RETURNING {UPDATE_COLUMNS}"
)
INSERT_PLANNED_SQL = (
    "INSERT INTO deliveries (update_id, incident_id, channel, type, recipient, status, error,"
    f" fallback_for, created_at, updated_at) SELECT %s, %s, c, t, r, s, e, f, {NOW_SQL},"
    f" {NOW_SQL} FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
    " %s::bigint[]) WITH ORDINALITY AS p(c, t, r, s, e, f, n) ORDER BY n"
    " ON CONFLICT (update_id, channel, recipient) DO NOTHING"
)


def finish_row(
    delivery_id: int,
    *,
    status: str,
    attempts: int,
    provider_message_id: str | None = None,
    thread_data: dict[str, Any] | None = None,
    error: str | None = None,
) -> tuple[Any, ...]:
    """One outcome as (status, attempts, provider id, thread_data JSON, error, id), the error
    redacted."""
    if status not in ALL_STATUSES:
        raise ValueError(f"unknown delivery status {status!r}")
    return (
        status,
        attempts,
        provider_message_id,
        json.dumps(thread_data or {}),
        redact(error) if error is not None else None,
        delivery_id,
    )


def finish_many_params(rows: Sequence[tuple[Any, ...]]) -> tuple[list[Any], ...]:
    """finish_row tuples as the six arrays of FINISH_MANY_SQL."""
    status, attempts, message_id, thread_data, error, ids = (
        list(c) for c in zip(*rows, strict=True)
    )
    return ids, status, attempts, message_id, thread_data, error


def upsert_incident(
    conn: psycopg.Connection[Any], incident: Incident, updated_at: str | None
) -> None:
    """Insert the incident, or update what may change about it (started_at is kept: an incident
    starts once). `updated_at` None is the server's now."""
    conn.execute(
        UPSERT_INCIDENT_SQL,
        {
            "id": incident.id,
            "title": incident.title,
            "status": incident.status,
            "impact": incident.impact,
            "components": json.dumps(incident.components),
            "started_at": incident.started_at or None,
            "updated_at": updated_at or None,
            "resolved_at": incident.resolved_at,
        },
    )


def insert_planned(
    conn: psycopg.Connection[Any], update: Update, planned: Iterable[PlannedDelivery]
) -> list[int]:
    """Insert the planned rows the update lacks; return every planned row's id, in order."""
    rows = list(planned)
    if not rows:
        return []
    # One statement for all of them, then one query for their ids: an audience of 100,000 is
    # two round trips to the server, not 200,000.
    conn.execute(
        INSERT_PLANNED_SQL,
        (
            update.id,
            update.incident_id,
            [p.channel for p in rows],
            [p.type for p in rows],
            [p.recipient for p in rows],
            [p.status for p in rows],
            [redact(p.error) if p.error is not None else None for p in rows],
            [p.fallback_for for p in rows],
        ),
    )
    # The ids of the rows asked for only: a plan recorded in parts asks for a thousand rows
    # at a time of an update that may hold a hundred thousand.
    found = conn.execute(
        "SELECT d.channel, d.recipient, d.id FROM deliveries d"
        " JOIN unnest(%s::text[], %s::text[]) AS p(c, r) ON d.channel = p.c AND d.recipient = p.r"
        " WHERE d.update_id = %s",
        ([p.channel for p in rows], [p.recipient for p in rows], update.id),
    )
    ids = {(channel, recipient): i for channel, recipient, i in found}
    return [int(ids[(p.channel, p.recipient)]) for p in rows]
