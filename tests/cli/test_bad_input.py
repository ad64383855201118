"""A user's mistakes, through the real CLI: every one is exit 2 and one line on stderr saying where
(file:line, or the option or field) and how to fix it, with no traceback, nothing sent to any
provider and nothing recorded (the journal is not even created).

Each case starts from the `workspace` fixture (a channels.yaml with one channel of every type,
pointed at the session's sandbox), makes one mistake, and runs `notify send` as a user would.
"""

from __future__ import annotations

import sqlite3

import pytest

from notify.exitcodes import ExitCode
from tests.cli.bad_input.config_cases import CONFIG_CASES
from tests.cli.bad_input.edits import (
    BROKEN,
    GOOD_TEMPLATE,
    SEND,
    TEMPLATES,
    Bad,
    add_to,
    line_of,
    template,
)
from tests.cli.bad_input.other_cases import LENGTH_CASES, OPTION_CASES, TEMPLATE_CASES
from tests.conftest import CliResult, Workspace, invoke, invoke_process

CASES = CONFIG_CASES + TEMPLATE_CASES + OPTION_CASES + LENGTH_CASES


def test_there_are_at_least_35_distinct_bad_inputs() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 35


def make_mistake(ws: Workspace, case: Bad, monkeypatch: pytest.MonkeyPatch) -> str:
    """Apply the case to the workspace; return the edited config text."""
    monkeypatch.chdir(ws.path)  # relative paths in args (vars.yaml, update.txt) are the user's
    text = ws.config.read_text(encoding="utf-8")
    if case.config is not None:
        text = case.config(text)
    ws.config.write_bytes(text.encode("utf-8", "surrogateescape"))
    for name, data in case.files.items():
        path = ws.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return text


def assert_refused(ws: Workspace, result: CliResult, *, where: str, hint: str) -> None:
    """Exit 2, one line naming where and how to fix, no traceback, nothing sent or recorded."""
    assert result.code == ExitCode.INVALID_INPUT, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert where in lines[0], lines[0]
    assert hint in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not ws.journal.exists()
    assert ws.sandbox.requests() == []
    assert ws.sandbox.emails() == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_bad_input_is_one_line_exit_2_and_nothing_happens(
    workspace: Workspace, case: Bad, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = make_mistake(workspace, case, monkeypatch)
    where = case.where
    if case.at is not None:
        where = where.replace("{line}", str(line_of(text, case.at)))
    result = invoke(["--config", "channels.yaml", *case.args, "--yes"])
    assert_refused(workspace, result, where=where, hint=case.hint)


IN_A_PROCESS = [
    "non-UTF-8 channels.yaml",
    "missing ${VAR}",
    "unknown filter",
    "--vars not YAML",
    "--impact huge",
    "unknown option",
    "X over 280",
]


@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_in_a_real_process_too_no_traceback(
    workspace: Workspace, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m notify` as cron runs it: the same one line, and no traceback from anywhere."""
    case = next(c for c in CASES if c.name == name)
    make_mistake(workspace, case, monkeypatch)
    result = invoke_process(["--config", "channels.yaml", *case.args, "--yes"], cwd=workspace.path)
    assert_refused(workspace, result, where=case.where.split("{line}")[0], hint=case.hint)


def journal_counts(ws: Workspace) -> tuple[int, int]:
    with sqlite3.connect(ws.journal) as db:
        updates = db.execute("select count(*) from updates").fetchone()[0]
        deliveries = db.execute("select count(*) from deliveries").fetchone()[0]
    return updates, deliveries


def test_preflight_failing_on_one_channel_sends_nothing_on_the_others(
    workspace: Workspace,
) -> None:
    # The first update goes out on every channel.
    first = workspace.run(*SEND, "--yes", "--json")
    assert first.code == ExitCode.OK, first.output
    incident = first.json()["incident"]["id"]
    sent_requests = len(workspace.sandbox.requests())
    sent_emails = len(workspace.sandbox.emails())
    recorded = journal_counts(workspace)

    # Then the SMS channel is held to one segment, and the next update is two segments long:
    # fine for Slack, email, X and the rest, too long for SMS.
    text = workspace.config.read_text(encoding="utf-8")
    workspace.write_config(add_to("customers-sms", "max_segments: 1")(text))
    message = "The database failover finished; payments are recovering and we are watching."
    result = workspace.run(
        "send", "identified", "--incident", incident, "--message", message * 2, "--yes"
    )

    assert result.code == ExitCode.INVALID_INPUT, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "channel 'customers-sms'" in lines[0], result.stderr
    assert "overflow: truncate" in lines[0]
    # Not one request reached any provider, and the journal holds only the first update.
    assert len(workspace.sandbox.requests()) == sent_requests
    assert len(workspace.sandbox.emails()) == sent_emails
    assert journal_counts(workspace) == recorded

    # The same update, shortened, goes out everywhere as update 2.
    fixed = workspace.run(
        "send",
        "identified",
        "--incident",
        incident,
        "--message",
        "Failover done.",
        "--yes",
        "--json",
    )
    assert fixed.code == ExitCode.OK, fixed.output
    assert fixed.json()["update"]["number"] == 2


def test_notify_filters_outside_an_if_are_not_taken_for_typos(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`| time` is notify's own filter: only a name Jinja and notify both lack is an error."""
    case = Bad(
        "fine",
        where="",
        hint="",
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}:", "{{ now | time }}:")),
    )
    make_mistake(workspace, case, monkeypatch)
    result = workspace.run(*BROKEN, "--to", "customers-sms", "--yes", "--json")
    assert result.code == ExitCode.OK, result.output
    assert len(workspace.sandbox.requests("twilio")) == 2
