"""Contract: claiming and finishing deliveries, one by one or in batches, and runs racing."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from notify.errors import JournalError
from notify.journal import Journal, PlannedDelivery, owner_alive, run_owner
from notify.secrets import register
from tests.journal.contract.helpers import (
    INCIDENT_ID,
    NO_SUCH_PID,
    SPAWN,
    MakeJournal,
    UsesJournal,
    claim_and_die,
    delivery,
    post,
    run_processes,
    send_everything,
    slack_and_email,
)

# Runs on other hosts: a journal can't check them, so they count as alive and keep their claims.
OTHER_HOST = "runner-{}.example:{}:1"
DEAD = f"{socket.gethostname()}:{NO_SUCH_PID}:12345"


class ClaimsContract(UsesJournal):
    def test_claim_then_finish(self, journal: Journal) -> None:
        _, (slack, email) = post(journal, "k1")
        me = run_owner()

        assert journal.claim(slack.id, me)
        in_flight = delivery(journal, slack.id)
        assert (in_flight.status, in_flight.owner, in_flight.attempts) == ("unknown", me, 0)

        journal.finish(
            slack.id,
            status="sent",
            attempts=2,
            provider_message_id="1732270000.000100",
            thread_data={"channel": "C0123456789", "ts": "1732270000.000100"},
        )
        done = delivery(journal, slack.id)
        assert (done.status, done.owner, done.attempts) == ("sent", None, 2)
        assert done.provider_message_id == "1732270000.000100"
        assert done.thread_data == {"channel": "C0123456789", "ts": "1732270000.000100"}
        assert done.updated_at >= in_flight.updated_at
        assert not journal.claim(slack.id, me), "a sent delivery is never claimed again"

        journal.finish(email.id, status="failed", attempts=4, error="550 mailbox unavailable")
        assert delivery(journal, email.id).error == "550 mailbox unavailable"
        assert journal.claim(email.id, me), "failed deliveries are retried"

    def test_finish_refuses_unknown_rows_and_statuses(self, journal: Journal) -> None:
        _, (slack, _) = post(journal, "k1")
        with pytest.raises(JournalError):
            journal.finish(999_999, status="sent", attempts=1)
        with pytest.raises(ValueError):
            journal.finish(slack.id, status="delivered", attempts=1)
        assert delivery(journal, slack.id).status == "pending"

    def test_skipped_and_live_owned_deliveries_are_not_claimed(self, journal: Journal) -> None:
        planned = [
            PlannedDelivery("status-email", "email", "a@acme.example"),
            PlannedDelivery(
                "status-email", "email", "gone@acme.example", status="skipped", error="opt-out"
            ),
        ]
        _, (live, skipped) = post(journal, "k1", deliveries=planned)

        assert not journal.claim(skipped.id, run_owner())
        assert journal.claim(live.id, run_owner())
        assert journal.claim(live.id, run_owner()), "the owner may claim its own row again"
        assert not journal.claim(live.id, f"{socket.gethostname()}:1:other-run")
        assert not journal.claim(live.id, OTHER_HOST.format(1, 1))
        assert delivery(journal, live.id).owner == run_owner()
        assert not journal.claim(999_999, run_owner())

    def test_a_delivery_left_in_flight_by_a_dead_run_can_be_claimed(
        self, journal: Journal, make_journal: MakeJournal
    ) -> None:
        _, (slack, email) = post(journal, "k1")
        assert journal.claim(slack.id, DEAD)

        assert journal.claim(slack.id, run_owner())
        assert delivery(journal, slack.id).owner == run_owner()

        # A real run that claimed a delivery and died before finishing it.
        owners = SPAWN.Queue()
        child = SPAWN.Process(target=claim_and_die, args=(make_journal, email.id, owners))
        child.start()
        child_owner = owners.get(timeout=120)
        child.join(120)
        assert child.exitcode == 0
        assert delivery(journal, email.id).status == "unknown"
        assert not owner_alive(child_owner)
        assert journal.claim(email.id, run_owner())

    def test_threads_sharing_a_journal_claim_a_delivery_once(self, journal: Journal) -> None:
        _, (slack, _) = post(journal, "k1")
        won: list[str] = []

        def claim(n: int) -> None:
            owner = OTHER_HOST.format(n, n)
            if journal.claim(slack.id, owner):
                won.append(owner)

        workers = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert len(won) == 1

    def test_owners_on_their_own_handles_race_for_one_claim(
        self, journal: Journal, open_handle: MakeJournal
    ) -> None:
        _, (slack, _) = post(journal, "k1")
        handles = [open_handle() for _ in range(4)]
        start = threading.Barrier(len(handles))
        won: list[str] = []

        def claim(n: int) -> None:
            owner = OTHER_HOST.format(n, n)
            start.wait()
            if handles[n].claim(slack.id, owner):
                won.append(owner)

        workers = [threading.Thread(target=claim, args=(n,)) for n in range(len(handles))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert len(won) == 1
        assert delivery(journal, slack.id).owner == won[0]

    def test_two_runs_with_one_key_send_each_delivery_exactly_once(
        self, make_journal: MakeJournal, tmp_path: Path
    ) -> None:
        sent_log = tmp_path / "sent.log"
        sent_log.touch()
        run_processes(send_everything, make_journal, str(sent_log))

        journal = make_journal()
        updates = journal.updates(INCIDENT_ID)
        rows = journal.deliveries(update_id=updates[0].id)
        sent = sent_log.read_text().split()
        assert len(updates) == 1
        assert len(rows) == 22
        assert sorted(sent, key=int) == [str(d.id) for d in rows]
        assert {d.status for d in rows} == {"sent"}
        journal.close()

    # Batches: one request carries many rows (SendGrid: up to 1,000).

    def test_claim_many_claims_only_what_may_be_sent(self, journal: Journal) -> None:
        planned = [
            *slack_and_email("a@acme.example", "b@acme.example", "c@acme.example"),
            PlannedDelivery(
                "status-email", "email", "gone@acme.example", status="skipped", error="opt-out"
            ),
        ]
        _, (pending, failed, sent, held, dead, skipped) = post(journal, "k1", deliveries=planned)
        me = run_owner()
        journal.finish(failed.id, status="failed", attempts=1, error="timeout")
        journal.finish(sent.id, status="sent", attempts=1)
        assert journal.claim(held.id, OTHER_HOST.format(1, 1))
        assert journal.claim(dead.id, DEAD)

        ids = [pending.id, failed.id, sent.id, held.id, dead.id, skipped.id, 999_999]
        claimed = journal.claim_many(ids, me)

        assert set(claimed) >= {pending.id, failed.id}
        assert not set(claimed) & {sent.id, held.id, skipped.id, 999_999}
        # A dead run's row is taken in the batch, or left for `claim`, which takes it.
        assert dead.id in claimed or journal.claim(dead.id, me)
        for row in (pending, failed, dead):
            assert (delivery(journal, row.id).status, delivery(journal, row.id).owner) == (
                "unknown",
                me,
            )
        assert delivery(journal, held.id).owner == OTHER_HOST.format(1, 1)
        assert journal.claim_many([], me) == []

    def test_finish_many_records_each_outcome(self, journal: Journal) -> None:
        register("SG.secret-api-key")
        _, rows = post(journal, "k1", deliveries=slack_and_email("a@acme.example"))
        me = run_owner()
        assert journal.claim_many([r.id for r in rows], me) == [r.id for r in rows]

        journal.finish_many(
            [
                (rows[0].id, {"status": "sent", "attempts": 1, "provider_message_id": "m-0"}),
                (
                    rows[1].id,
                    {"status": "sent", "attempts": 2, "thread_data": {"message_id": "<x@acme>"}},
                ),
                (rows[2].id, {"status": "failed", "attempts": 3, "error": "401 SG.secret-api-key"}),
            ]
        )
        done = [delivery(journal, r.id) for r in rows]
        assert [(d.status, d.attempts, d.owner) for d in done] == [
            ("sent", 1, None),
            ("sent", 2, None),
            ("failed", 3, None),
        ]
        assert done[0].provider_message_id == "m-0"
        assert done[1].thread_data == {"message_id": "<x@acme>"}
        assert done[2].error == "401 ***"
        journal.finish_many([])

        with pytest.raises(JournalError):
            journal.finish_many([(999_999, {"status": "sent", "attempts": 1})])

    def test_runs_claiming_one_batch_at_once_share_it_without_overlap(
        self, journal: Journal, open_handle: MakeJournal
    ) -> None:
        audience = [f"user{n}@acme.example" for n in range(60)]
        _, rows = post(journal, "k1", deliveries=slack_and_email(*audience))
        ids = [r.id for r in rows]
        handles = [open_handle() for _ in range(3)]
        start = threading.Barrier(len(handles))
        claimed: dict[int, list[int]] = {}

        def claim(n: int) -> None:
            start.wait()
            claimed[n] = handles[n].claim_many(ids, OTHER_HOST.format(n, n))

        workers = [threading.Thread(target=claim, args=(n,)) for n in range(len(handles))]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        everything = [i for batch in claimed.values() for i in batch]
        assert sorted(everything) == sorted(ids), "each row claimed by exactly one run"
        for n, batch in claimed.items():
            assert {delivery(journal, i).owner for i in batch} <= {OTHER_HOST.format(n, n)}
