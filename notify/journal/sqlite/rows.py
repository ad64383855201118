"""The SQLite journal's rows read as the journal's records and written back, and its clock."""

from __future__ import annotations

import json
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar

from notify.journal.base import Delivery, Incident, Update

# Columns holding JSON, with what an empty one reads as. Other columns map 1:1 to dataclass fields.
_EMPTY_JSON = {"components": "[]", "context": "{}", "thread_data": "{}"}

Row = TypeVar("Row", Incident, Update, Delivery)


def utcnow_iso() -> str:
    """Now, as the journal writes times: ISO 8601 UTC to the second ("2026-11-22T17:40:00Z")."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def insert(conn: sqlite3.Connection, table: str, _conflict: str = "", **values: Any) -> int:
    """INSERT one row (table and column names are ours, never user input); return its rowid."""
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks}) {_conflict}"
    return conn.execute(sql, tuple(values.values())).lastrowid or 0


def one(
    conn: sqlite3.Connection, cls: type[Row], sql: str, params: Sequence[Any] = ()
) -> Row | None:
    row = conn.execute(sql, params).fetchone()
    return load(cls, row) if row else None


def every(
    conn: sqlite3.Connection, cls: type[Row], sql: str, params: Sequence[Any] = ()
) -> list[Row]:
    # Row by row, not fetchall(): 100,000 raw rows and their dataclasses are never both held.
    return [load(cls, row) for row in conn.execute(sql, params)]


def dump(obj: Incident | Update | Delivery, skip: str = "") -> dict[str, Any]:
    """A dataclass as column values, JSON columns encoded; `skip` leaves one out (an id)."""
    data = {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != skip}
    for name in _EMPTY_JSON:
        if name in data:
            data[name] = json.dumps(data[name])
    return data


def load(cls: type[Row], row: sqlite3.Row) -> Row:
    """A row (read with sqlite3.Row) as its dataclass, JSON columns decoded."""
    # By the dataclass's fields, so a later step may add columns without breaking this.
    names, json_columns = _columns(cls)
    data = {name: row[name] for name in names}
    for name in _REPEATED:  # the same few values in every row of an update: one copy each
        value = data.get(name)
        if isinstance(value, str):
            data[name] = sys.intern(value)
    for name, empty in json_columns:
        value = data[name]
        # An empty column is most rows (thread_data of a pending delivery): skip the decoder.
        data[name] = (
            json.loads(value) if value and value != empty else ([] if empty == "[]" else {})
        )
    return cls(**data)


# Columns whose values repeat across an update's rows (sqlite3 returns a new str for each).
_REPEATED = ("incident_id", "channel", "type", "status", "owner", "created_at", "updated_at")
_COLUMNS: dict[type, tuple[tuple[str, ...], tuple[tuple[str, str], ...]]] = {}


def _columns(cls: type) -> tuple[tuple[str, ...], tuple[tuple[str, str], ...]]:
    """A row class's field names and its JSON columns: looked up once, not per row (a journal
    of 100,000 deliveries is loaded in one go)."""
    if cls not in _COLUMNS:
        names = tuple(f.name for f in fields(cls))
        _COLUMNS[cls] = names, tuple((n, e) for n, e in _EMPTY_JSON.items() if n in names)
    return _COLUMNS[cls]
