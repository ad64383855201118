"""The journal: `open_journal(location)` opens the backend the location's scheme names.

A location is a file path or `sqlite:///path` (SQLite), or one day `postgresql://...`. Each
backend is a package under notify/journal/ with an `open_location(location) -> Journal`, imported
only when a command opens a journal. The interface and records are in base.py, claim owners in
owners.py, the provider-session store in sessions.py; all are importable from here.
"""

from __future__ import annotations

import importlib
import os
import re
from urllib.parse import urlsplit, urlunsplit

from notify import secrets
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
    PlannedDelivery,
    Update,
)
from notify.journal.owners import claim_abandoned, owner_alive, run_owner
from notify.journal.sessions import JournalSessionStore

__all__ = [
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
    "JournalSessionStore",
    "PlannedDelivery",
    "Update",
    "claim_abandoned",
    "open_journal",
    "owner_alive",
    "run_owner",
]

# Scheme -> the package that opens its locations. Adding a backend is its package and its line.
BACKENDS: dict[str, str] = {
    "sqlite": "notify.journal.sqlite",
}
# Other spellings of a scheme.
ALIASES: dict[str, str] = {"postgres": "postgresql"}
# Schemes a later notify will open: named in the error rather than called unknown.
PLANNED: dict[str, str] = {"postgresql": "PostgreSQL"}

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
_HINT = (
    "for now use a SQLite journal: give --journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml"
    " a file path, or sqlite:///path/to/journal.db"
)


def open_journal(location: str | os.PathLike[str]) -> Journal:
    """Open the journal at `location` (creating it if needed), its schema up to date.

    A path (str or Path) or `sqlite:///path` is a SQLite file. Raises JournalError when the
    location names no backend this notify has, or its journal can't be opened.
    """
    scheme = _scheme(location)
    module_name = BACKENDS.get(scheme)
    if module_name is None:
        shown = _without_password(str(location))
        if scheme in PLANNED:
            raise JournalError(
                f"the {PLANNED[scheme]} journal backend is not available in this notify yet",
                where=Location(file=shown),
                hint=_HINT,
            )
        raise JournalError(
            f"no journal backend for {scheme}:// locations",
            where=Location(file=shown),
            hint=_HINT,
        )
    try:
        backend = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name is None or module_name.startswith(exc.name):
            raise  # the backend package itself is missing: a broken install, not the user's fault
        raise JournalError(
            f"the {scheme} journal needs the Python package {exc.name}, which is not installed",
            where=Location(file=_without_password(str(location))),
            hint=f"install it (pip install {exc.name}), or use a SQLite journal",
        ) from None
    journal: Journal = backend.open_location(location)
    return journal


def _scheme(location: str | os.PathLike[str]) -> str:
    """The backend's scheme: "sqlite" for a plain path (a Path object is always one)."""
    if isinstance(location, str) and (match := _URL.match(location)):
        scheme = match.group(1).lower()
        return ALIASES.get(scheme, scheme)
    return "sqlite"


def _without_password(location: str) -> str:
    """`location` as it may be shown: a URL's password replaced by *** (and registered secret)."""
    try:
        parts = urlsplit(location)
        password = parts.password
    except ValueError:
        return secrets.redact(location)
    if not password:
        return secrets.redact(location)
    secrets.register(password)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{secrets.MASK}@{host}"
    return secrets.redact(urlunsplit(parts._replace(netloc=netloc)))
