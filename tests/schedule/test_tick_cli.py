"""`notify tick` through the real CLI against the sandbox: --now rehearsals, --json, overlapping
processes, and bad input."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from notify.journal import open_journal
from tests.conftest import Workspace

SCHEDULE = """
schedule:
  reminders_to: ops-slack
  remind_before: 5m
  maintenance_reminders: [1h]
  maintenance_auto: true
  late_limit: 15m
"""


def at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def ws(workspace: Workspace) -> Workspace:
    workspace.config.write_text(workspace.config.read_text() + SCHEDULE)
    return workspace


def test_reminders_through_the_cli_with_now_and_json(ws: Workspace) -> None:
    sent = ws.run(
        "send", "investigating", "--incident", "db-1", "--title", "Database errors",
        "--to", "customers-sms", "--next-update", "30m", "--yes",
    )  # fmt: skip
    assert sent.code == 0, sent.stderr
    start = datetime.now(UTC)
    dry = ws.run("tick", "--dry-run", "--now", at(start + timedelta(minutes=26)), "--json")
    assert dry.code == 0, dry.stderr
    document = dry.json()
    assert [(a["kind"], a["status"]) for a in document["actions"]] == [("reminder", "planned")]
    assert [n["kind"] for n in document["next"]] == ["overdue"]
    assert set(document) == {"now", "actions", "next", "callbacks", "callback_errors"}
    assert document["callbacks"] == [] and document["callback_errors"] == []  # no support line
    first = ws.run("tick", "--now", at(start + timedelta(minutes=26)), "--json")
    assert first.code == 0, first.stderr
    action = first.json()["actions"][0]
    assert action["kind"] == "reminder" and action["status"] == "sent"
    assert {d["channel"] for d in action["deliveries"]} == {"ops-slack"}
    again = ws.run("tick", "--now", at(start + timedelta(minutes=27)), "--json")
    assert again.json()["actions"] == []
    overdue = ws.run("tick", "--now", at(start + timedelta(minutes=31)))
    assert overdue.code == 0 and "overdue" in overdue.stdout


def test_four_ticks_at_once_send_each_message_once(ws: Workspace) -> None:
    starts = datetime.now(UTC) + timedelta(hours=2)
    sent = ws.run(
        "send", "maintenance-scheduled", "--incident", "mw-1", "--title", "Database upgrade",
        "--to", "customers-sms", "--to", "ops-slack",
        "--starts", at(starts), "--ends", at(starts + timedelta(hours=1)), "--yes",
    )  # fmt: skip
    assert sent.code == 0, sent.stderr
    cmd = [sys.executable, "-m", "notify", "--config", str(ws.config), "tick",
           "--now", at(starts - timedelta(minutes=59))]  # fmt: skip
    procs = [
        subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0, 0, 0], [p.stderr.read() for p in procs if p.stderr]
    journal = open_journal(ws.journal)
    try:
        update = journal.find_update("tick:maintenance-reminder:mw-1:1:1h")
        assert update is not None
        rows = journal.deliveries(update_id=update.id)
        assert rows and {r.status for r in rows} == {"sent"}
        assert all(r.attempts == 1 for r in rows), "each delivery sent once"
        assert [a.status for a in journal.actions("mw-1")] == ["sent"]
    finally:
        journal.close()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tick", "--now", "tomorrow"], "--now 'tomorrow' is not a time"),
        (
            [
                "send",
                "maintenance-scheduled",
                "--title",
                "Upgrade",
                "--starts",
                "3h",
                "--ends",
                "2h",
            ],
            "--ends '2h' is not after --starts '3h'",
        ),
        (
            ["send", "maintenance-scheduled", "--title", "Upgrade", "--starts", "2020-01-01 10:00"],
            "--starts '2020-01-01 10:00' is in the past",
        ),
        (
            ["send", "maintenance-scheduled", "--title", "Upgrade", "--starts", "soonish"],
            "--starts 'soonish' is not a time",
        ),
        (
            ["send", "maintenance-scheduled", "--title", "Upgrade"],
            "maintenance-scheduled needs its window",
        ),
    ],
)
def test_bad_input_exits_2_and_sends_nothing(ws: Workspace, args: list[str], message: str) -> None:
    result = ws.run(*args, "--yes") if args[0] == "send" else ws.run(*args)
    assert result.code == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not ws.journal.exists()


def test_a_tick_killed_mid_reminder_to_2000_sms_is_finished_by_the_next(
    workspace: Workspace,
) -> None:
    import json
    import signal
    import time
    from collections import Counter

    from notify.sandbox.credentials import Credentials

    c = Credentials()
    numbers = [f"+1415555{n:04d}" for n in range(2000)]
    (workspace.path / "phones.csv").write_text("phone\n" + "\n".join(numbers) + "\n")
    workspace.write_config(
        f"""version: 1
organization: {{name: Acme, status_url: https://status.acme.example}}
channels:
  customers-sms:
    type: sms
    base_url: {workspace.sandbox.base_url("twilio")}
    account_sid: {c.twilio_account_sid}
    auth_token: {c.twilio_auth_token}
    from: "+15005550006"
    concurrency: 8
    rate_limit: 1000/s
    to: phones.csv
schedule:
  maintenance_reminders: [1h]
"""
    )
    starts = datetime.now(UTC) + timedelta(hours=3)
    sent = workspace.run(
        "send", "maintenance-scheduled", "--incident", "mw-2", "--title", "Upgrade",
        "--starts", at(starts), "--yes", "-q",
    )  # fmt: skip
    assert sent.code == 0, sent.stderr
    announced = len(workspace.sandbox.posts("twilio"))
    assert announced == 2000
    workspace.sandbox.set_latency(0.01)
    cmd = [sys.executable, "-m", "notify", "--config", str(workspace.config), "tick",
           "--now", at(starts - timedelta(minutes=59))]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while len(workspace.sandbox.posts("twilio")) < announced + 300 and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    workspace.sandbox.set_latency(0)
    journal = open_journal(workspace.journal)
    try:
        update = journal.find_update("tick:maintenance-reminder:mw-2:1:1h")
        assert update is not None
        rows = journal.deliveries(update_id=update.id)
        left = Counter(r.status for r in rows)
        assert left["pending"] > 0, left
        in_flight = {r.recipient for r in rows if r.status == "unknown"}
        assert len(in_flight) <= 8
        assert journal.actions("mw-2") == []  # not done: the next tick finishes it
    finally:
        journal.close()
    # The next tick, a minute later, finishes it (begun, so not "too late" either).
    again = workspace.run("tick", "--now", at(starts - timedelta(minutes=58)), "--json")
    assert again.code == 0, again.stderr
    assert [a["status"] for a in json.loads(again.stdout)["actions"]] == ["sent"]
    reminders = workspace.sandbox.posts("twilio")[announced:]
    received = Counter(p["to"] for p in reminders)
    assert set(received) == set(numbers)
    assert {n for n, times in received.items() if times > 1} <= in_flight


def test_incidents_shows_each_open_incidents_next_due_action(ws: Workspace) -> None:
    sent = ws.run(
        "send", "investigating", "--incident", "db-3", "--title", "Database errors",
        "--to", "ops-slack", "--next-update", "30m", "--yes",
    )  # fmt: skip
    assert sent.code == 0, sent.stderr
    listed = ws.run("incidents", "--json")
    assert listed.code == 0, listed.stderr
    (incident,) = listed.json()["incidents"]
    assert incident["next_action"]["kind"] == "reminder"
    table = ws.run("incidents")
    assert "next due" in table.stdout and "reminder" in table.stdout
