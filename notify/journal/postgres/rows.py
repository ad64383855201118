"""The PostgreSQL journal's rows as records: the columns each record is read from, in its order."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import fields
from typing import Any

from notify.journal.base import Delivery, Incident, Update

# Each record's fields are its table's column names: selected in field order, a row is the
# record's positional arguments (json columns arrive decoded by psycopg).
INCIDENT_COLUMNS = ", ".join(f.name for f in fields(Incident))
UPDATE_COLUMNS = ", ".join(f.name for f in fields(Update))
DELIVERY_COLUMNS = ", ".join(f.name for f in fields(Delivery))

# Columns whose values repeat across an update's rows: one copy each, as SQLite's loader keeps.
_REPEATED = tuple(
    i
    for i, f in enumerate(fields(Delivery))
    if f.name in ("incident_id", "channel", "type", "status", "owner", "created_at", "updated_at")
)


def incident(row: Sequence[Any]) -> Incident:
    return Incident(*row)


def update(row: Sequence[Any]) -> Update:
    return Update(*row)


def delivery(row: Sequence[Any]) -> Delivery:
    return Delivery(*row)


def deliveries(rows: Iterable[Sequence[Any]]) -> list[Delivery]:
    """Many rows (an audience of 100,000): their repeated strings shared, not copied per row."""
    found: list[Delivery] = []
    intern = sys.intern
    for row in rows:
        values = list(row)
        for i in _REPEATED:
            if isinstance(values[i], str):
                values[i] = intern(values[i])
        found.append(Delivery(*values))
    return found
