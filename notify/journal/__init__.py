"""The journal: `open_journal(location)` opens the backend the location's scheme names.

A location is a file path or `sqlite:///path` (SQLite), or `postgresql://user:password@host/db`
(PostgreSQL, shared by many machines). Each backend is a package under notify/journal/ with an
`open_location(location) -> Journal`, imported only when a command opens a journal. The
interface and records are in base.py, claim owners in owners.py, the provider-session store in
sessions.py, reading locations (and masking their passwords) in locations.py; all are importable
from here.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path

from notify.errors import JournalError, Location
from notify.journal.base import (
    FAILED,
    FINAL_STATUSES,
    IN_FLIGHT,
    PENDING,
    RETRYABLE_STATUSES,
    SENT,
    SKIPPED,
    Delivery,
    Incident,
    Journal,
    JournalContents,
    JournalInfo,
    PlannedDelivery,
    Update,
)
from notify.journal.locations import ALIASES, is_url, scheme, shown, sqlite_file
from notify.journal.owners import claim_abandoned, owner_alive, run_owner
from notify.journal.sessions import JournalSessionStore

__all__ = [
    "ALIASES",
    "BACKENDS",
    "FAILED",
    "FINAL_STATUSES",
    "IN_FLIGHT",
    "PENDING",
    "RETRYABLE_STATUSES",
    "SENT",
    "SKIPPED",
    "Delivery",
    "Incident",
    "Journal",
    "JournalContents",
    "JournalInfo",
    "JournalSessionStore",
    "PlannedDelivery",
    "Update",
    "claim_abandoned",
    "is_url",
    "journal_file",
    "open_journal",
    "owner_alive",
    "run_owner",
    "shown_location",
]

# Scheme -> the package that opens its locations. Adding a backend is its package and its line.
# (Other spellings of a scheme, like postgres://, are in locations.ALIASES.)
BACKENDS: dict[str, str] = {
    "sqlite": "notify.journal.sqlite",
    "postgresql": "notify.journal.postgres",
}
# Schemes a later notify will open: named in the error rather than called unknown.
PLANNED: dict[str, str] = {}

_HINT = (
    "give --journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml a file path (SQLite),"
    " sqlite:///path/to/journal.db, or postgresql://user:password@host:5432/dbname"
)


def open_journal(location: str | os.PathLike[str]) -> Journal:
    """Open the journal at `location` (creating it if needed), its schema up to date.

    A path (str or Path) or `sqlite:///path` is a SQLite file. Raises JournalError when the
    location names no backend this notify has, or its journal can't be opened.
    """
    name = scheme(location)
    module_name = BACKENDS.get(name)
    if module_name is None:
        masked = shown(location)
        if name in PLANNED:
            raise JournalError(
                f"the {PLANNED[name]} journal backend is not available in this notify yet",
                where=Location(file=masked),
                hint=_HINT,
            )
        raise JournalError(
            f"no journal backend for {name}:// locations",
            where=Location(file=masked),
            hint=_HINT,
        )
    try:
        backend = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or module_name.startswith(exc.name):
            raise  # the backend package itself is missing: a broken install, not the user's fault
        raise JournalError(
            f"the {name} journal needs the Python package {exc.name}, which is not installed",
            where=Location(file=shown(location)),
            hint=f"install it (pip install {exc.name}), or use a SQLite journal",
        ) from None
    journal: Journal = backend.open_location(location)
    return journal


def shown_location(location: str | os.PathLike[str]) -> str:
    """`location` as it may be printed, its password *** (and registered as a secret)."""
    return shown(location)


def journal_file(location: str | os.PathLike[str]) -> Path | None:
    """The file a SQLite location names (it may not exist yet); None for a journal on a server,
    which is always there to open."""
    return sqlite_file(location) if scheme(location) == "sqlite" else None
