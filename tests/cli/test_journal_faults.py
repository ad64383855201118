"""A journal that fails, through the real CLI: damaged (check says so; history commands exit 4
with one line, not 3), full mid-send (the result so far, then exit 4), or left open to others
(tightened) or replaced by a symlink (refused)."""

from __future__ import annotations

import json
import os
import resource
import signal
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

from notify.exitcodes import ExitCode
from notify.sandbox.config import channel, config_text
from tests.conftest import Workspace

SEND = ["send", "investigating", "--message", "m", "--yes"]


def _first_send(workspace: Workspace) -> None:
    result = workspace.run(*SEND, "--title", "First", "--to", "ops-slack")
    assert result.code == 0, result.output


def _damage(journal: Path) -> None:
    """Garbage over every page but the first (the schema stays readable, the tables do not)."""
    with sqlite3.connect(journal) as conn:  # everything into the file itself, the WAL emptied
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(journal.read_bytes())
    page = int.from_bytes(data[16:18], "big") or 65536
    for offset in range(page, len(data)):
        data[offset] = (offset * 7 + 13) % 256
    journal.write_bytes(bytes(data))


def test_a_damaged_journal_fails_check_and_history_exits_4_in_one_line(
    workspace: Workspace,
) -> None:
    _first_send(workspace)
    _damage(workspace.journal)

    check = workspace.run("check")
    assert check.code == ExitCode.INVALID_INPUT, check.output
    assert "✓ journal" not in check.stdout
    assert "journal" in check.stderr and "check failed" in check.stderr
    report = workspace.run("check", "--json")
    (finding,) = [f for f in report.json()["checks"] if f["check"] == "journal"]
    assert finding["ok"] is False

    for command in (["log"], ["incidents"], ["log", "--json"]):
        result = workspace.run(*command)
        assert result.code == ExitCode.JOURNAL_FAILED, (command, result.output)
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert "journal" in result.stderr and "internal error" not in result.stderr


def test_a_journal_open_to_others_is_tightened_and_a_symlink_refused(
    workspace: Workspace,
) -> None:
    _first_send(workspace)
    os.chmod(workspace.journal, 0o666)
    assert workspace.run("log").code == 0
    assert stat.S_IMODE(workspace.journal.stat().st_mode) == 0o600

    real = workspace.path / "elsewhere.db"
    workspace.journal.rename(real)
    workspace.journal.symlink_to(real)
    result = workspace.run("log")
    assert result.code == ExitCode.INVALID_INPUT, result.output
    assert "symbolic link" in result.stderr
    sent = workspace.run(*SEND, "--title", "Second", "--to", "ops-slack")
    assert sent.code == ExitCode.INVALID_INPUT, sent.output
    assert workspace.sandbox.posts("slack") and len(workspace.sandbox.posts("slack")) == 1


def test_a_journal_failing_mid_send_ends_with_the_result_so_far_and_exit_4(
    workspace: Workspace,
) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(100, 160)]
    sms = channel("twilio", workspace.sandbox, to=numbers, rate_limit="1000/s", concurrency=1)
    workspace.write_config(config_text({"sms": sms}, journal=".notify/journal.db"))
    assert workspace.run(*SEND, "--title", "First").code == 0
    before = len(workspace.sandbox.posts("twilio"))
    with sqlite3.connect(workspace.journal) as conn:  # the WAL emptied into the file
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    allowed = workspace.journal.stat().st_size + 64 * 1024

    def small_disk() -> None:  # the journal's files may not grow past `allowed` bytes
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write fails (EFBIG) instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (allowed, allowed))

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "notify",
            "--config",
            "channels.yaml",
            "--json",
            *SEND,
            "--title",
            "Second",
        ],
        cwd=workspace.path,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=small_disk,
    )

    went_out = len(workspace.sandbox.posts("twilio")) - before
    assert 0 < went_out < len(numbers)
    assert proc.returncode == ExitCode.JOURNAL_FAILED, proc.stderr
    document = json.loads(proc.stdout)  # the result so far, still one JSON document
    assert document["totals"]["sent"] == went_out
    assert document["totals"]["pending"] + document["totals"]["unknown"] == len(numbers) - went_out
    (line,) = proc.stderr.strip().splitlines()
    assert "journal failed" in line and f"{went_out} delivery(ies) went out" in line
    assert "nothing was sent" not in proc.stderr
