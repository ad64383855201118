"""A comms lead's and a cron job's sessions, end to end: real CLI, real adapters, the sandbox's
emulators over real sockets, a real SMTP server, and the journal on disk."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from notify.sandbox.credentials import Credentials
from tests.conftest import Workspace, invoke_process

TITLE = "Checkout errors"


def send(ws: Workspace, template: str, *extra: str) -> Any:
    result = ws.run(
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


def journal_rows(ws: Workspace) -> list[dict[str, Any]]:
    with sqlite3.connect(ws.journal) as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from deliveries order by id")]


def test_incident_lifecycle_threads_on_every_channel(workspace: Workspace) -> None:
    first = send(workspace, "investigating")
    incident = first["incident"]["id"]
    assert first["totals"]["failed"] == 0 and first["totals"]["sent"] == len(first["deliveries"])
    send(workspace, "identified", "--incident", incident)
    third = send(workspace, "resolved", "--incident", incident)
    assert third["incident"]["status"] == "resolved" and third["update"]["number"] == 3

    sb = workspace.sandbox
    # Slack: one top-level message, two replies in its thread, and the root edited to the status.
    slack = sb.posts("slack")
    roots = [p for p in slack if not p.get("thread_ts")]
    replies = [p for p in slack if p.get("thread_ts")]
    assert len(roots) == 1 and len(replies) == 2
    assert {r["thread_ts"] for r in replies} == {roots[0]["ts"]}
    assert "resolved" in json.dumps(roots[0]).lower()  # edited by chat.update

    # Email: per recipient one conversation: same subject, In-Reply-To / References chain.
    by_recipient: dict[str, list[Any]] = {}
    for message in sb.emails():
        by_recipient.setdefault(str(message["To"]), []).append(message)
    assert len(by_recipient) == 2
    for messages in by_recipient.values():
        assert len(messages) == 3
        assert len({str(m["Subject"]) for m in messages}) == 1
        ids = [str(m["Message-ID"]) for m in messages]
        assert str(messages[1]["In-Reply-To"]) == ids[0]
        assert str(messages[2]["In-Reply-To"]) == ids[1]
        assert str(messages[2]["References"]).split() == ids[:2]

    # Social posts reply to the previous update's post.
    mastodon = sb.posts("mastodon")
    assert [p.get("in_reply_to_id") for p in mastodon] == [
        None,
        mastodon[0]["id"],
        mastodon[1]["id"],
    ]
    tweets = sb.posts("x")
    assert len(tweets) == 3
    telegram = sb.posts("telegram")
    assert len(telegram) == 3

    # SMS: every recipient got every update, once.
    sms = Counter(p["to"] for p in sb.posts("twilio"))
    assert sms == {"+14155550100": 3, "+442071838750": 3}


def test_same_key_twice_sends_nothing_twice(workspace: Workspace) -> None:
    first = send(workspace, "investigating", "--key", "inc-1-update-1")
    again = send(workspace, "investigating", "--key", "inc-1-update-1")
    assert again["incident"]["id"] == first["incident"]["id"]
    assert {d["status"] for d in again["deliveries"]} == {"skipped"}
    assert all(d["error"] == "already sent" for d in again["deliveries"])
    assert len(workspace.sandbox.posts("twilio")) == 2
    assert len(workspace.sandbox.emails()) == 2


def test_dry_run_sends_and_records_nothing(workspace: Workspace) -> None:
    result = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--dry-run", "--json"
    )
    assert result.code == 0, result.output
    document = result.json()
    assert document["dry_run"] is True
    assert {d["status"] for d in document["deliveries"]} == {"pending"}
    assert workspace.sandbox.requests() == [] and workspace.sandbox.emails() == []
    assert not workspace.journal.exists()


def test_rate_limited_request_waits_out_retry_after(workspace: Workspace) -> None:
    workspace.sandbox.fail("slack", 429, times=1, retry_after=1)
    start = time.monotonic()
    document = send(workspace, "investigating", "--to", "ops-slack")
    elapsed = time.monotonic() - start
    delivery = document["deliveries"][0]
    assert delivery["status"] == "sent" and delivery["attempts"] == 2
    attempts = [
        r for r in workspace.sandbox.requests("slack") if r.path.endswith("chat.postMessage")
    ]
    assert [a.status for a in attempts] == [429, 200]
    assert elapsed >= 1.0  # not sooner than the provider asked


def test_server_error_then_success_is_retried(workspace: Workspace) -> None:
    workspace.sandbox.fail("twilio", 503, times=1)
    document = send(workspace, "investigating", "--to", "customers-sms")
    assert document["totals"] == {"sent": 2, "failed": 0, "skipped": 0, "pending": 0, "unknown": 0}
    assert sorted(d["attempts"] for d in document["deliveries"]) == [1, 2]


def test_permanent_failure_goes_to_fallback_and_exits_1(workspace: Workspace) -> None:
    config = workspace.config.read_text()
    config = config.replace(
        "    rate_limit: 10/s\n", "    rate_limit: 10/s\n    fallback: status-email\n", 1
    )
    config = config.replace('to: ["+14155550100", "+442071838750"]', 'to: ["+14155550100"]')
    workspace.write_config(config)
    workspace.sandbox.fail("twilio", 400, times=1)
    result = workspace.run(
        "send",
        "investigating",
        "--title",
        TITLE,
        "--message",
        "m",
        "--to",
        "customers-sms",
        "--yes",
        "--json",
    )
    document = result.json()
    assert result.code == 0, result.output  # rescued by its fallback: the customer got the update
    statuses = {(d["channel"], d["status"]) for d in document["deliveries"]}
    assert ("customers-sms", "failed") in statuses and ("status-email", "sent") in statuses
    assert len(workspace.sandbox.emails()) == 2

    # Without a fallback, the same failure is exit 1.
    workspace.sandbox.reset()
    workspace.sandbox.fail("slack", 400, times=1)
    result = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--to", "ops-slack", "--yes"
    )
    assert result.code == 1


def _many_sms_config(ws: Workspace, count: int) -> list[str]:
    c = Credentials()
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    ws.write_config(
        f"""version: 1
