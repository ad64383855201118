"""The PostgreSQL journal backend: one database shared by every machine that sends, over psycopg 3.

`open_location` is what notify.journal.open_journal calls for a `postgresql://` (or
`postgres://`) location; `PostgresJournal` is the Journal itself (journal.py), `migrations.py`
its schema, `connection.py` how it connects and what it says when it can't. psycopg is an
optional dependency (`pip install 'notify[postgres]'`): nothing here imports it until a
PostgreSQL journal is opened.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from notify.errors import JournalError, Location
from notify.journal.locations import shown

if TYPE_CHECKING:
    from notify.journal.postgres.journal import PostgresJournal

__all__ = ["INSTALL_HINT", "open_location"]

INSTALL_HINT = "Install it with pip install 'notify[postgres]', or use a SQLite journal"


def open_location(location: str | os.PathLike[str]) -> PostgresJournal:
    """The journal in the database `location` names (postgresql://user:password@host/db), its
    schema created or migrated. Raises JournalError, with one line saying what to do, when
    psycopg is missing or the database can't be reached or used."""
    scheme, rest = str(location).split("://", 1)
    text = f"{scheme.lower()}://{rest}"  # libpq knows the scheme in lower case only
    masked = shown(text)  # registers the password as a secret before anything can print it
    try:
        importlib.import_module("psycopg")
    except ImportError:
        raise JournalError(
            "the PostgreSQL journal needs the Python package psycopg (3), which is not installed",
            where=Location(file=masked),
            hint=INSTALL_HINT,
        ) from None
    from notify.journal.postgres.journal import PostgresJournal

    return PostgresJournal(text, masked)
