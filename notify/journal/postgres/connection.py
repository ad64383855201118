"""Connecting to the PostgreSQL journal: a timeout, and each failure as one line saying what to do.

The location is a libpq URL. Its password is registered as a secret before anything can fail,
and no message here quotes the URL as given: only `shown` (password ***), the host, the port, the
user and the database name.
"""

from __future__ import annotations

from collections.abc import Mapping

import psycopg
from psycopg.conninfo import conninfo_to_dict

from notify.errors import JournalError, Location
from notify.secrets import redact

CONNECT_TIMEOUT_S = 5  # unless the location sets connect_timeout itself
WHERE_SET = "the journal location (--journal, $NOTIFY_JOURNAL or `journal:` in channels.yaml)"


def connect(location: str, shown: str) -> psycopg.Connection[tuple[object, ...]]:
    """One autocommit connection to the journal's database. Raises JournalError, saying what to
    do, when the location is malformed, the server can't be reached, or it refuses us."""
    where = Location(file=shown)
    try:
        params = conninfo_to_dict(location)
    except psycopg.Error as exc:
        raise JournalError(
            f"not a valid PostgreSQL location: {_first_line(exc)}",
            where=where,
            hint=f"Write postgresql://user:password@host:5432/dbname in {WHERE_SET}",
        ) from None
    server = f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    options: dict[str, object] = {"autocommit": True, "application_name": "notify"}
    if "connect_timeout" not in params:
        options["connect_timeout"] = CONNECT_TIMEOUT_S
    server_options = str(params.get("options") or "")
    if "synchronous_commit" not in server_options:
        # As SQLite's synchronous=NORMAL: a commit survives this process dying at once (the
        # server has it), and only a crash of the server itself can lose the last few hundred
        # milliseconds of commits. Waiting for a disk flush on every claim and finish would cap
        # a fan-out at the disk's flush rate. A location may set it otherwise:
        # ?options=-csynchronous_commit%3Don
        options["options"] = f"{server_options} -c synchronous_commit=off".strip()
    try:
        return psycopg.connect(location, **options)  # type: ignore[arg-type]
    except psycopg.Error as exc:
        raise _connect_error(exc, params, server, where) from None


def _connect_error(
    exc: psycopg.Error, params: Mapping[str, object], server: str, where: Location
) -> JournalError:
    text = str(exc)
    user = params.get("user") or "(your login name)"
    database = params.get("dbname") or user
    if "password authentication failed" in text or "no password supplied" in text:
        return JournalError(
            f"the PostgreSQL server at {server} refused the password of user {user}",
            where=where,
            hint=f"Check the user and password in {WHERE_SET} (or $PGPASSWORD, ~/.pgpass)",
        )
    if "does not exist" in text and "database" in text:
        return JournalError(
            f"the PostgreSQL server at {server} has no database {database}",
            where=where,
            hint=f"Create it (createdb {database}), or fix the database name in {WHERE_SET}",
        )
    if "does not exist" in text and "role" in text:
        return JournalError(
            f"the PostgreSQL server at {server} has no user {user}",
            where=where,
            hint=f"Create the user, or fix the user name in {WHERE_SET}",
        )
    if isinstance(exc, psycopg.OperationalError) and any(
        clue in text
        for clue in (
            "Connection refused",
            "timeout expired",
            "resolve host",
            "translate host name",
            "No route to host",
            "Network is unreachable",
            "server closed the connection",
        )
    ):
        waited = params.get("connect_timeout") or CONNECT_TIMEOUT_S
        return JournalError(
            f"cannot reach the PostgreSQL server at {server} (waited up to {waited} s)",
            where=where,
            hint="Check the host and port, and that the server is running and accepts TCP "
            f"connections from this machine; or point {WHERE_SET} elsewhere",
        )
    return JournalError(
        f"cannot connect to the PostgreSQL journal at {server}: {_first_line(exc)}",
        where=where,
        hint=f"Check {WHERE_SET}",
    )


def _first_line(exc: BaseException) -> str:
    """An error's message on one line (libpq's go on over several), any secret masked."""
    text = redact(str(exc)).strip()
    for prefix in ("connection failed: ", "connection is bad: "):
        text = text.removeprefix(prefix)
    return " ".join(text.split()) or type(exc).__name__


def journal_failed(shown: str, exc: psycopg.Error) -> JournalError:
    """A JournalError for a failure after connecting (the server went away, a disk is full)."""
    lost = isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None
    return JournalError(
        f"the journal failed: {_first_line(exc)}",
        where=Location(file=shown),
        hint="The connection to the PostgreSQL server was lost; what was journaled stays, and "
        "`notify retry` finishes the rest once it is back"
        if lost
        else "What was journaled stays; `notify retry` finishes the rest",
    )
