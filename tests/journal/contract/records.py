"""Contract: incidents, updates (one per --key), planned deliveries, queries and threads."""

from __future__ import annotations

import pytest

from notify.errors import JournalError
from notify.journal import Journal, PlannedDelivery
from notify.model import ThreadRef
from tests.journal.contract.helpers import (
    INCIDENT_ID,
    UsesJournal,
    delivery,
    incident,
    payments,
    post,
    slack_and_email,
)


class RecordsContract(UsesJournal):
    # Incidents and updates

    def test_updates_are_numbered_per_incident(self, journal: Journal) -> None:
        first, rows = post(journal, "k1")
        second, _ = post(journal, "k2", "identified")
        login = payments(id="2026-11-23-login", title="Login slow")
        other, _ = post(journal, "k3", incident=login)

        assert (first.number, second.number, other.number) == (1, 2, 1)
        assert [u.key for u in journal.updates(INCIDENT_ID)] == ["k1", "k2"]
        assert [(d.channel, d.status, d.attempts) for d in rows] == [
            ("ops-slack", "pending", 0),
            ("status-email", "pending", 0),
        ]
        assert journal.find_update("k2") == second
        assert journal.find_update("nope") is None
        assert first.created_at.endswith("Z")

    def test_an_update_keeps_what_retry_needs_to_render_it_again(self, journal: Journal) -> None:
        context = {"vars": {"eta": "18:00", "regions": ["eu", "us"]}, "locale": "de"}
        update, rows = post(
            journal,
            "k1",
            "identified",
            message="Fix deployed to 10% of hosts.",
            next_update_at="2026-11-22T18:30:00Z",
            context=context,
        )

        (stored,) = journal.updates(INCIDENT_ID)
        assert stored == update
        assert (stored.template, stored.status, stored.message) == (
            "identified",
            "identified",
            "Fix deployed to 10% of hosts.",
        )
        assert stored.next_update_at == "2026-11-22T18:30:00Z"
        assert stored.context == context
        assert {(d.update_id, d.incident_id) for d in rows} == {(update.id, INCIDENT_ID)}
        assert all(d.created_at.endswith("Z") and d.updated_at for d in rows)
        saved = incident(journal)
        assert (saved.impact, saved.components, saved.resolved_at) == ("major", ["api"], None)
        assert saved.started_at.endswith("Z") and saved.updated_at.endswith("Z")

    def test_the_same_key_returns_the_same_update_and_adds_only_missing_rows(
        self, journal: Journal
    ) -> None:
        first, rows = post(journal, "payments-1", message="Card payments fail.")
        again, rows_again = post(
            journal,
            "payments-1",
            "resolved",
            message="Changed my mind",
            deliveries=slack_and_email("support@acme.example"),
        )

        assert again == first
        assert again.message == "Card payments fail."
        assert [d.id for d in rows_again[:2]] == [d.id for d in rows]
        assert rows_again[2].recipient == "support@acme.example"
        assert len(journal.updates(INCIDENT_ID)) == 1
        assert incident(journal).status == "investigating"

    def test_an_update_changes_the_incident_but_not_when_it_started(self, journal: Journal) -> None:
        post(journal, "k1")
        started = incident(journal).started_at
        post(journal, "k2", incident=payments(title="Payments API down", status="identified"))

        now = incident(journal)
        assert (now.title, now.status, now.started_at) == (
            "Payments API down",
            "identified",
            started,
        )
        assert now.components == ["api"]
        assert journal.get_incident("2026-01-01-nothing") is None

    def test_resolved_incidents_are_listed_only_on_request(self, journal: Journal) -> None:
        journal.save_incident(payments(started_at="2026-11-22T10:00:00Z"))
        login = payments(id="login", title="Login", started_at="2026-11-22T12:00:00Z")
        journal.save_incident(login)
        journal.save_incident(
            payments(status="resolved", resolved_at="2026-11-22T13:00:00Z", started_at="")
        )

        assert [i.id for i in journal.list_incidents()] == ["login"]
        assert [i.id for i in journal.list_incidents(include_resolved=True)] == [
            "login",
            INCIDENT_ID,
        ]
        resolved = incident(journal)
        assert (resolved.status, resolved.resolved_at) == ("resolved", "2026-11-22T13:00:00Z")
        assert resolved.started_at == "2026-11-22T10:00:00Z", "an incident starts once"

    # Planned deliveries

    def test_a_delivery_is_unique_per_update_channel_and_recipient(self, journal: Journal) -> None:
        both = [
            PlannedDelivery("status-email", "email", "oncall@acme.example"),
            PlannedDelivery("backup-email", "email", "oncall@acme.example"),
        ]
        update, (primary, backup) = post(journal, "k1", deliveries=both)
        later, (later_primary, _) = post(journal, "k2", deliveries=both)
        assert primary.id != backup.id, "one recipient on two channels is two rows"
        assert later_primary.id != primary.id, "and on two updates too"

        fallback = PlannedDelivery("ops-sms", "sms", "+14155550100", fallback_for=primary.id)
        (added,) = journal.add_deliveries(update.id, [fallback])
        (again, same) = journal.add_deliveries(
            update.id, [fallback, PlannedDelivery("status-email", "email", "oncall@acme.example")]
        )
        assert (again.id, same.id) == (added.id, primary.id)
        assert (added.fallback_for, added.status, added.type) == (primary.id, "pending", "sms")
        assert delivery(journal, added.id) == added
        assert len(journal.deliveries(update_id=update.id)) == 3
        assert len(journal.deliveries(update_id=later.id)) == 2

        with pytest.raises(JournalError):
            journal.add_deliveries(999_999, [fallback])

    def test_a_whole_audience_is_planned_once_in_order(self, journal: Journal) -> None:
        audience = [f"user{n}@acme.example" for n in range(250)]
        planned = [PlannedDelivery("status-email", "email", a) for a in reversed(audience)]
        planned.append(
            PlannedDelivery(
                "status-email", "email", "gone@acme.example", status="skipped", error="opt-out"
            )
        )
        update, rows = post(journal, "k1", deliveries=planned)
        _, rows_again = post(journal, "k1", deliveries=planned[::-1])

        # add_update returns every row of the update, in the order they were first planned,
        # exactly as the journal reads them afterwards (a new update's rows are not re-read).
        assert [d.recipient for d in rows] == [p.recipient for p in planned]
        assert rows == sorted(journal.deliveries(update_id=update.id), key=lambda d: d.id)
        assert len({d.id for d in rows}) == len(planned)
        assert [d.id for d in rows_again] == [d.id for d in rows]
        assert (rows[-1].status, rows[-1].error) == ("skipped", "opt-out")

        # add_deliveries returns the rows asked for, in the order asked, new or not.
        sms = [PlannedDelivery("customers-sms", "sms", f"+1415555{n:04}") for n in range(150)]
        asked = [*sms[::-1], planned[7], *sms[:3]]
        added = journal.add_deliveries(update.id, asked)
        assert [(d.channel, d.recipient) for d in added] == [
            (p.channel, p.recipient) for p in asked
        ]
        assert added[150].id == rows[7].id
        assert [d.id for d in added[151:]] == [d.id for d in added[149:146:-1]]
        assert len(journal.deliveries(update_id=update.id)) == len(planned) + 150

    def test_a_new_update_returns_its_rows_as_the_journal_reads_them(
        self, journal: Journal
    ) -> None:
        planned = [
            PlannedDelivery("ops-slack", "slack", "C0123456789"),
            PlannedDelivery("status-email", "email", "oncall@acme.example"),
            PlannedDelivery("status-email", "email", "oncall@acme.example"),  # twice: one row
            PlannedDelivery(
                "status-email", "email", "x@acme.example", status="skipped", error="opt-out"
            ),
        ]
        update, rows = post(journal, "k1", deliveries=planned)
        read = sorted(journal.deliveries(update_id=update.id), key=lambda d: d.id)
        assert rows == read
        assert [d.recipient for d in rows] == [
            "C0123456789",
            "oncall@acme.example",
            "x@acme.example",
        ]
        assert (rows[-1].status, rows[-1].error) == ("skipped", "opt-out")

        _, fresh = post(journal, "k2", deliveries=planned[:2])
        assert fresh == sorted(journal.deliveries(update_id=fresh[0].update_id), key=lambda d: d.id)
        assert (fresh[0].status, fresh[0].attempts, fresh[0].owner, fresh[0].thread_data) == (
            "pending",
            0,
            None,
            {},
        )

    # Reading deliveries back

    def test_deliveries_filter_and_order(self, journal: Journal) -> None:
        first, (a, b) = post(journal, "k1")
        _, (c, d) = post(journal, "k2", "identified")
        journal.finish(b.id, status="failed", attempts=1, error="timeout")
        journal.finish(c.id, status="sent", attempts=1)

        assert [x.id for x in journal.deliveries(update_id=first.id)] == [a.id, b.id]
        failed_or_pending = journal.deliveries(statuses=["failed", "pending"])
        assert [x.id for x in failed_or_pending] == [a.id, b.id, d.id]
        assert [x.id for x in journal.deliveries(incident_id="other")] == []
        assert journal.deliveries(statuses=[]) == []
        assert journal.deliveries(limit=0) == []
        newest = journal.deliveries(newest_first=True, limit=2)
        assert len(newest) == 2
        assert newest[0].updated_at >= newest[1].updated_at
        assert [x.id for x in journal.deliveries(incident_id=INCIDENT_ID, limit=3)] == [
            a.id,
            b.id,
            c.id,
        ]
        assert [x.id for x in journal.deliveries()] == [a.id, b.id, c.id, d.id]
        assert journal.get_delivery(999_999) is None

    def test_thread_collects_earlier_sent_deliveries_oldest_first(self, journal: Journal) -> None:
        assert journal.thread(INCIDENT_ID, "ops-slack", "C0123456789") == ThreadRef()

        timestamps = {"k1": "100.1", "k2": None, "k3": "300.3"}  # k2's Slack post failed
        for key, ts in timestamps.items():
            _, (slack, email) = post(journal, key)
            if ts is None:
                journal.finish(slack.id, status="failed", attempts=4, error="503")
            else:
                journal.finish(
                    slack.id,
                    status="sent",
                    attempts=1,
                    provider_message_id=ts,
                    thread_data={"ts": ts},
                )
            journal.finish(email.id, status="sent", attempts=1, provider_message_id=f"<{key}@acme>")

        thread = journal.thread(INCIDENT_ID, "ops-slack", "C0123456789")
        assert thread.root == {"ts": "100.1", "provider_message_id": "100.1"}
        assert thread.previous == {"ts": "300.3", "provider_message_id": "300.3"}
        assert [h["ts"] for h in thread.history] == ["100.1", "300.3"]

        email = journal.thread(INCIDENT_ID, "status-email", "oncall@acme.example")
        assert [h["provider_message_id"] for h in email.history] == [
            "<k1@acme>",
            "<k2@acme>",
            "<k3@acme>",
        ]
        assert journal.thread("2026-11-23-login", "ops-slack", "C0123456789").root is None
