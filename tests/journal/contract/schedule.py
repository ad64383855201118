"""Contract: scheduled actions (`notify tick`) recorded once per (kind, incident, update, slot)."""

from __future__ import annotations

import threading

from notify.journal import Journal
from notify.journal.base import ScheduledAction
from tests.journal.contract.helpers import INCIDENT_ID, MakeJournal, UsesJournal


def reminder(slot: str = "1h", status: str = "sent", **changes: object) -> ScheduledAction:
    fields: dict[str, object] = {
        "kind": "maintenance-reminder",
        "incident_id": INCIDENT_ID,
        "update_number": 1,
        "slot": slot,
        "due_at": "2026-11-22T13:00:00Z",
        "status": status,
        "key": f"tick:maintenance-reminder:{INCIDENT_ID}:1:{slot}",
    }
    fields.update(changes)
    return ScheduledAction(**fields)  # type: ignore[arg-type]


class ScheduleContract(UsesJournal):
    def test_actions_round_trip_and_the_first_record_wins(self, journal: Journal) -> None:
        assert journal.actions() == []
        assert journal.record_action(reminder("24h", status="skipped", key=""))
        assert journal.record_action(reminder("1h"))
        assert not journal.record_action(reminder("1h", status="failed")), "recorded already"
        assert journal.record_action(reminder("1h", update_number=2)), "another update's moment"
        other = reminder("", kind="feedback", incident_id="2026-11-23-login")
        assert journal.record_action(other)

        found = journal.actions()
        assert [(a.kind, a.update_number, a.slot, a.status) for a in found] == [
            ("maintenance-reminder", 1, "24h", "skipped"),
            ("maintenance-reminder", 1, "1h", "sent"),
            ("maintenance-reminder", 2, "1h", "sent"),
            ("feedback", 1, "", "sent"),
        ]
        assert all(a.created_at.endswith("Z") for a in found)
        assert found[1].key == f"tick:maintenance-reminder:{INCIDENT_ID}:1:1h"
        assert [a.kind for a in journal.actions("2026-11-23-login")] == ["feedback"]
        assert journal.actions("no-such-incident") == []

    def test_handles_racing_to_record_one_moment_record_it_once(
        self, open_handle: MakeJournal
    ) -> None:
        handles = [open_handle() for _ in range(4)]
        wins: list[bool] = []
        start = threading.Barrier(len(handles))

        def record(handle: Journal) -> None:
            start.wait()
            wins.append(handle.record_action(reminder("start", kind="maintenance-started")))

        threads = [threading.Thread(target=record, args=(h,)) for h in handles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins) == [False, False, False, True]
        assert len(handles[0].actions()) == 1
