"""`notify callbacks INCIDENT`: an agent lists who asked the support line for a call-back, and
whether the text went out, as a table, as JSON and as CSV to phone people back.

The journal holds what a support-line incident leaves behind (call-back requests the collector
recorded, the texts the resolved update sent through `callback_sms`), written through the
journal's own API; the command then runs as a user types it.
"""

from __future__ import annotations

import csv
import io
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from notify.exitcodes import ExitCode
from notify.journal import Incident, PlannedDelivery, open_journal
from notify.journal.base import CallbackRequest
from notify.sandbox.config import channel, config_text, voice_channel
from tests.conftest import Workspace, invoke

INCIDENT = "2026-11-22-payments-api"
QUIET = "2026-11-23-login-slow"
SUBSCRIBER = "+14155550100"  # on the SMS list, and called too
UK_CALLER = "+447700900123"
WAITING = "+14155550177"  # the resolved run was interrupted before texting them
OLD_LINE_CALLER = "+14155550188"  # called a line removed from channels.yaml since


class SupportDesk(Workspace):
    """A workspace whose journal already holds call-backs (nothing is sent: no sandbox)."""


@pytest.fixture
def desk(tmp_path: Path, sandbox: Any) -> SupportDesk:
    """A support line texting call-backs through customers-sms, in Paris time."""
    channels = {
        "status-site": channel("site", sandbox),
        "customers-sms": channel("twilio", sandbox, to=[SUBSCRIBER]),
        "support-line": voice_channel(sandbox, site="status-site", callback_sms="customers-sms"),
    }
    text = config_text(channels, timezone="Europe/Paris", journal=".notify/journal.db")
    (tmp_path / "channels.yaml").write_text(text, encoding="utf-8")
    return SupportDesk(tmp_path, sandbox=None)


def sms(recipient: str) -> PlannedDelivery:
    return PlannedDelivery("customers-sms", "sms", recipient)


def an_incident_with_call_backs(desk: SupportDesk) -> None:
    """Payments fail at 14:00 UTC; four people call and press 1; it is resolved later. The
    subscriber's text of the resolved update failed, the UK caller's went out, the last
    caller's is still pending; the fourth called a line since removed from the config."""
    journal = open_journal(desk.journal)
    try:
        incident = Incident(INCIDENT, "Payments API errors", "investigating", "major")
        first, (to_subscriber,) = journal.add_update(
            incident,
            key="payments-1",
            template="investigating",
            status="investigating",
            message="Card payments fail for some customers.",
            next_update_at=None,
            context={},
            deliveries=[sms(SUBSCRIBER)],
        )
        journal.finish(to_subscriber.id, status="sent", attempts=1, provider_message_id="SM1")
        for caller, sid, at, line in [
            (UK_CALLER, "CA0000000000000000000000000000b003", "14:10", "support-line"),
            (SUBSCRIBER, "CA0000000000000000000000000000b001", "14:03", "support-line"),
            (WAITING, "CA0000000000000000000000000000b004", "14:20", "support-line"),
            (OLD_LINE_CALLER, "CA0000000000000000000000000000b002", "14:05", "old-line"),
        ]:
            request = CallbackRequest(INCIDENT, line, caller, sid, f"2026-11-22T{at}:00Z")
            assert journal.record_callback(request)
        resolved = Incident(INCIDENT, "Payments API errors", "resolved", "major")
        _, texts = journal.add_update(
            resolved,
            key="payments-2",
            template="resolved",
            status="resolved",
            message="Payments work again.",
            next_update_at=None,
            context={},
            deliveries=[sms(SUBSCRIBER), sms(UK_CALLER), sms(WAITING)],
        )
        by_recipient = {d.recipient: d for d in texts}
        journal.finish(by_recipient[SUBSCRIBER].id, status="failed", attempts=3, error="30003")
        journal.finish(by_recipient[UK_CALLER].id, status="sent", attempts=1)
        journal.add_update(
            Incident(QUIET, "Login slow", "investigating", "minor"),
            key="login-1",
            template="investigating",
            status="investigating",
            message="Logins are slow.",
            next_update_at=None,
            context={},
            deliveries=[sms(SUBSCRIBER)],
        )
    finally:
        journal.close()
    # The first update was made at 14:00, before anyone called (the journal stamps "now").
    with closing(sqlite3.connect(desk.journal)) as db, db:
        db.execute(
            "UPDATE updates SET created_at = '2026-11-22T14:00:00Z' WHERE key = ?", [first.key]
        )


def test_the_table_lists_callers_oldest_call_first_in_the_organizations_time(
    desk: SupportDesk,
) -> None:
    an_incident_with_call_backs(desk)
    result = desk.run("callbacks", INCIDENT)
    assert result.code == 0, result.output
    words = [[w for w in line.split() if w not in "│┃"] for line in result.stdout.splitlines()]
    assert ["caller", "called", "line", "texted"] in words
    assert [w for w in words if w and w[0].startswith("+")] == [
        [SUBSCRIBER, "2026-11-22", "15:03", "CET", "support-line", "failed"],
        [OLD_LINE_CALLER, "2026-11-22", "15:05", "CET", "old-line", "-"],
        [UK_CALLER, "2026-11-22", "15:10", "CET", "support-line", "sent"],
        [WAITING, "2026-11-22", "15:20", "CET", "support-line", "pending"],
    ]
    assert result.stderr == ""


