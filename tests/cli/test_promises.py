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

import pytest

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


# -- 16: ids whole at 80 columns, -q, no wrapping in a pipe --------------------------------------

LONG_TITLE = "Payments API errors for customers in the European region"
LONG_CHANNEL = "operations-on-call-slack-europe-west"


def test_ids_and_channel_names_are_never_cut_at_80_columns(workspace: Workspace) -> None:
    workspace.write_config(workspace.config.read_text().replace("ops-slack", LONG_CHANNEL))
    sent = workspace.run(
        "send", "investigating", "--title", LONG_TITLE, "--message", "m", "--yes", "--json"
    )
    assert sent.code == 0, sent.output
    incident = sent.json()["incident"]["id"]
    assert len(incident) > 45
    narrow = {"COLUMNS": "80"}
    for command, whole in (
        (["incidents"], [incident]),
        (["log"], [incident, LONG_CHANNEL, "status-webhook"]),
        (["channels"], [LONG_CHANNEL, "community-discord"]),
    ):
        shown = workspace.run(*command, env=narrow)
        assert shown.code == 0, shown.output
        assert "…" not in shown.stdout, shown.stdout
        assert all(len(line.rstrip()) <= 80 for line in shown.stdout.splitlines()), shown.stdout
        for name in whole:
            assert name in shown.stdout, (command, name, shown.stdout)
    # On a wide terminal the same listings are tables, the ids still whole.
    wide = workspace.run("log", env={"COLUMNS": "220"})
    assert "┃" in wide.stdout and incident in wide.stdout and "…" not in wide.stdout
    assert "when" in wide.stdout.splitlines()[0]


def test_quiet_still_prints_a_new_incidents_id_and_a_dry_runs_summary(
    workspace: Workspace,
) -> None:
    dry = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--dry-run", "-q"
    )
    assert dry.code == 0, dry.output
    (line,) = dry.stdout.splitlines()  # the plan's summary only: no table, no panels
    assert "dry run, nothing sent" in line and "(new incident)" in line
    incident = line.split(" ")[0]
    assert dry.stderr == ""

    opened = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--yes", "-q"
    )
    assert opened.code == 0, opened.output
    assert opened.stdout == f"{incident}\n"  # ID=$(notify -q send ...) works
    later = workspace.run(
        "send", "identified", "--incident", incident, "--message", "m", "--yes", "-q"
    )
    assert later.code == 0 and later.stdout == ""  # an update of a known incident: quiet


def test_output_not_on_a_terminal_is_not_wrapped_mid_sentence(workspace: Workspace) -> None:
    deep = workspace.path / ("a-folder-with-a-rather-long-name-" * 3)
    deep.mkdir()
    config = deep / "channels.yaml"
    config.write_text(workspace.config.read_text())
    checked = workspace.run("--config", str(config), "check", env={"COLUMNS": "80"})
    assert checked.code == 0, checked.output
    (config_line,) = [line for line in checked.stdout.splitlines() if "✓ config" in line]
    assert str(config) in config_line  # longer than 80, and still one line
    assert checked.stderr.count("\n") == 1, checked.stderr  # the closing note, one line


# -- 17: hints that work, errors that say what is wrong, help that says what repeats ------------


def test_demo_keep_hint_works_as_printed(tmp_path: Path) -> None:
    import re
    import shlex

    from tests.conftest import invoke

    kept = tmp_path / "my demo"  # a space: the hint must quote it
    demo = invoke(["demo", "--keep", str(kept)])
    assert demo.code == 0, demo.output
    match = re.search(r"try `([^`]+)`", demo.stderr)
    assert match, demo.stderr
    words = shlex.split(match.group(1))
    assert words[0] == "notify"
    shown = invoke(words[1:])
    assert shown.code == 0, shown.output
    assert "Checkout errors" in shown.stdout and "resolved" in shown.stdout


def test_a_missing_config_file_named_by_the_user_is_called_missing(tmp_path: Path) -> None:
    from tests.conftest import invoke

    missing = tmp_path / "prod.yaml"
    result = invoke(["--config", str(missing), "check"])
    assert result.code == 2
    assert f"{missing}: the config file named by --config does not exist" in result.stderr
    from_env = invoke(["check"], env={"NOTIFY_CONFIG": str(missing)})
    assert from_env.code == 2 and "named by $NOTIFY_CONFIG does not exist" in from_env.stderr


