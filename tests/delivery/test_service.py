"""The one send path (notify.delivery.service) and the update draft it starts from, called as the
CLI calls them: real adapters, the sandbox's emulators, the journal on disk."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, fields
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from notify.config import load_config
from notify.delivery.incident import (
    INCIDENT_FIELDS,
    SUMMARY_FIELDS,
    draft_update,
    incident_json,
    replay_request,
)
from notify.delivery.inputs import UpdateRequest
from notify.delivery.jobs import Outcome
from notify.delivery.preflight import CheckedUpdate
from notify.delivery.service import send_update, unfinished_updates
from notify.errors import Interrupted
from notify.journal import open_journal
from notify.journal.base import Incident, Update
from notify.model import DeliveryStatus
from notify.render.templates import TemplateSet
from tests.conftest import Workspace

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def request(**fields: Any) -> UpdateRequest:
    fields.setdefault("title", "Checkout errors")
    fields.setdefault("message", "We are looking into it.")
    return UpdateRequest(template=fields.pop("template", "investigating"), **fields)


class Recorded:
    """A progress display that remembers what it was told, and when it was on screen."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.planned_counts: list[int] = []
        self.outcomes: list[Outcome] = []

    @contextmanager
    def shown(self) -> Iterator[Recorded]:
        self.events.append("shown")
        yield self
        self.events.append("hidden")

    def planned(self, count: int) -> None:
        self.planned_counts.append(count)

    def done(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)


@pytest.fixture
def templates() -> TemplateSet:
    return TemplateSet.load([], timezone="UTC")


def test_a_dry_run_and_a_declined_update_record_nothing(
    workspace: Workspace, templates: TemplateSet
) -> None:
    config = load_config(workspace.config)
    shown: list[CheckedUpdate] = []

    def never() -> Any:
        raise AssertionError("the journal is opened only to send")

    def decline(checked: CheckedUpdate) -> bool:
        shown.append(checked)
        return False

    assert send_update(request(dry_run=True), config, templates, None, open_journal=never) is None
    assert (
        send_update(request(), config, templates, None, open_journal=never, proceed=decline) is None
    )
    assert len(shown) == 1 and shown[0].deliveries, "proceed is shown what would go out"
    assert not workspace.journal.exists()
    assert workspace.sandbox.posts("slack") == []


def test_an_update_goes_out_with_its_progress_shown_around_the_run(
    workspace: Workspace, templates: TemplateSet
) -> None:
    config = load_config(workspace.config)
    record = Recorded()
    journal = open_journal(workspace.journal)
    try:
        first = send_update(request(), config, templates, journal, progress=record.shown)
        assert first is not None
        again = send_update(
            request(key=first.checked.key), config, templates, journal, progress=record.shown
        )
        assert again is not None
        left = unfinished_updates(journal)
    finally:
        journal.close()

    assert record.events == ["shown", "hidden", "shown", "hidden"]
    everyone = len(first.checked.deliveries)
    assert Counter(o.status for o in first.outcomes) == {DeliveryStatus.SENT: everyone}
    assert first.undelivered == [] and first.update_number == 1
    # The same --key again sends nothing: every delivery is settled before the run starts.
    assert Counter(o.status for o in again.outcomes) == {DeliveryStatus.SKIPPED: everyone}
    assert {o.error for o in again.outcomes} == {"already sent"}
    assert record.planned_counts == [everyone, 0]
    # Every outcome reported once, in the order deliveries settled.
    reported = Counter(id(o) for o in record.outcomes)
    assert reported == Counter(id(o) for o in first.outcomes + again.outcomes)
    assert left == []


def test_ctrl_c_while_delivering_names_the_update_and_the_way_back(
    workspace: Workspace, templates: TemplateSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    import notify.delivery.service

    def interrupted(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(notify.delivery.service, "record_plan", interrupted)
    config = load_config(workspace.config)
    journal = open_journal(workspace.journal)
    try:
        with pytest.raises(Interrupted, match="interrupted during update 'k-1'") as caught:
            send_update(request(key="k-1"), config, templates, journal)
    finally:
        journal.close()
    assert "notify retry" in (caught.value.hint or "")


# -- the draft --------------------------------------------------------------------------------


def test_an_incident_has_one_json_shape_seen_whole_or_in_summary() -> None:
    incident = Incident("i-1", "Checkout errors", "identified", "major", ["Checkout"], "s", "u")
    whole = incident_json(incident)
    assert list(whole) == list(INCIDENT_FIELDS) == [f.name for f in fields(Incident)]
    assert whole == asdict(incident) and whole["components"] is not incident.components
    assert incident_json(incident, SUMMARY_FIELDS) == {
        "id": "i-1",
        "title": "Checkout errors",
        "status": "identified",
        "impact": "major",
    }


def test_what_an_update_records_renders_it_again(templates: TemplateSet) -> None:
    asked = request(
        vars={"workaround": "Use the app"},
        impact="major",
        components=["Checkout"],
        next_update=timedelta(minutes=30),
        to=["ops-slack"],
        tags=["eu"],
        key="k-1",
    )
    draft = draft_update(asked, templates, None, now=NOW)
    stored = draft.inputs.to_json()
    assert list(stored) == [
        "title", "message", "vars", "impact", "components", "next_update_seconds", "to", "tags",
        "at", "component_statuses",
    ]  # fmt: skip
    assert stored["at"] == "2026-11-22T09:30:00Z" and stored["next_update_seconds"] == 1800
    # the component's status history: a major incident puts what it names in partial outage
    assert stored["component_statuses"] == {"Checkout": "partial_outage"}
    recorded = Update(1, draft.incident.id, 1, "k-1", draft.template, "investigating", "", "")
    recorded.context = stored
    replayed = replay_request(request(title=None, message="something else", key="k-1"), recorded)
    assert replayed == UpdateRequest(
        **{
            **asdict(asked),
            "incident": draft.incident.id,
            "component_statuses": {"Checkout": "partial_outage"},  # as recorded, not re-derived
        }
    )
    assert draft.update_json() == {
        "number": 1,
        "status": "investigating",
        "message": "We are looking into it.",
        "at": "2026-11-22T09:30:00Z",
        "next_update_at": "2026-11-22T10:00:00Z",
        "key": "k-1",
        "template": "investigating",
        "component_statuses": {"Checkout": "partial_outage"},
        "maintenance": None,
    }
