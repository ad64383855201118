"""Fixtures shared by the end-to-end tests: an isolated home, the CLI as a user runs it, and a
workspace whose channels.yaml points every channel at a sandbox on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

# The throwaway PostgreSQL server's fixtures (postgres_server, postgres_dsn).
pytest_plugins = ["tests.postgres"]

ROOT = Path(__file__).resolve().parents[1]


def specs_path() -> Path:
    """Where the providers' specs are looked for: $NOTIFY_SPECS, else ../shared/specs."""
    env = os.environ.get("NOTIFY_SPECS")
    return Path(env) if env else ROOT.parent / "shared" / "specs"


def specs_dir() -> Path | None:
    """../shared/specs beside the project, or $NOTIFY_SPECS; None in a user's clone."""
    path = specs_path()
    return path if path.is_dir() else None


@pytest.fixture(autouse=True)
def _isolated(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """No test reads or writes the user's home, config or journal."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    for var in ("NOTIFY_CONFIG", "NOTIFY_JOURNAL"):
        monkeypatch.delenv(var, raising=False)
    from notify import secrets

    secrets.clear()
    yield
    secrets.clear()


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self) -> Any:
        import json

        return json.loads(self.stdout)


def invoke(
    args: list[str], *, env: dict[str, str] | None = None, input: str | None = None
) -> CliResult:
    """Run the CLI in-process through its real error boundary (notify.cli.run)."""
    from click.testing import CliRunner

    from notify.cli import run

    runner = CliRunner()
    with runner.isolation(input=input, env=env) as streams:
        code = run(args)
        stdout = streams[0].getvalue().decode()
        stderr = streams[1].getvalue().decode()
    return CliResult(code, stdout, stderr)


def invoke_process(
    args: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> CliResult:
    """Run `python -m notify` as a separate process, as cron would."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "notify", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return invoke


@pytest.fixture(scope="session")
def sandbox() -> Iterator[Any]:
    """One sandbox for the session; tests reset it (see `workspace`)."""
    from notify.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb


@dataclass
class Workspace:
    path: Path
    sandbox: Any

    @property
    def config(self) -> Path:
        return self.path / "channels.yaml"

    @property
    def journal(self) -> Path:
        return self.path / ".notify" / "journal.db"

    def write_config(self, text: str) -> None:
        self.config.write_text(text, encoding="utf-8")

    def run(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None
    ) -> CliResult:
        return invoke(["--config", str(self.config), *args], env=env, input=input)


@pytest.fixture
def workspace(tmp_path: Path, sandbox: Any) -> Workspace:
    """A folder with a channels.yaml for every channel type, pointed at the sandbox."""
    from notify.cli.demo import demo_config_text

    sandbox.reset()
    ws = Workspace(tmp_path, sandbox)
    ws.write_config(demo_config_text(sandbox, journal=".notify/journal.db"))
    return ws