def test_next_update_without_a_unit_is_an_error_with_the_fix(workspace: Workspace) -> None:
    result = workspace.run(
        "send", "investigating", "--title", TITLE, "--message", "m", "--next-update", "30",
        "--yes",
    )  # fmt: skip
    assert result.code == 2
    assert "--next-update '30' has no unit" in result.stderr
    assert "30m" in result.stderr and "30h" in result.stderr
    assert not workspace.journal.exists()  # nothing sent, nothing recorded


def _commands() -> list[tuple[list[str], object]]:
    """Every command and group of the CLI with the words that reach it."""
    import click

    from notify.cli import cli
    from notify.sandbox.cli import sandbox_command

    found: list[tuple[list[str], object]] = []
    ctx = click.Context(cli)

    def walk(command: click.Command, path: list[str]) -> None:
        found.append((path, command))
        if isinstance(command, click.Group):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and name != "sandbox":
                    walk(sub, [*path, name])

    walk(cli, [])
    found.append((["sandbox"], sandbox_command))
    return found


def test_every_command_and_group_takes_dash_h() -> None:
    from tests.conftest import invoke

    commands = _commands()
    assert len(commands) > 20
    for path, _ in commands:
        result = invoke([*path, "-h"])
        assert result.code == 0, (path, result.output)
        assert result.stdout.startswith("Usage: notify"), (path, result.stdout)


def test_repeatable_options_say_so_in_help() -> None:
    import click

    for path, command in _commands():
        assert isinstance(command, click.Command)
        for param in command.params:
            if isinstance(param, click.Option) and param.multiple:
                assert "repeatable" in (param.help or ""), (path, param.name)


# -- 18: the README's setup and rehearsal instructions work as written -------------------------


def _readme() -> str:
    from tests.conftest import ROOT

    return (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    import re

    return re.findall(rf"```{lang}\n(.*?)```", _readme(), flags=re.S)


def test_readme_rehearsal_runs_as_written_against_notify_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shlex

    from tests.conftest import invoke

    config = next(b for b in _blocks("yaml") if "rehearsal.db" in b)
    commands = next(b for b in _blocks("sh") if "--config rehearsal.yaml" in b)
    assert "notify sandbox --port 4010 --smtp-port 2525" in _readme()
    with Sandbox() as sb:  # the README's ports, moved to free ones
        port = sb.url.rsplit(":", 1)[1]
        text = config.replace("127.0.0.1:4010", f"127.0.0.1:{port}")
        (tmp_path / "rehearsal.yaml").write_text(
            text.replace("port: 2525", f"port: {sb.smtp_port}")
        )
        monkeypatch.chdir(tmp_path)
        for line in commands.strip().splitlines():
            words = shlex.split(line)
            assert words[0] == "notify"
            result = invoke(words[1:])
            assert result.code == 0, (line, result.output)
            assert "?" not in result.stdout.split("\n")[0]  # every channel proven, none guessed
        assert len(sb.posts("slack")) == 1 and len(sb.posts("twilio")) == 1
        assert len(sb.emails()) == 1
    assert (tmp_path / ".notify" / "rehearsal.db").exists()  # not the real journal


def test_readme_says_how_to_install_get_credentials_and_run_spec_tests(tmp_path: Path) -> None:
    import os

    from tests.conftest import ROOT

    readme = _readme()
    assert "PEP 668" in readme and "python3 -m venv .venv" in readme and "pipx install ." in readme
    credentials = readme.split("### Credentials for each provider", 1)[1].split("\n## ", 1)[0]
    providers = ["Email over SMTP", "SendGrid", "Twilio SMS", "Slack", "Microsoft Teams"]
    providers += ["Discord", "Telegram", "Mastodon", "Bluesky", "X", "Statuspage", "Webhook"]
    for provider in providers:
        assert f"- **{provider}**" in credentials, provider
    # `pytest -rs` says why a spec test skipped, and NOTIFY_SPECS is how to point it at specs.
    assert "python -m pytest -rs" in readme and "NOTIFY_SPECS=/path/to/specs" in readme
    env = {**os.environ, "NOTIFY_SPECS": str(tmp_path / "no-specs-here")}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-rs", "-q", "-p", "no:cacheprovider",
         "tests/channels/test_sms.py", "-k", "spec"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert "SKIPPED" in run.stdout and "NOTIFY_SPECS" in run.stdout, run.stdout[-2000:]
