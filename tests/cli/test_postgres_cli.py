"""The PostgreSQL journal through the real CLI: locations that can't be used, `check`, and
`notify journal copy` between SQLite and PostgreSQL with later updates still threading.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from notify.exitcodes import ExitCode
from tests.conftest import Workspace
from tests.postgres import PASSWORD

TITLE = "Checkout errors"
WRONG = "not-the-Password-42"


def send(ws: Workspace, template: str, *extra: str) -> Any:
    result = ws.run(
        "send", template, "--title", TITLE, "--message", f"{template} message.", "--yes", "--json",
        *extra,
    )  # fmt: skip
    assert result.code == 0, result.output
    return result.json()


def bad_location(dsn: str, case: str) -> str:
    head, _, database = dsn.rpartition("/")
    return {
        "wrong-password": dsn.replace(PASSWORD, WRONG),
        "missing-database": f"{head}/no_such_db",
        "unreachable": f"postgresql://notify:{PASSWORD}@127.0.0.1:1/{database}",
        "malformed": f"{dsn}?no_such_option=1",
        "missing-psycopg": dsn,
    }[case]


EXPECTED = {
    "wrong-password": "refused the password of user notify",
    "missing-database": "has no database no_such_db",
    "unreachable": "cannot reach the PostgreSQL server at 127.0.0.1:1",
    "malformed": "not a valid PostgreSQL location",
    "missing-psycopg": "pip install 'notify[postgres]'",
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_a_journal_url_that_cannot_be_used_is_exit_2_one_line_and_no_password(
    workspace: Workspace, postgres_dsn: str, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if case == "missing-psycopg":
        monkeypatch.setitem(sys.modules, "psycopg", None)  # as if never installed
    location = bad_location(postgres_dsn, case)
    plain = [
        workspace.run("--journal", location, "log"),
        workspace.run("send", *SEND, env={"NOTIFY_JOURNAL": location}),
        workspace.run("--journal", location, "check"),
    ]
    for result in plain:
        assert result.code == ExitCode.INVALID_INPUT, result.output
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert line.startswith("notify: error: ") and EXPECTED[case] in line
        assert "postgresql://notify:***@127.0.0.1:" in line

    verbose = [
        workspace.run("--journal", location, "log", "-v", "--json"),
        workspace.run("--journal", location, "check", "-v", "--json"),
        workspace.run("--journal", location, "show", "2026-01-01-x", "-vv"),
        workspace.run("--journal", location, "suppress", "list", "-v", "--json"),
        workspace.run("--journal", location, "retry", "--yes", "-v", "--json"),
    ]
    for result in verbose:
        assert result.code == ExitCode.INVALID_INPUT, result.output
        assert EXPECTED[case] in result.stderr
    text = "\n".join(r.output for r in plain + verbose)
    assert PASSWORD not in text and WRONG not in text
    assert workspace.sandbox.requests() == [] and workspace.sandbox.emails() == []


SEND = ("investigating", "--title", TITLE, "--message", "m", "--yes")


def test_the_journal_in_channels_yaml_may_be_a_postgresql_url(
    workspace: Workspace, postgres_dsn: str
) -> None:
    text = workspace.config.read_text(encoding="utf-8")
    workspace.write_config(text.replace("journal: .notify/journal.db", f"journal: {postgres_dsn}"))
    check = workspace.run("check", "--json")
    assert check.code == 0, check.output
    (journal,) = [f for f in check.json()["checks"] if f["check"] == "journal"]
    assert journal["backend"] == "PostgreSQL"
    assert journal["location"] == postgres_dsn.replace(PASSWORD, "***")
    assert PASSWORD not in check.output

    first = send(workspace, "investigating", "--to", "ops-slack")
    incidents = workspace.run("incidents", "--json")
    assert [i["id"] for i in incidents.json()["incidents"]] == [first["incident"]["id"]]
    assert not workspace.journal.exists()


def test_a_check_on_a_new_file_journal_says_it_is_not_created_yet(workspace: Workspace) -> None:
    check = workspace.run("check", "--json")
    (journal,) = [f for f in check.json()["checks"] if f["check"] == "journal"]
    assert (journal["backend"], journal["schema"]) == ("SQLite", None)
    assert "not created yet" in journal["detail"]
    assert not workspace.journal.exists()


def test_copy_a_sqlite_journal_to_postgresql_then_the_next_update_threads(
    workspace: Workspace, postgres_dsn: str, tmp_path: Path
) -> None:
    first = send(workspace, "investigating")  # into the workspace's SQLite file
    incident = first["incident"]["id"]
    copied = workspace.run("journal", "copy", str(workspace.journal), postgres_dsn, "--json")
    assert copied.code == 0, copied.output
    document = copied.json()
    assert document["copied"]["incidents"] == 1 and document["copied"]["updates"] == 1
    assert document["copied"]["deliveries"] == len(first["deliveries"])
    assert document["destination"] == postgres_dsn.replace(PASSWORD, "***")
    assert PASSWORD not in copied.output

    # The team moves to the shared journal: the next update replies under the first.
    second = send(workspace, "identified", "--incident", incident, "--journal", postgres_dsn)
    assert second["update"]["number"] == 2
    slack = workspace.sandbox.posts("slack")
    roots = [p for p in slack if not p.get("thread_ts")]
    replies = [p for p in slack if p.get("thread_ts")]
    assert len(roots) == 1 and [r["thread_ts"] for r in replies] == [roots[0]["ts"]]
    for messages in _emails_by_recipient(workspace).values():
        assert len(messages) == 2
        assert str(messages[1]["In-Reply-To"]) == str(messages[0]["Message-ID"])
    mastodon = workspace.sandbox.posts("mastodon")
    assert [p.get("in_reply_to_id") for p in mastodon] == [None, mastodon[0]["id"]]

    # A second copy into the now busy database is refused, and replaces it with --force.
    again = workspace.run("journal", "copy", str(workspace.journal), postgres_dsn)
    assert again.code == ExitCode.INVALID_INPUT
    (line,) = again.stderr.splitlines()
    assert "not empty" in line and "--force" in line and PASSWORD not in line

    # And back to a file: everything the server holds, both updates.
    back = tmp_path / "back" / "journal.db"
    result = workspace.run("journal", "copy", postgres_dsn, str(back))
    assert result.code == 0, result.output
    assert "copied 1 incident, 2 updates," in result.stdout
    shown = workspace.run("--journal", str(back), "show", incident, "--json")
    assert [u["number"] for u in shown.json()["updates"]] == [1, 2]

    forced = workspace.run("journal", "copy", str(workspace.journal), postgres_dsn, "--force")
    assert forced.code == 0, forced.output
    only_first = workspace.run("--journal", postgres_dsn, "show", incident, "--json")
    assert [u["number"] for u in only_first.json()["updates"]] == [1]


def test_copy_refuses_a_missing_source_and_the_same_journal_twice(
    workspace: Workspace, postgres_dsn: str, tmp_path: Path
) -> None:
    missing = workspace.run("journal", "copy", str(tmp_path / "nope.db"), postgres_dsn)
    assert missing.code == ExitCode.INVALID_INPUT and "no journal to copy" in missing.stderr
    same = workspace.run("journal", "copy", postgres_dsn, postgres_dsn)
    assert same.code == ExitCode.INVALID_INPUT and "same journal" in same.stderr
    assert PASSWORD not in missing.output + same.output


def _emails_by_recipient(ws: Workspace) -> dict[str, list[Any]]:
    found: dict[str, list[Any]] = {}
    for message in ws.sandbox.emails():
        found.setdefault(str(message["To"]), []).append(message)
    return found
