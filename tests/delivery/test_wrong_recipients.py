"""Wrong data, wrong recipients (issue 9, items 1 and 3 to 6), through the real CLI against the
sandbox: opt-outs as people write them, updates that must not open a second incident, a key
reused for another update, disabled channels inside groups, and retry after a rescue."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tests.conftest import Workspace

TITLE = "Search down"


def send(ws: Workspace, template: str, *extra: str, code: int = 0) -> Any:
    result = ws.run("send", template, "--message", f"{template}.", "--yes", "--json", *extra)
    assert result.code == code, result.output
    return result.json() if code in (0, 1) else result


def disable(ws: Workspace, channel: str) -> None:
    text = ws.config.read_text(encoding="utf-8")
    head = f"  {channel}:\n"
    assert head in text
    ws.write_config(text.replace(head, f"{head}    enabled: false\n", 1))


# 5. A group stands for its enabled members.


def test_a_disabled_channel_inside_a_group_is_not_sent_to(workspace: Workspace) -> None:
    disable(workspace, "it-teams")
    document = send(workspace, "investigating", "--title", TITLE, "--to", "internal")
    assert {d["channel"] for d in document["deliveries"]} == {"status-email", "ops-slack"}
    assert workspace.sandbox.posts("teams") == []


def test_a_group_of_disabled_channels_only_is_an_error_naming_it(workspace: Workspace) -> None:
    for name in ("status-email", "ops-slack", "it-teams"):
        disable(workspace, name)
    result = send(workspace, "investigating", "--title", TITLE, "--to", "internal", code=2)
    assert "every channel of --to internal is disabled" in result.stderr
    assert workspace.sandbox.requests() == [] and workspace.sandbox.emails() == []


# 6. A failure rescued by its fallback is done: retry sends it again to nobody.


def test_retry_after_a_rescue_resends_nothing_and_exits_0(workspace: Workspace) -> None:
    config = workspace.config.read_text()
    config = config.replace(
        "    rate_limit: 10/s\n", "    rate_limit: 10/s\n    fallback: status-email\n", 1
    )
    workspace.write_config(config)
    workspace.sandbox.fail("twilio", 400, times=1)  # the first number's SMS fails for good
    first = send(workspace, "investigating", "--title", TITLE, "--to", "customers-sms")
    statuses = Counter((d["channel"], d["status"]) for d in first["deliveries"])
    assert statuses[("customers-sms", "failed")] == 1 and statuses[("status-email", "sent")] == 2
    texts = len(workspace.sandbox.posts("twilio"))

    result = workspace.run("retry", "--yes", "--json")
    assert result.code == 0, result.output
    assert result.json()["updates"] == []
    assert len(workspace.sandbox.posts("twilio")) == texts  # the SMS is not sent again
    assert len(workspace.sandbox.emails()) == 2

    # Asked for the update itself (--key), it is settled: rescued, nothing sent.
    key = first["update"]["key"]
    again = send(
        workspace, "investigating", "--title", TITLE, "--key", key, "--to", "customers-sms"
    )
    rescued = [
        d
        for d in again["deliveries"]
        if d["channel"] == "customers-sms" and d["status"] == "failed"
    ]
    assert len(rescued) == 1 and rescued[0]["rescued_by"] is not None
    assert len(workspace.sandbox.posts("twilio")) == texts


# 3. Only opening templates open incidents; an unknown incident is exit 2 with a suggestion.


def test_an_update_without_incident_never_opens_a_second_one(workspace: Workspace) -> None:
    opened = send(workspace, "investigating", "--title", TITLE, "--to", "ops-slack")
    incident = opened["incident"]["id"]
    posts = len(workspace.sandbox.posts("slack"))

    result = send(workspace, "resolved", "--title", TITLE, "--to", "ops-slack", code=2)
    assert "'resolved' updates an existing incident: name it with --incident ID" in result.stderr
    assert f"Open incidents: {incident} ({TITLE})" in result.stderr

    typo = incident[:-1] + "x"
    result = send(
        workspace, "resolved", "--incident", typo, "--title", TITLE, "--to", "ops-slack", code=2
    )
    assert f"no incident '{typo}' in the journal" in result.stderr
    assert f"Did you mean --incident {incident}?" in result.stderr
    assert len(workspace.sandbox.posts("slack")) == posts
    listed = workspace.run("incidents", "--json").json()["incidents"]
    assert [(i["id"], i["status"]) for i in listed] == [(incident, "investigating")]

    # preview takes the same inputs and says the same.
    result = workspace.run("preview", "resolved", "--title", TITLE)
    assert result.code == 2 and "updates an existing incident" in result.stderr

    # An opening template opens one under an unknown --incident; with none, under a new id.
    fresh = send(workspace, "investigating", "--incident", "db-1", "--title", "DB", "--to", "x")
    assert fresh["incident"]["id"] == "db-1"
    done = send(workspace, "resolved", "--incident", incident, "--to", "ops-slack")
    assert done["incident"]["status"] == "resolved"


def test_a_template_may_say_it_opens_incidents(workspace: Workspace) -> None:
    folder = workspace.path / "templates"
    folder.mkdir()
    (folder / "outage.j2").write_text(
        "---\nstatus: identified\nopens: true\n---\n"
        "{% block subject %}{{ incident.title }}{% endblock %}"
        "{% block short %}{{ incident.title }}{% endblock %}"
        "{% block body %}{{ update.message }}{% endblock %}",
        encoding="utf-8",
    )
    workspace.write_config(workspace.config.read_text(encoding="utf-8") + "templates: templates\n")
    opened = send(workspace, "outage", "--title", TITLE, "--to", "ops-slack")
    assert opened["incident"]["status"] == "identified"
    assert workspace.run("check").code == 0  # non-opening templates still render as samples


def test_history_commands_name_an_unknown_incident(workspace: Workspace) -> None:
    incident = send(workspace, "investigating", "--title", TITLE, "--to", "ops-slack")["incident"]
    typo = incident["id"] + "-2"
    for args in (("show", typo), ("log", "--incident", typo), ("retry", "--incident", typo)):
        result = workspace.run(*args)
        assert result.code == 2, (args, result.output)
        assert f"no incident '{typo}' in the journal" in result.stderr
        assert f"Did you mean --incident {incident['id']}?" in result.stderr


# 4. A key reused for a different update is refused, naming the key.


def test_a_key_reused_for_another_update_is_exit_2_naming_it(workspace: Workspace) -> None:
    first = send(workspace, "investigating", "--title", TITLE, "--to", "ops-slack", "--key", "k1")
    incident = first["incident"]["id"]
    posts = len(workspace.sandbox.posts("slack"))

    again = send(workspace, "investigating", "--title", TITLE, "--to", "ops-slack", "--key", "k1")
    assert {d["status"] for d in again["deliveries"]} == {"skipped"}  # the same update: done

    other = ("resolved", "--incident", incident, "--to", "ops-slack", "--key", "k1")
    result = send(workspace, *other, code=2)
    assert "--key 'k1' was used for another update" in result.stderr
    assert "its template and message differ" in result.stderr
    result = send(
        workspace, "investigating", "--title", TITLE, "--key", "k1", "--message", "New.", code=2
    )
    assert "message differ" in result.stderr
    assert len(workspace.sandbox.posts("slack")) == posts
    assert workspace.run("retry", "--yes").code == 0  # retry gives template and incident: fine


# 1. Opt-outs are normalised as recipients are.


def test_opt_outs_written_as_people_write_numbers_are_honoured(workspace: Workspace) -> None:
    added = workspace.run("suppress", "add", "+1 (415) 555-0100", "CTO@Acme.Example")
    assert added.code == 0, added.output
    listed = workspace.run("suppress", "list", "--json").json()["suppressed"]
    assert sorted(e["recipient"] for e in listed) == ["+14155550100", "cto@acme.example"]

    document = send(workspace, "investigating", "--title", TITLE, "--to", "customers-sms")
    skipped = [d["recipient"] for d in document["deliveries"] if d["status"] == "skipped"]
    assert skipped == ["+14155550100"]
    assert Counter(p["to"] for p in workspace.sandbox.posts("twilio")) == {"+442071838750": 1}
    mail = send(workspace, "investigating", "--title", "Mail", "--to", "status-email")
    assert [d["recipient"] for d in mail["deliveries"] if d["status"] == "skipped"] == [
        "cto@acme.example"
    ]

    removed = workspace.run("suppress", "remove", "+1 415 555 0100")
    assert removed.code == 0 and "removed 1 of 1" in removed.stderr


def test_an_invalid_opt_out_is_exit_2_and_nothing_is_added(workspace: Workspace) -> None:
    for bad in ("+1 415", "bob@", "415 555 0100"):
        result = workspace.run("suppress", "add", "+14155550100", bad)
        assert result.code == 2, result.output
        assert f"{bad!r} is not a valid email address or phone number" in result.stderr
    assert workspace.run("suppress", "list", "--json").json()["suppressed"] == []


def test_opt_outs_stored_as_written_are_migrated(workspace: Workspace) -> None:
    import sqlite3

    assert workspace.run("suppress", "add", "+14155550199").code == 0  # creates the journal
    with sqlite3.connect(workspace.journal) as db:  # as an older notify left them
        db.executemany(
            "INSERT INTO suppressions (channel, recipient, reason, created_at)"
            " VALUES (?, ?, '', '')",
            [("*", "+1 415 555 0100"), ("*", "+1 (415) 555-0100"), ("*", "Bob@Example.com")],
        )
        db.execute("DELETE FROM migrations WHERE number = 4")
    listed = workspace.run("suppress", "list", "--json").json()["suppressed"]
    assert sorted(e["recipient"] for e in listed) == [
        "+14155550100",
        "+14155550199",
        "bob@example.com",
    ]