def test_json_is_one_document_with_the_stored_times(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)
    result = desk.run("callbacks", INCIDENT, "--json")
    assert result.code == 0, result.output
    assert result.json() == {
        "incident": INCIDENT,
        "callbacks": [
            {
                "caller": SUBSCRIBER,
                "channel": "support-line",
                "call_sid": "CA0000000000000000000000000000b001",
                "requested_at": "2026-11-22T14:03:00Z",
                "texted": "failed",  # their earlier, subscriber's text is not the call-back
            },
            {
                "caller": OLD_LINE_CALLER,
                "channel": "old-line",
                "call_sid": "CA0000000000000000000000000000b002",
                "requested_at": "2026-11-22T14:05:00Z",
                "texted": None,
            },
            {
                "caller": UK_CALLER,
                "channel": "support-line",
                "call_sid": "CA0000000000000000000000000000b003",
                "requested_at": "2026-11-22T14:10:00Z",
                "texted": "sent",
            },
            {
                "caller": WAITING,
                "channel": "support-line",
                "call_sid": "CA0000000000000000000000000000b004",
                "requested_at": "2026-11-22T14:20:00Z",
                "texted": "pending",
            },
        ],
    }
    # The global option after the command, or before it: the same document.
    assert desk.run("--json", "callbacks", INCIDENT).json() == result.json()


def test_csv_gives_agents_the_numbers_to_call_as_they_are(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)
    result = desk.run("callbacks", INCIDENT, "--csv")
    assert result.code == 0, result.output
    assert result.stdout.splitlines()[0] == "caller,requested_at,channel,call_sid,texted"
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["caller"], r["texted"]) for r in rows] == [
        (SUBSCRIBER, "failed"),
        (OLD_LINE_CALLER, ""),
        (UK_CALLER, "sent"),
        (WAITING, "pending"),
    ]
    assert rows[2] == {
        "caller": "+447700900123",  # the + of an E.164 number stays: it is no formula
        "requested_at": "2026-11-22T14:10:00Z",
        "channel": "support-line",
        "call_sid": "CA0000000000000000000000000000b003",
        "texted": "sent",
    }


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_quoted(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)
    journal = open_journal(desk.journal)
    try:
        hostile = CallbackRequest(
            QUIET, "=support", '=HYPERLINK("http://evil.example")', "-2+3", "2026-11-23T09:00:00Z"
        )
        journal.record_callback(hostile)
        journal.record_callback(
            CallbackRequest(
                QUIET, "support-line", "+1 (415) 555-0199", "@SUM(A1)", "2026-11-23T09:01:00Z"
            )
        )
    finally:
        journal.close()
    result = desk.run("callbacks", QUIET, "--csv")
    assert result.code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))[1:]
    assert rows == [
        ['\'=HYPERLINK("http://evil.example")', "2026-11-23T09:00:00Z", "'=support", "'-2+3", ""],
        ["'+1 (415) 555-0199", "2026-11-23T09:01:00Z", "support-line", "'@SUM(A1)", "pending"],
    ]


def test_an_unknown_incident_is_exit_2_naming_the_nearest_one(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)
    for extra in ([], ["--json"], ["--csv"]):
        result = desk.run("callbacks", "2026-11-22-payment-api", *extra)
        assert result.code == ExitCode.INVALID_INPUT
        assert result.stdout == ""
        (line,) = result.stderr.splitlines()
        assert "no incident '2026-11-22-payment-api'" in line
        # Resolved, yet the nearest: call-backs are looked at once an incident is over.
        assert f"Did you mean `notify callbacks {INCIDENT}`?" in line


def test_an_incident_nobody_called_about_says_so(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)

    table = desk.run("callbacks", QUIET)
    assert table.code == 0, table.output
    assert table.stdout.splitlines() == [f"no call-back requests for {QUIET}."]

    document = desk.run("callbacks", QUIET, "--json")
    assert document.json() == {"incident": QUIET, "callbacks": []}

    sheet = desk.run("callbacks", QUIET, "--csv")
    assert sheet.stdout == "caller,requested_at,channel,call_sid,texted\n"


def test_csv_and_json_together_is_a_usage_error(desk: SupportDesk) -> None:
    an_incident_with_call_backs(desk)
    result = desk.run("callbacks", INCIDENT, "--csv", "--json")
    assert result.code == ExitCode.INVALID_INPUT
    assert result.stdout == ""
    assert "--csv" in result.stderr and "--json" in result.stderr


def test_with_only_a_journal_and_no_config_nothing_says_whether_texts_went_out(
    desk: SupportDesk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    an_incident_with_call_backs(desk)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = invoke(["--journal", str(desk.journal), "callbacks", INCIDENT, "--json"])
    assert result.code == 0, result.output
    assert [c["texted"] for c in result.json()["callbacks"]] == [None] * 4
    table = invoke(["--journal", str(desk.journal), "callbacks", INCIDENT])
    assert "2026-11-22 14:03 UTC" in table.stdout
