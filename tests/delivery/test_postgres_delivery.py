"""The delivery story on a shared PostgreSQL journal: the real CLI, the sandbox's emulators over
real sockets, a real PostgreSQL server, and runs in separate working folders (as separate
machines would be) that share nothing but the journal's URL.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psycopg

from notify.journal.postgres.migrations import LATEST
from notify.sandbox.config import channel, config_text
from notify.sandbox.credentials import Credentials
from tests.conftest import Workspace, invoke_process
from tests.postgres import PASSWORD

TITLE = "Checkout errors"


def send(ws: Workspace, dsn: str, template: str, *extra: str) -> Any:
    result = ws.run(
        "--journal",
        dsn,
        "send",
        template,
        "--title",
        TITLE,
        "--message",
        f"{template} message.",
        "--yes",
        "--json",
        *extra,
    )
    assert result.code == 0, result.output
    return result.json()


def rows(dsn: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return conn.execute(sql, params or None).fetchall()


def statuses(dsn: str) -> Counter[str]:
    return Counter(status for (status,) in rows(dsn, "SELECT status FROM deliveries"))


def everything_stored(dsn: str) -> str:
    tables = [
        t for (t,) in rows(dsn, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    ]
    return "\n".join(text for t in tables for (text,) in rows(dsn, f"SELECT x::text FROM {t} x"))


def sms_folder(path: Path, sandbox: Any, numbers: list[str], concurrency: int) -> Path:
    """A working folder of its own (another operator's laptop, a CI runner) with a channels.yaml
    sending SMS through the sandbox; its journal is whatever $NOTIFY_JOURNAL names."""
    path.mkdir(parents=True, exist_ok=True)
    sms = channel("twilio", sandbox, concurrency=concurrency, to=numbers)
    (path / "channels.yaml").write_text(config_text({"customers-sms": sms}), encoding="utf-8")
    return path


def send_process(folder: Path, dsn: str, *extra: str) -> subprocess.Popen[bytes]:
    """`notify send investigating ... --yes` as its own process in `folder`, the journal in env."""
    args = [sys.executable, "-m", "notify", "--config", str(folder / "channels.yaml"), "send"]
    args += ["investigating", "--title", TITLE, "--message", "m", "--yes", *extra]
    return subprocess.Popen(
        args,
        cwd=folder,
        env={**_env(), "NOTIFY_JOURNAL": dsn},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _env() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_three_updates_thread_on_slack_and_email_with_the_journal_on_postgresql(
    workspace: Workspace, postgres_dsn: str
) -> None:
    first = send(workspace, postgres_dsn, "investigating")
    incident = first["incident"]["id"]
    assert first["totals"]["failed"] == 0 and first["totals"]["sent"] == len(first["deliveries"])
    send(workspace, postgres_dsn, "identified", "--incident", incident)
    third = send(workspace, postgres_dsn, "resolved", "--incident", incident)
    assert third["incident"]["status"] == "resolved" and third["update"]["number"] == 3

    sb = workspace.sandbox
    slack = sb.posts("slack")
    roots = [p for p in slack if not p.get("thread_ts")]
    replies = [p for p in slack if p.get("thread_ts")]
    assert len(roots) == 1 and len(replies) == 2
    assert {r["thread_ts"] for r in replies} == {roots[0]["ts"]}

    by_recipient: dict[str, list[Any]] = {}
    for message in sb.emails():
        by_recipient.setdefault(str(message["To"]), []).append(message)
    assert len(by_recipient) == 2
    for messages in by_recipient.values():
        ids = [str(m["Message-ID"]) for m in messages]
        assert len(messages) == 3 and len({str(m["Subject"]) for m in messages}) == 1
        assert [str(m["In-Reply-To"]) for m in messages[1:]] == ids[:2]
        assert str(messages[2]["References"]).split() == ids[:2]

    # Everything is on the server, nothing in the working folder.
    assert not workspace.journal.exists()
    assert [n for (n,) in rows(postgres_dsn, "SELECT number FROM updates ORDER BY id")] == [1, 2, 3]
    assert set(statuses(postgres_dsn)) == {"sent"}
    history = workspace.run("--journal", postgres_dsn, "show", incident, "--json")
    assert history.code == 0 and len(history.json()["updates"]) == 3


def test_the_password_is_in_no_output_and_no_table(workspace: Workspace, postgres_dsn: str) -> None:
    c = Credentials()
    sent = send(workspace, postgres_dsn, "investigating", "-v")
    incident = sent["incident"]["id"]
    outputs = [
        workspace.run("--journal", postgres_dsn, "check", "-v"),
        workspace.run("--journal", postgres_dsn, "check", "--json", "-v"),
        workspace.run("--journal", postgres_dsn, "log", "--json", "-v"),
        workspace.run("--journal", postgres_dsn, "show", incident, "-v"),
        workspace.run("--journal", postgres_dsn, "incidents", "--json"),
        workspace.run("--journal", postgres_dsn, "retry", "--yes", "--json", "-v"),
        workspace.run("--journal", postgres_dsn, "suppress", "list", "--json"),
        workspace.run(
            "send",
            "identified",
            "--incident",
            incident,
            "--message",
            "m",
            "--yes",
            "-v",
            env={"NOTIFY_JOURNAL": postgres_dsn},
        ),
    ]
    assert [o.code for o in outputs] == [0] * len(outputs), [o.output for o in outputs]
    text = "\n".join(o.output for o in outputs)
    assert PASSWORD not in text
    assert "postgresql://notify:***@127.0.0.1:" in text

    check = outputs[1].json()
    (journal,) = [f for f in check["checks"] if f["check"] == "journal"]
    assert (journal["backend"], journal["schema"]) == ("PostgreSQL", LATEST)
    assert journal["location"] == postgres_dsn.replace(PASSWORD, "***")

    stored = everything_stored(postgres_dsn)
    assert incident in stored
    for secret in (PASSWORD, c.slack_token, c.twilio_auth_token, c.smtp_password):
        assert secret not in stored


def test_two_runs_in_separate_folders_with_one_key_send_once_between_them(
    workspace: Workspace, postgres_dsn: str, tmp_path: Path
) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(30)]
    folders = [sms_folder(tmp_path / name, workspace.sandbox, numbers, 4) for name in "ab"]
    workspace.sandbox.set_latency(0.05)
    procs = [send_process(folder, postgres_dsn, "--key", "one-key") for folder in folders]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0], [p.stderr.read() for p in procs if p.stderr]

    received = Counter(p["to"] for p in workspace.sandbox.posts("twilio"))
    assert received == dict.fromkeys(numbers, 1)
    assert rows(postgres_dsn, "SELECT count(*) FROM updates") == [(1,)]
    assert statuses(postgres_dsn) == {"sent": 30}
    assert not any((folder / ".notify").exists() for folder in folders)


def test_a_run_killed_half_way_through_2000_sms_is_finished_by_retry_from_another_folder(
    workspace: Workspace, postgres_dsn: str, tmp_path: Path
) -> None:
    numbers = [f"+1415555{n:04d}" for n in range(2000)]
    concurrency = 8
    laptop = sms_folder(tmp_path / "laptop", workspace.sandbox, numbers, concurrency)
    runner = sms_folder(tmp_path / "ci-runner", workspace.sandbox, numbers, concurrency)
    workspace.sandbox.set_latency(0.02)
    proc = send_process(laptop, postgres_dsn, "--key", "kill-test")
    deadline = time.monotonic() + 120
    while len(workspace.sandbox.posts("twilio")) < 1000 and time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else proc.returncode
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    workspace.sandbox.set_latency(0)

    after_kill = statuses(postgres_dsn)
    assert after_kill["sent"] >= 900 and after_kill["pending"] > 0, after_kill
    assert after_kill["unknown"] <= concurrency, "only what was in flight"
    in_flight = {
        r
        for (r,) in rows(postgres_dsn, "SELECT recipient FROM deliveries WHERE status = 'unknown'")
    }

    result = invoke_process(
        ["--config", str(runner / "channels.yaml"), "retry", "--yes", "--json"],
        cwd=runner,
        env={"NOTIFY_JOURNAL": postgres_dsn},
        timeout=300,
    )
    assert result.code == 0, result.stderr
    received = Counter(p["to"] for p in workspace.sandbox.posts("twilio"))
    assert set(received) == set(numbers), "everyone got it"
    doubled = {n for n, times in received.items() if times > 1}
    assert doubled <= in_flight, "only requests in flight at the kill can arrive twice"
    assert statuses(postgres_dsn) == {"sent": 2000}
    assert json.loads(result.stdout)["totals"]["sent"] == 2000 - after_kill["sent"]
