"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder, on a free
loopback port, stopped and removed at the end of the session.

It uses the server binaries of the machine (Debian's `postgresql` package: `.ci/run` installs it
where missing). Run as root (CI), the cluster belongs to the `postgres` user, since PostgreSQL
refuses to run as root. Tests that need it skip, saying why, where no binaries are found (and
fail instead when $NOTIFY_REQUIRE_POSTGRES is set, as in CI).

The fixtures (a pytest plugin, listed in tests/conftest.py): `postgres_server`, one cluster for
the session, and `postgres_dsn`, a fresh empty database for one test, dropped after it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PASSWORD = "pg-test-Secret-7f3a"  # a password the secret-leak tests look for in every output
USER = "notify"


def server_binaries() -> Path | None:
    """The folder of initdb / pg_ctl: $NOTIFY_PG_BIN, else the newest Debian install, else PATH."""
    configured = os.environ.get("NOTIFY_PG_BIN")
    if configured:
        return Path(configured) if (Path(configured) / "initdb").exists() else None
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _version(path: str) -> float:
    try:
        return float(Path(path).parts[-3])
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """One cluster: `dsn(database)` gives a DSN with a password, over TCP on 127.0.0.1."""

    def __init__(self, binaries: Path) -> None:
        self.binaries = binaries
        self.root = Path(tempfile.mkdtemp(prefix="notify-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._run_as = "postgres" if os.geteuid() == 0 else None
        self._admin_conn: Any = None

    def _cmd(self, *args: str) -> list[str]:
        if self._run_as is None:
            return list(args)
        return ["runuser", "-u", self._run_as, "--", *args]

    def start(self) -> None:
        if self._run_as is not None:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        if self._run_as is not None:
            os.chown(pwfile, pwd.getpwnam(self._run_as).pw_uid, -1)
        subprocess.run(
            self._cmd(
                str(self.binaries / "initdb"),
                "-D",
                str(self.data),
                "-U",
                USER,
                "--pwfile",
                str(pwfile),
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "-E",
                "UTF8",
                "--no-sync",
            ),
            check=True,
            capture_output=True,
        )
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={self.port}"
            f" -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            self._cmd(
                str(self.binaries / "pg_ctl"),
                "-D",
                str(self.data),
                "-o",
                options,
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self._admin_conn is not None:
            with contextlib.suppress(Exception):
                self._admin_conn.close()
        with contextlib.suppress(Exception):
            subprocess.run(
                self._cmd(
                    str(self.binaries / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"
                ),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres", *, password: str = PASSWORD) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        """Run a statement (CREATE / DROP DATABASE) on the cluster's `postgres` database."""
        import psycopg

        if self._admin_conn is None or self._admin_conn.closed:
            self._admin_conn = psycopg.connect(self.dsn("postgres"), autocommit=True)
        self._admin_conn.execute(sql)

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A fresh, empty database for one test; its DSN; dropped afterwards (with whatever
        connections a killed process left open)."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        self._admin(f"CREATE DATABASE {name} STRATEGY FILE_COPY")  # faster for tiny databases
        try:
            yield self.dsn(name)
        finally:
            with contextlib.suppress(Exception):
                self._admin(f"DROP DATABASE {name} WITH (FORCE)")


def started_server() -> PostgresServer | None:
    binaries = server_binaries()
    if binaries is None:
        return None
    server = PostgresServer(binaries)
    deadline = time.monotonic() + 5
    while True:
        try:
            server.start()
            return server
        except subprocess.CalledProcessError:
            server.stop()
            if time.monotonic() > deadline:
                raise
            server = PostgresServer(binaries)


NO_SERVER = (
    "no PostgreSQL server binaries (initdb, pg_ctl) on this machine: install Debian's postgresql "
    "package (apt-get install postgresql), or set $NOTIFY_PG_BIN to their folder"
)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway cluster for the whole session (started on first use)."""
    server = started_server()
    if server is None:
        if os.environ.get("NOTIFY_REQUIRE_POSTGRES"):
            pytest.fail(NO_SERVER)
        pytest.skip(NO_SERVER)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_dsn(postgres_server: PostgresServer) -> Iterator[str]:
    """postgresql://notify:<password>@127.0.0.1:<port>/<fresh database>, dropped after the test."""
    with postgres_server.database() as dsn:
        yield dsn
