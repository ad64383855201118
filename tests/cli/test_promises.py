"""What the CLI promises a user in its small words (issue 9, items 14 to 17), through the real CLI:
the interrupt message, history on a fresh config, lengths in previews, check's verdicts, ids at
80 columns, -q, and the hints it prints."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from notify.sandbox import Sandbox
from notify.sandbox.credentials import Credentials
from tests.conftest import Workspace

TITLE = "Checkout errors"


def _statuses(journal: Path) -> Counter[str]:
    try:
        with sqlite3.connect(journal) as db:
            return Counter(s for (s,) in db.execute("select status from deliveries"))
    except sqlite3.OperationalError:  # the run creating it is still migrating
        return Counter()


def _sms_config(ws: Workspace, sb: Sandbox, count: int, concurrency: int) -> None:
    c = Credentials()
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    ws.write_config(
        f"""version: 1
organization: {{name: Acme, status_url: https://status.acme.example}}
channels:
  customers-sms:
    type: sms
    base_url: {sb.base_url("twilio")}
    account_sid: {c.twilio_account_sid}
    auth_token: {c.twilio_auth_token}
    from: "+15005550006"
    concurrency: {concurrency}
    to: {json.dumps(numbers)}
"""
    )


# -- 14: exit 130 says exactly what is known ----------------------------------------------------


def test_interrupt_names_the_deliveries_in_flight_not_a_promise(workspace: Workspace) -> None:
    with Sandbox() as sb:  # its own: requests left hanging here never reach another test
        _sms_config(workspace, sb, count=20, concurrency=3)
        sb.set_latency(60)
        args = [sys.executable, "-m", "notify", "--config", str(workspace.config), "send",
                "investigating", "--title", TITLE, "--message", "m", "--yes"]  # fmt: skip
        proc = subprocess.Popen(
            args, cwd=workspace.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while _statuses(workspace.journal)["unknown"] < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)

    assert proc.returncode == 130, stderr
    assert _statuses(workspace.journal)["unknown"] == 3
    assert "3 deliveries were in flight; a retry may repeat those" in stderr
    assert "without sending anything twice" not in stderr
    assert "notify retry" in stderr and len(stderr.strip().splitlines()) == 1


# -- 15: history on a fresh config, lengths, check's verdicts --------------------------------


def test_history_on_a_config_that_sent_nothing_is_empty_not_an_error(
    workspace: Workspace,
) -> None:
    assert not workspace.journal.exists()
    for command, listed in (("incidents", "incidents"), ("log", "deliveries")):
        result = workspace.run(command, "--json")
        assert result.code == 0, result.output
        assert result.json() == {listed: []}
        assert result.stderr == ""
        shown = workspace.run(command)
        assert shown.code == 0, shown.output
        assert "nothing has been sent" in shown.stderr and "error" not in shown.stderr
    assert not workspace.journal.exists()  # reading the history created nothing
    # A journal named explicitly that is not there is still an error (a typo, most likely).
    named = workspace.run("log", "--journal", str(workspace.path / "typo.db"))
    assert named.code == 2 and "typo.db" in named.stderr


def test_preview_json_gives_every_delivery_a_length(workspace: Workspace) -> None:
    result = workspace.run("preview", "investigating", "--title", TITLE, "--message", "m", "--json")
    assert result.code == 0, result.output
    deliveries = result.json()["deliveries"]
    assert {d["type"] for d in deliveries} >= {"email", "webhook", "sms", "slack"}
    for d in deliveries:
        length = d["length"]
        assert isinstance(length, dict) and isinstance(length["value"], int), d
        assert length["unit"], d
    email = next(d for d in deliveries if d["type"] == "email")
    html = email["rendered"]["html"]
    assert email["length"] == {
        "value": len(html.encode()),
        "limit": 102 * 1024,  # where Gmail clips a message
        "unit": "bytes",
        "part": "html",
        "clipped_by_gmail": False,
    }
    webhook = next(d for d in deliveries if d["type"] == "webhook")
    assert webhook["length"]["limit"] is None  # no limit, still a length


def test_an_email_over_gmails_clip_is_sent_and_the_preview_says_so(workspace: Workspace) -> None:
    long = " ".join(["Every order placed since 09:00 is safe."] * 3000)  # ~120 KB
    args = ["--title", TITLE, "--message", long, "--to", "status-email"]
    preview = workspace.run("preview", "investigating", *args, "--json")
    assert preview.code == 0, preview.output
    length = preview.json()["deliveries"][0]["length"]
    assert length["value"] > 102 * 1024 and length["clipped_by_gmail"] is True
    shown = workspace.run("preview", "investigating", *args)
    assert "clipped_by_gmail" in shown.stdout
    sent = workspace.run("send", "investigating", *args, "--yes", "--json")
    assert sent.code == 0, sent.output  # clipped by Gmail is not refused: it still goes out


def test_check_online_marks_what_it_cannot_verify_and_names_what_failed(
    workspace: Workspace,
) -> None:
    checked = workspace.run("check", "--online")
    assert checked.code == 0, checked.output
    webhook = next(line for line in checked.stdout.splitlines() if "status-webhook" in line)
    assert not webhook.startswith("✓") and webhook.startswith("?"), webhook
    assert "not verified" in webhook
    assert "✓ online: ops-slack" in checked.stdout  # a token proven is a ✓
    assert "could not be verified" in checked.stderr or "cannot be verified" in checked.stderr
    document = workspace.run("check", "--online", "--json").json()
    found = {c["check"]: c for c in document["checks"]}
    assert found["online: status-webhook"]["verified"] is False
    assert found["online: ops-slack"]["verified"] is True and document["ok"] is True

    # A failing check: the checklist on stdout, and one line on stderr naming what failed.
    text = workspace.config.read_text()
    workspace.write_config(text.replace("xoxb-sandbox-", "xoxb-revoked-"))
    failed = workspace.run("check", "--online")
    assert failed.code == 2
    assert "✗ online: ops-slack" in failed.stdout
    lines = failed.stderr.strip().splitlines()
    assert lines == ["notify: error: check failed: online: ops-slack"], failed.stderr
    as_json = workspace.run("check", "--online", "--json")
    assert as_json.code == 2 and as_json.json()["ok"] is False
    assert as_json.stderr.strip() == "notify: error: check failed: online: ops-slack"
