"""Opening the SQLite journal's file: its folder, owner-only mode (a symlink refused), WAL, the
schema up to date; and which sqlite3 errors are failures of the journal itself."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

from notify.errors import JournalError, JournalFailed, Location
from notify.journal.sqlite.migrations import migrate

BUSY_TIMEOUT_S = 10.0
HINT = "check the path given by --journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml"


# A damaged file or a full disk is the journal failing (exit 4), found when it is opened or
# later; a path that cannot be opened at all, or a file that is no database (a wrong path, most
# likely), is the user's to fix (exit 2).
_FAILURE_WORDS = ("malformed", "disk is full", "disk i/o", "corrupt")
DAMAGED_HINT = (
    "`notify check` verifies the journal; restore it from a backup, or move it aside to start "
    "a new one (its history stays in the old file)"
)


def is_failure(exc: sqlite3.Error) -> bool:
    """Whether `exc` says the journal itself failed (damaged, full, I/O), not a usage error."""
    words = str(exc).lower()
    return any(w in words for w in _FAILURE_WORDS)


def journal_error(path: Path, what: str, exc: sqlite3.Error) -> JournalError:
    """A JournalError naming the file, for an sqlite3 error the user can act on; a
    JournalFailed (exit 4) when the file is damaged or the disk full."""
    if is_failure(exc):
        hint = DAMAGED_HINT if "disk" not in str(exc).lower() else "free disk space, then retry"
        return JournalFailed(f"{what}: {exc}", where=Location(file=str(path)), hint=hint)
    return JournalError(f"{what}: {exc}", where=Location(file=str(path)), hint=HINT)


def runtime_failure(path: Path, exc: sqlite3.DatabaseError) -> JournalError:
    """A sqlite3 error while the journal is in use, as the journal failing (exit 4): locked past
    the busy timeout, disk full, an I/O error, a damaged page. Integrity and programming errors
    are notify's own bugs: they propagate as they are."""
    if isinstance(exc, sqlite3.IntegrityError | sqlite3.ProgrammingError):
        raise exc
    damaged = is_failure(exc) and "disk" not in str(exc).lower()
    return JournalFailed(
        f"the journal failed: {exc}",
        where=Location(file=str(path)),
        hint=DAMAGED_HINT
        if damaged
        else "free disk space or stop what holds the journal, then retry",
    )


def _owner_only(path: Path) -> None:
    """Refuse a journal that is a symlink (whoever placed it chooses where history and
    sessions are written); tighten one readable by others to owner-only, with its WAL files."""
    if path.is_symlink():
        raise JournalError(
            "the journal is a symbolic link, which notify does not follow",
            where=Location(file=str(path)),
            hint=f"point --journal (or `journal:`) at the real file: {path.resolve()}",
        )
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = file.lstat().st_mode
        except FileNotFoundError:
            continue
        if file.is_symlink():
            raise JournalError(
                f"{file.name} is a symbolic link, which notify does not follow",
                where=Location(file=str(file)),
                hint="remove the link; SQLite recreates the file",
            )
        if mode & 0o077:
            os.chmod(file, 0o600)


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
    is_new = not path.exists() and not path.is_symlink()
    _owner_only(path)
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
