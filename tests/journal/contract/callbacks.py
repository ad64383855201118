"""Contract: call-back requests (the support line) recorded once per (incident, channel, caller)."""

from __future__ import annotations

import threading
from dataclasses import replace

from notify.journal import Journal
from notify.journal.base import CallbackRequest
from tests.journal.contract.helpers import INCIDENT_ID, MakeJournal, UsesJournal

LOGIN_ID = "2026-11-23-login"


def pressed_1(
    caller: str = "+14155550100",
    call_sid: str = "CA0000000000000000000000000000a001",
    requested_at: str = "2026-11-22T14:03:00Z",
    **changes: str,
) -> CallbackRequest:
    fields = {
        "incident_id": INCIDENT_ID,
        "channel": "support-line",
        "caller": caller,
        "call_sid": call_sid,
        "requested_at": requested_at,
    }
    fields.update(changes)
    return CallbackRequest(**fields)


class CallbacksContract(UsesJournal):
    def test_a_caller_is_recorded_once_and_the_first_call_stays(self, journal: Journal) -> None:
        assert journal.callbacks() == []
        assert journal.record_callback(pressed_1())
        called_again = pressed_1(
            call_sid="CA0000000000000000000000000000a002", requested_at="2026-11-22T14:20:00Z"
        )
        assert not journal.record_callback(called_again), "that caller is recorded already"

        (stored,) = journal.callbacks(INCIDENT_ID)
        assert (stored.caller, stored.call_sid, stored.requested_at) == (
            "+14155550100",
            "CA0000000000000000000000000000a001",
            "2026-11-22T14:03:00Z",
        )
        assert stored.channel == "support-line"
        assert stored.created_at.endswith("Z") and "T" in stored.created_at
        assert not journal.is_empty()

    def test_other_incidents_and_other_lines_are_separate_requests(self, journal: Journal) -> None:
        assert journal.record_callback(pressed_1())
        assert journal.record_callback(pressed_1(incident_id=LOGIN_ID)), "another incident"
        assert journal.record_callback(pressed_1(channel="support-line-eu")), "another line"

        assert [r.channel for r in journal.callbacks(INCIDENT_ID)] == [
            "support-line",
            "support-line-eu",
        ]
        assert [r.incident_id for r in journal.callbacks(LOGIN_ID)] == [LOGIN_ID]
        assert len(journal.callbacks()) == 3
        assert journal.callbacks("no-such-incident") == []

    def test_requests_come_oldest_call_first_whatever_order_they_were_recorded_in(
        self, journal: Journal
    ) -> None:
        # Calls are collected in pages, newest first, as Twilio lists them.
        journal.record_callback(pressed_1("+14155550102", "CA2", "2026-11-22T14:30:00Z"))
        journal.record_callback(pressed_1("+14155550100", "CA0", "2026-11-22T14:03:00Z"))
        journal.record_callback(pressed_1("+447700900123", "CA1", "2026-11-22T14:10:00Z"))
        journal.record_callback(pressed_1("+14155550101", "CA3", "2026-11-22T14:10:00Z"))
        stamped = pressed_1("+14155550103", "CA4", "2026-11-22T13:59:00Z")
        journal.record_callback(replace(stamped, created_at="2026-11-22T14:31:00Z"))

        found = journal.callbacks(INCIDENT_ID)
        assert [r.call_sid for r in found] == ["CA4", "CA0", "CA1", "CA3", "CA2"]
        assert found[0].created_at == "2026-11-22T14:31:00Z", "a given created_at is kept"
        assert found[1].caller == "+14155550100", "an E.164 number is stored as Twilio gave it"

    def test_runs_racing_to_record_one_caller_record_it_once(
        self, open_handle: MakeJournal
    ) -> None:
        handles = [open_handle() for _ in range(4)]
        wins: dict[int, bool] = {}
        start = threading.Barrier(len(handles))

        def record(index: int, handle: Journal) -> None:
            start.wait()
            wins[index] = handle.record_callback(pressed_1(call_sid=f"CA-run-{index}"))

        threads = [threading.Thread(target=record, args=(i, h)) for i, h in enumerate(handles)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(wins.values()) == [False, False, False, True]
        (winner,) = [index for index, won in wins.items() if won]
        (stored,) = handles[0].callbacks()
        assert stored.call_sid == f"CA-run-{winner}", "the run told it recorded is the one kept"