organization: {{name: Acme, status_url: https://status.acme.example}}
channels:
  customers-sms:
    type: sms
    base_url: {ws.sandbox.base_url("twilio")}
    account_sid: {c.twilio_account_sid}
    auth_token: {c.twilio_auth_token}
    from: "+15005550006"
    concurrency: 4
    to: {json.dumps(numbers)}
"""
    )
    return numbers


def send_process_args(ws: Workspace, *extra: str) -> list[str]:
    """`python -m notify send investigating ... --yes`, to run as a separate process."""
    config = str(ws.config)
    head = [sys.executable, "-m", "notify", "--config", config, "send", "investigating"]
    return [*head, "--title", TITLE, "--message", "m", "--yes", *extra]


def test_killed_run_is_finished_by_retry_without_double_sends(workspace: Workspace) -> None:
    numbers = _many_sms_config(workspace, 60)
    workspace.sandbox.set_latency(0.15)
    args = send_process_args(workspace, "--key", "kill-test")
    proc = subprocess.Popen(
        args, cwd=workspace.path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while len(workspace.sandbox.posts("twilio")) < 15 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    workspace.sandbox.set_latency(0)

    after_kill = Counter(r["status"] for r in journal_rows(workspace))
    assert after_kill["sent"] >= 10 and after_kill["pending"] > 0, after_kill
    assert after_kill["unknown"] <= 4  # only what was in flight (concurrency 4)
    in_flight = {r["recipient"] for r in journal_rows(workspace) if r["status"] == "unknown"}

    result = invoke_process(
        ["--config", str(workspace.config), "retry", "--yes"], cwd=workspace.path
    )
    assert result.code == 0, result.stderr
    received = Counter(p["to"] for p in workspace.sandbox.posts("twilio"))
    assert set(received) == set(numbers)  # everyone got it
    doubled = {n for n, times in received.items() if times > 1}
    assert doubled <= in_flight  # only requests in flight at the kill can ever arrive twice
    assert {r["status"] for r in journal_rows(workspace)} == {"sent"}


def test_two_runs_with_one_key_send_once_between_them(workspace: Workspace) -> None:
    numbers = _many_sms_config(workspace, 30)
    workspace.sandbox.set_latency(0.05)
    args = send_process_args(workspace, "--key", "one-key")
    procs = [
        subprocess.Popen(
            args, cwd=workspace.path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    codes = [p.wait(timeout=120) for p in procs]
    assert codes == [0, 0], [p.stderr.read() for p in procs if p.stderr]
    received = Counter(p["to"] for p in workspace.sandbox.posts("twilio"))
    assert received == dict.fromkeys(numbers, 1)


def test_secrets_never_appear_in_any_output_or_the_journal(workspace: Workspace) -> None:
    c = Credentials()
    secrets = [
        c.slack_token,
        c.twilio_auth_token,
        c.telegram_token,
        c.mastodon_token,
        c.bluesky_app_password,
        c.x_api_secret,
        c.x_access_token_secret,
        c.webhook_secret,
        c.smtp_password,
    ]
    outputs = []
    outputs.append(workspace.run("check", "-v"))
    outputs.append(workspace.run("check", "--online", "-v", "--json"))
    outputs.append(workspace.run("channels", "-v"))
    outputs.append(workspace.run("channels", "--json"))
    outputs.append(
        workspace.run("preview", "investigating", "--title", TITLE, "--message", "m", "-v")
    )
    outputs.append(
        workspace.run("preview", "investigating", "--title", TITLE, "--message", "m", "--json")
    )
    sent = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--yes", "--json", "-v"
    )
    outputs.append(sent)
    incident = sent.json()["incident"]["id"]
    workspace.sandbox.fail("telegram", 401, times=1)
    workspace.sandbox.fail("slack", 500, times=10)
    outputs.append(
        workspace.run("send", "identified", "--incident", incident, "--message", "m", "--yes", "-v")
    )
    outputs.append(workspace.run("log", "--json"))
    outputs.append(workspace.run("show", incident, "--json"))
    outputs.append(workspace.run("incidents", "-v"))
    outputs.append(workspace.run("retry", "--yes", "--json", "-v"))
    text = "\n".join(o.output for o in outputs)
    for secret in secrets:
        assert secret not in text
    stored = b"".join(p.read_bytes() for p in workspace.journal.parent.glob("journal.db*"))
    for secret in secrets:
        assert secret.encode() not in stored


def test_ctrl_c_stops_cleanly_with_130_and_retry_finishes(workspace: Workspace) -> None:
    numbers = _many_sms_config(workspace, 40)
    workspace.sandbox.set_latency(0.15)
    args = send_process_args(workspace)
    proc = subprocess.Popen(
        args, cwd=workspace.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while len(workspace.sandbox.posts("twilio")) < 8 and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    workspace.sandbox.set_latency(0)
    assert proc.returncode == 130
    assert "Traceback" not in stderr
    assert "notify retry" in stderr and len(stderr.strip().splitlines()) == 1
    statuses = Counter(r["status"] for r in journal_rows(workspace))
    assert statuses["pending"] > 0 and statuses["failed"] == 0

    result = invoke_process(
        ["--config", str(workspace.config), "retry", "--yes"], cwd=workspace.path
    )
    assert result.code == 0, result.stderr
    assert set(Counter(p["to"] for p in workspace.sandbox.posts("twilio"))) == set(numbers)
    assert {r["status"] for r in journal_rows(workspace)} == {"sent"}


def test_bluesky_session_is_reused_across_separate_runs(workspace: Workspace) -> None:
    first = send(workspace, "investigating", "--to", "bluesky")
    incident = first["incident"]["id"]
    for template in ("identified", "resolved"):
        args = [
            "--config",
            str(workspace.config),
            "send",
            template,
            "--incident",
            incident,
            "--message",
            "m",
            "--to",
            "bluesky",
            "--yes",
        ]
        result = invoke_process(args, cwd=workspace.path)  # a new process each time, like cron
        assert result.code == 0, result.stderr
    emulator = workspace.sandbox.emulators["bluesky"]
    assert emulator.sessions_created == 1  # createSession is rate-limited per day
    posts = workspace.sandbox.posts("bluesky")
    assert len(posts) == 3
    root = {"uri": first["deliveries"][0]["provider_message_id"]}
    assert all(p["record"]["reply"]["root"]["uri"] == root["uri"] for p in posts[1:])


def test_opt_outs_are_skipped_counted_and_listed(workspace: Workspace) -> None:
    assert (
        workspace.run(
            "suppress",
            "add",
            "+14155550100",
            "--channel",
            "customers-sms",
            "--reason",
            "replied STOP",
        ).code
        == 0
    )
    listed = workspace.run("suppress", "list", "--json").json()["suppressed"]
    assert listed[0]["recipient"] == "+14155550100" and listed[0]["reason"] == "replied STOP"
    document = send(workspace, "investigating", "--to", "customers-sms")
    by_number = {d["recipient"]: d for d in document["deliveries"]}
    assert by_number["+14155550100"]["status"] == "skipped"
    assert document["totals"]["skipped"] == 1 and document["totals"]["sent"] == 1
    assert [p["to"] for p in workspace.sandbox.posts("twilio")] == ["+442071838750"]
    assert (
        workspace.run("suppress", "remove", "+14155550100", "--channel", "customers-sms").code == 0
    )
    assert workspace.run("suppress", "list", "--json").json()["suppressed"] == []
