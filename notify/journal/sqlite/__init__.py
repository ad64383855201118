"""The SQLite journal backend: one file (WAL, numbered migrations), named by a path or sqlite://.

`open_location` is what notify.journal.open_journal calls for a plain path or a `sqlite://`
location; `SqliteJournal` is the Journal itself (journal.py), `migrations.py` its schema.
"""

from __future__ import annotations

import os
from pathlib import Path

from notify.errors import JournalError, Location
from notify.journal.sqlite.journal import SqliteJournal

__all__ = ["SCHEME", "SqliteJournal", "open_location"]

SCHEME = "sqlite://"


def open_location(location: str | os.PathLike[str]) -> SqliteJournal:
    """The journal in the file at `location`: a path, or `sqlite://` followed by one
    (`sqlite:///var/lib/notify/journal.db`). Created with its folder if needed, schema up to date.

    Raises JournalError when the file can't be created or isn't a journal.
    """
    if isinstance(location, str) and location[: len(SCHEME)].lower() == SCHEME:
        # Everything after the scheme is the path, as written: no host, no %-decoding.
        path_text = location[len(SCHEME) :]
        if not path_text:
            raise JournalError(
                "a sqlite:// journal location needs a file path after it",
                where=Location(file=location),
                hint="write sqlite:///path/to/journal.db, or just the path",
            )
        return SqliteJournal(Path(path_text).expanduser())
    return SqliteJournal(Path(location))
