"""Opening the SQLite journal's file: its folder, owner-only mode, WAL, the schema up to date."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from notify.errors import JournalError, Location
from notify.journal.sqlite.migrations import migrate

BUSY_TIMEOUT_S = 10.0
HINT = "check the path given by --journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml"


def journal_error(path: Path, what: str, exc: sqlite3.Error) -> JournalError:
    """A JournalError naming the file, for an sqlite3 error the user can act on."""
    return JournalError(f"{what}: {exc}", where=Location(file=str(path)), hint=HINT)


def connect(path: Path) -> tuple[sqlite3.Connection, list[int]]:
    """A connection to the journal at `path` (created with its folder if needed), in autocommit
    mode, and the migration steps it took to bring the schema up to date.

    Raises JournalError when the file can't be created or isn't a journal.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise JournalError(
            f"cannot create the journal's folder: {exc.strerror or exc}",
            where=Location(file=str(path.parent)),
            hint=HINT,
        ) from exc
    is_new = not path.exists()
    try:
        conn = sqlite3.connect(
            str(path),
            timeout=BUSY_TIMEOUT_S,
            isolation_level=None,
            check_same_thread=False,
        )
    except sqlite3.Error as exc:
        raise journal_error(path, "cannot open the journal", exc) from exc
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA foreign_keys = ON")
        if is_new:
            # Bluesky session tokens live here: owner-only, like ~/.ssh files. SQLite gives
            # the -wal and -shm files the database file's mode.
            os.chmod(path, 0o600)
        _use_wal(conn)
        applied = migrate(conn, str(path))
    except sqlite3.Error as exc:
        conn.close()
        raise journal_error(path, "cannot open the journal", exc) from exc
    except BaseException:
        conn.close()
        raise
    return conn, applied


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
