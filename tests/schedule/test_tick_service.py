"""`notify tick`'s work (notify.delivery.tick) against the sandbox: each due action once, to the
right channels, late ones skipped, dry runs recording nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify.config import load_config
from notify.delivery.inputs import UpdateRequest
from notify.delivery.service import send_update
from notify.delivery.tick import TickReport, run_tick
from notify.journal import open_journal
from notify.journal.base import Journal
from notify.render.templates import TemplateSet
from tests.conftest import Workspace

SCHEDULE = """
schedule:
  reminders_to: ops-slack
  remind_before: 5m
  maintenance_reminders: [24h, 1h]
  maintenance_auto: true
  feedback_after: 2h
  late_limit: 15m
"""
T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def setup(workspace: Workspace) -> Any:
    workspace.config.write_text(workspace.config.read_text() + SCHEDULE)
    config = load_config(workspace.config)
    templates = TemplateSet.load([], timezone="UTC")
    journal = open_journal(workspace.journal)
    yield config, templates, journal
    journal.close()


def tick(setup: Any, at: datetime, **kw: Any) -> TickReport:
    config, templates, journal = setup
    return run_tick(config, templates, journal, now=at, **kw)


def kinds(report: TickReport) -> list[tuple[str, str]]:
    return [(a.due.kind, a.status) for a in report.actions]


def channels_of(journal: Journal, key: str) -> set[str]:
    update = journal.find_update(key)
    assert update is not None, key
    return {d.channel for d in journal.deliveries(update_id=update.id)}


def send(setup: Any, **fields: Any) -> None:
    config, templates, journal = setup
    now = fields.pop("now", None) or T0
    request = UpdateRequest(template=fields.pop("template"), **fields)
    assert send_update(request, config, templates, journal, now=now)


def test_reminder_then_overdue_go_to_the_team_once_each(setup: Any) -> None:
    journal: Journal = setup[2]
    send(
        setup,
        template="investigating",
        incident="db-1",
        title="Database errors",
        next_update=timedelta(minutes=30),
        to=["customers-sms", "ops-slack"],
    )
    assert kinds(tick(setup, T0 + timedelta(minutes=10))) == []
    dry = tick(setup, T0 + timedelta(minutes=26), dry_run=True)
    assert kinds(dry) == [("reminder", "planned")]
    assert journal.actions() == [] and journal.find_update("tick:reminder:db-1:1:") is None
    assert kinds(tick(setup, T0 + timedelta(minutes=26))) == [("reminder", "sent")]
    assert channels_of(journal, "tick:reminder:db-1:1:") == {"ops-slack"}
    assert kinds(tick(setup, T0 + timedelta(minutes=27))) == []
    late = tick(setup, T0 + timedelta(minutes=31))
    assert kinds(late) == [("overdue", "sent")]
    assert kinds(tick(setup, T0 + timedelta(minutes=32))) == []
    incident = journal.get_incident("db-1")
    assert incident is not None and incident.status == "investigating"
    # A new update re-arms the nudges, counted from it.
    send(
        setup,
        template="identified",
        incident="db-1",
        next_update=timedelta(minutes=30),
        now=T0 + timedelta(minutes=40),
    )
    report = tick(setup, T0 + timedelta(minutes=40), dry_run=True)
    assert [(d.kind, d.due_at) for d in report.upcoming] == [
        ("reminder", T0 + timedelta(minutes=65)),
        ("overdue", T0 + timedelta(minutes=70)),
    ]


def test_a_maintenance_window_reminds_starts_and_completes_once_each(setup: Any) -> None:
    journal: Journal = setup[2]
    starts, ends = T0 + timedelta(hours=30), T0 + timedelta(hours=32)
    send(
        setup,
        template="maintenance-scheduled",
        incident="mw-1",
        title="Database upgrade",
        starts=starts.isoformat(),
        ends=ends.isoformat(),
        to=["customers-sms", "status-email"],
    )
    assert kinds(tick(setup, starts - timedelta(hours=24) + timedelta(minutes=1))) == [
        ("maintenance-reminder", "sent")
    ]
    assert channels_of(journal, "tick:maintenance-reminder:mw-1:1:24h") == {
        "customers-sms",
        "status-email",
    }
    assert kinds(tick(setup, starts - timedelta(minutes=59))) == [("maintenance-reminder", "sent")]
    assert kinds(tick(setup, starts - timedelta(minutes=58))) == []
    # cron was down over the start: skipped, not sent late; the end still goes.
    assert kinds(tick(setup, starts + timedelta(minutes=30))) == [
        ("maintenance-started", "skipped")
    ]
    assert kinds(tick(setup, ends + timedelta(minutes=1))) == [("maintenance-completed", "sent")]
    incident = journal.get_incident("mw-1")
    assert incident is not None and incident.status == "completed" and incident.resolved_at
    assert kinds(tick(setup, ends + timedelta(minutes=2))) == []
    statuses = {(a.kind, a.slot): a.status for a in journal.actions("mw-1")}
    assert statuses == {
        ("maintenance-reminder", "24h"): "sent",
        ("maintenance-reminder", "1h"): "sent",
        ("maintenance-started", "start"): "skipped",
        ("maintenance-completed", "end"): "sent",
    }


def test_feedback_goes_once_per_recipient_with_the_survey_link_not_to_opt_outs(
    setup: Any,
) -> None:
    journal: Journal = setup[2]
    send(setup, template="investigating", incident="x-1", title="Login fails")
    send(
        setup,
        template="resolved",
        incident="x-1",
        vars={"survey_url": "https://acme.example/survey"},
        now=T0 + timedelta(minutes=5),
    )
    rows = journal.deliveries(update_id=journal.updates("x-1")[-1].id)
    opted_out = next(r.recipient for r in rows if r.type == "sms")
    journal.suppress("*", opted_out, "STOP")
    assert kinds(tick(setup, T0 + timedelta(hours=2))) == []
    assert kinds(tick(setup, T0 + timedelta(hours=2, minutes=6))) == [("feedback", "sent")]
    feedback = journal.find_update("tick:feedback:x-1:2:")
    assert feedback is not None and feedback.context["vars"]["survey_url"]
    sent = journal.deliveries(update_id=feedback.id)
    assert {d.type for d in sent} <= {"email", "sms"}, "per recipient only"
    assert {d.status for d in sent if d.recipient == opted_out} == {"skipped"}
    assert kinds(tick(setup, T0 + timedelta(hours=2, minutes=7))) == []
    assert [u.number for u in journal.updates("x-1") if not u.context.get("scheduled")] == [1, 2]
