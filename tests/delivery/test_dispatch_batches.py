"""Channels that carry many deliveries per request (SendGrid): the dispatcher batches their jobs
and still journals, retries and rescues each delivery on its own.

Same virtual-time loop and fake journal as test_dispatch.py: waits take virtual seconds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import Counter, deque
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from notify import secrets
from notify.channels.base import (
    BatchItem,
    Channel,
    ChannelSpec,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.delivery.dispatch import Dispatcher, Job, Outcome
from tests.delivery.test_dispatch import (
    OTHER,
    REJECTED,
    SLEPT,
    UNAVAILABLE,
    FakeJournal,
    ScriptedChannel,
    channel,
    deliver,
    dispatcher,
    fallback_to,
    jobs,
    ok,
    other_run_finishes,
    run,
    too_many,
)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    SLEPT.clear()
    secrets.clear()


class BatchChannel(Channel):
    """Takes `size` deliveries a request. Each request's answer comes from `requests_script`
    (one Receipt for the whole batch, or an exception), else per recipient from `script`."""

    spec = ChannelSpec(type="fake", fields=(), part="body", format="plain", http=False)

    def __init__(
        self,
        name: str,
        size: int,
        script: dict[str, Sequence[Receipt]] | None = None,
        *,
        requests_script: Sequence[Any] = (),
        latency: float = 0.01,
    ) -> None:
        super().__init__(name, {})
        self.size = size
        self.script = {to: deque(steps) for to, steps in (script or {}).items()}
        self.requests_script = deque(requests_script)
        self.latency = latency
        self.requests: list[tuple[list[str], int, float]] = []  # recipients, attempt, when
        self.keys: list[list[str]] = []  # each request's delivery keys

    def batch_size(self) -> int:
        return self.size

    def measure(self, message: Message) -> None:
        return None

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        raise AssertionError("a batching channel is sent batches")

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        now = asyncio.get_running_loop().time()
        self.requests.append(([i.recipient.address for i in items], ctx.attempt, now))
        self.keys.append([i.delivery_key for i in items])
        await asyncio.sleep(self.latency)
        if self.requests_script:
            step = self.requests_script.popleft()
            if isinstance(step, BaseException):
                raise step
            if isinstance(step, list):
                return step
            return [step] * len(items)
        receipts = []
        for item in items:
            steps = self.script.get(item.recipient.address)
            answer = ok(f"{self.name}/{item.recipient.address}")
            receipts.append(steps.popleft() if steps else answer)
        return receipts

    def sizes(self) -> list[int]:
        return [len(recipients) for recipients, _, _ in self.requests]


def keyed_jobs(journal: FakeJournal, config: Any, *recipients: str) -> list[Job]:
    """Jobs whose delivery keys differ, as the planner makes them."""
    return [
        dataclasses.replace(
            job, ctx=dataclasses.replace(job.ctx, delivery_key=f"dk-{job.recipient.address}")
        )
        for job in jobs(journal, config, *recipients)
    ]


def addresses(count: int) -> list[str]:
    return [f"customer{i}@acme.example" for i in range(count)]


# -- batching -----------------------------------------------------------------------------------


def test_2500_deliveries_make_three_requests_and_one_journal_row_each() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 1000)
    people = addresses(2500)
    started: list[int] = []

    outcomes = deliver(
        journal,
        keyed_jobs(journal, channel(mail), *people),
        on_start=lambda job: started.append(job.delivery_id),
    )

    assert sorted(mail.sizes()) == [500, 1000, 1000]
    assert Counter(to for recipients, _, _ in mail.requests for to in recipients) == Counter(people)
    assert [o.recipient for o in outcomes] == people  # one outcome per delivery, in order
    assert {(o.status, o.attempts) for o in outcomes} == {("sent", 1)}
    assert outcomes[7].provider_message_id == "customers-email/customer7@acme.example"
    assert sorted(started) == list(range(1, 2501))
    assert all(journal.history[i] == ["pending", "unknown", "sent"] for i in journal.rows)
    assert journal.rows[8].thread_data == {"ts": "customers-email/customer7@acme.example"}
    assert mail.keys[0][:2] == ["dk-customer0@acme.example", "dk-customer1@acme.example"]


def test_a_batch_spends_one_rate_limit_slot() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 100)

    deliver(journal, jobs(journal, channel(mail, rate_limit="2/s", concurrency=4), *addresses(500)))

    times = sorted(when for _, _, when in mail.requests)
    assert mail.sizes() == [100] * 5
    assert all(later - earlier >= 0.5 - 1e-9 for earlier, later in itertools.pairwise(times))
    assert times[-1] < 2.5  # five requests at 2/s, not 500


def test_only_the_failed_retryable_items_are_sent_again() -> None:
    journal = FakeJournal()
    a, b, c = addresses(3)
    mail = BatchChannel("customers-email", 10, {b: [UNAVAILABLE], c: [REJECTED]})

    outcomes = deliver(journal, jobs(journal, channel(mail), a, b, c))

    assert [(o.status, o.attempts) for o in outcomes] == [("sent", 1), ("sent", 2), ("failed", 1)]
    assert outcomes[2].error == "HTTP 400: invalid number"
    assert [(recipients, attempt) for recipients, attempt, _ in mail.requests] == [
        ([a, b, c], 1),
        ([b], 2),
    ]
    assert SLEPT == [0.5]
    assert journal.history[2] == ["pending", "unknown", "sent"]
    assert journal.rows[2].attempts == 2


def test_a_429_for_the_batch_waits_retry_after_and_holds_the_channel() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 2, requests_script=[too_many(7.0)], latency=0.05)

    outcomes = deliver(journal, jobs(journal, channel(mail, concurrency=1), *addresses(4)))

    assert [o.status for o in outcomes] == ["sent"] * 4
    assert [o.attempts for o in outcomes] == [2, 2, 1, 1]
    (_, _, first), (_, attempt, again), (_, _, next_batch) = mail.requests
    assert attempt == 2 and again >= first + 0.05 + 7.0
    assert next_batch >= again


def test_batch_retries_run_out_for_each_item() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 5, requests_script=[UNAVAILABLE] * 10)

    outcomes = deliver(journal, jobs(journal, channel(mail, retries=2), *addresses(2)))

    assert {(o.status, o.attempts) for o in outcomes} == {("failed", 3)}
    assert outcomes[0].error == "HTTP 503: unavailable (gave up after 3 attempts)"
    assert mail.sizes() == [2, 2, 2]


def test_network_trouble_fails_the_whole_batch_retryably() -> None:
    journal = FakeJournal()
    mail = BatchChannel(
        "customers-email", 5, requests_script=[httpx.ConnectError("Connection refused")]
    )

    outcomes = deliver(journal, jobs(journal, channel(mail), *addresses(3)))

    assert {(o.status, o.attempts) for o in outcomes} == {("sent", 2)}


def test_an_adapter_answering_the_wrong_number_of_receipts_is_a_bug() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 5, requests_script=[[ok()]])

    outcomes = deliver(journal, jobs(journal, channel(mail), *addresses(3)))

    assert {(o.status, o.attempts) for o in outcomes} == {("failed", 1)}
    assert outcomes[0].error == (
        "internal error in fake adapter: send_batch returned 1 receipts for 3 deliveries"
    )


def test_what_went_out_before_is_skipped_and_costs_no_request() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 10)
    a, b, c = addresses(3)
    work = jobs(journal, channel(mail), a, b, c)
    journal.set(work[0].delivery_id, status="sent", provider_message_id="m-a", attempts=1)
    journal.set(work[1].delivery_id, status="skipped", error="suppressed (opt-out list)")

    outcomes = deliver(journal, work)

    assert [(o.status, o.error) for o in outcomes] == [
        ("skipped", "already sent"),
        ("skipped", "suppressed (opt-out list)"),
        ("sent", None),
    ]
    assert [recipients for recipients, _, _ in mail.requests] == [[c]]

    again = deliver(journal, work)
    assert {o.status for o in again} == {"skipped"}
    assert len(mail.requests) == 1


def test_each_failed_item_goes_to_the_fallback() -> None:
    journal = FakeJournal()
    a, b = addresses(2)
    mail = BatchChannel("customers-email", 10, {b: [REJECTED]})
    sms = ScriptedChannel("customers-sms")
    factory = fallback_to(journal, channel(sms), "+14155550100")

    outcomes = deliver(journal, jobs(journal, channel(mail), a, b), fallback=factory)

    sent, failed, rescue = outcomes
    assert sent.status == "sent" and sent.rescued_by is None
    assert (failed.status, failed.rescued_by) == ("failed", rescue.delivery_id)
    assert (rescue.channel, rescue.status, rescue.fallback_for) == (
        "customers-sms",
        "sent",
        failed.delivery_id,
    )
    assert factory.asked == [(failed.delivery_id, "HTTP 400: invalid number")]


def test_a_row_another_run_holds_is_waited_for_after_the_batch() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 10)
    a, b, c = addresses(3)
    work = jobs(journal, channel(mail), a, b, c)
    journal.set(work[1].delivery_id, status="unknown", owner=OTHER)

    async def go() -> list[Outcome]:
        other_run_finishes(journal, work[1].delivery_id, 3.0, status="failed", error="HTTP 503")
        return await dispatcher(journal).run(work)

    outcomes = run(go())

    assert [o.status for o in outcomes] == ["sent"] * 3
    (first, _, _), (late, _, when) = mail.requests
    assert first == [a, c] and late == [b] and when >= 3.0


def test_ctrl_c_leaves_the_batch_in_flight_unknown_and_the_rest_pending() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 2, latency=60.0)
    done: list[Outcome] = []
    work = jobs(journal, channel(mail, concurrency=1), *addresses(5))

    async def interrupted() -> None:
        running = asyncio.create_task(dispatcher(journal, on_done=done.append).run(work))
        await asyncio.sleep(1.0)
        running.cancel()
        await running

    with pytest.raises(asyncio.CancelledError):
        run(interrupted())

    assert [journal.status(job.delivery_id) for job in work] == [
        "unknown",
        "unknown",
        "pending",
        "pending",
        "pending",
    ]
    assert done == []
    assert all("failed" not in history for history in journal.history.values())


def test_channels_without_batches_are_untouched() -> None:
    journal = FakeJournal()
    mail = BatchChannel("customers-email", 3)
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(mail), *addresses(4)) + jobs(journal, channel(sms), "+1", "+2")

    outcomes = deliver(journal, work)

    assert {o.status for o in outcomes} == {"sent"}
    assert sorted(mail.sizes()) == [1, 3]
    assert [to for to, _, _ in sms.calls] == ["+1", "+2"]


# -- the journal's batch writes -----------------------------------------------------------------


class BatchJournal(FakeJournal):
    """A journal with claim_many / finish_many, as notify.journal's SQLite one has."""

    def __init__(self) -> None:
        super().__init__()
        self.batch_calls: list[tuple[str, int]] = []

    def claim_many(self, delivery_ids: list[int], owner: str) -> list[int]:
        self.batch_calls.append(("claim", len(delivery_ids)))
        # Like SQLite's: rows another owner holds, live or dead, are left to claim().
        mine = [i for i in delivery_ids if self.rows[i].owner in (None, owner)]
        return [i for i in mine if self.claim(i, owner)]

    def finish_many(self, outcomes: list[tuple[int, dict[str, Any]]]) -> None:
        self.batch_calls.append(("finish", len(outcomes)))
        for delivery_id, fields in outcomes:
            self.finish(delivery_id, **fields)


def test_a_batch_is_claimed_and_journaled_in_one_write_each() -> None:
    journal = BatchJournal()
    a, b, c = addresses(3)
    mail = BatchChannel("customers-email", 10, {b: [UNAVAILABLE]})

    outcomes = deliver(journal, jobs(journal, channel(mail), a, b, c))

    assert [(o.status, o.attempts) for o in outcomes] == [("sent", 1), ("sent", 2), ("sent", 1)]
    assert journal.batch_calls == [("claim", 3), ("finish", 2), ("finish", 1)]
    assert all(journal.history[i] == ["pending", "unknown", "sent"] for i in journal.rows)


def test_rows_a_dead_run_left_in_flight_are_taken_over_and_sent_together() -> None:
    journal = BatchJournal()
    mail = BatchChannel("customers-email", 10)
    work = jobs(journal, channel(mail), *addresses(4))
    for job in work[:2]:
        journal.set(job.delivery_id, status="unknown", owner="host:300:crashed")

    outcomes = deliver(journal, work)

    assert [o.status for o in outcomes] == ["sent"] * 4
    assert [recipients for recipients, _, _ in mail.requests] == [
        addresses(4)[2:],
        addresses(4)[:2],
    ]


def test_with_the_sqlite_journal(tmp_path: Any) -> None:
    from notify.journal import open_journal, run_owner
    from notify.journal.base import Incident, PlannedDelivery

    journal = open_journal(tmp_path / "journal.db")
    incident = Incident("2026-11-22-payments-api", "Payments API errors", "investigating")
    people = addresses(25)
    _, rows = journal.add_update(
        incident, key="k1", template="investigating", status="investigating",
        message="Looking into it", next_update_at=None, context={},
        deliveries=[PlannedDelivery("customers-email", "fake", to) for to in people],
    )  # fmt: skip
    mail = BatchChannel("customers-email", 10, {people[3]: [REJECTED]})
    config = channel(mail)
    ctx = DeliveryContext(http=None, store=None, incident={}, update={}, org={}, delivery_key="k")  # type: ignore[arg-type]
    work = [
        Job(row.id, config, Message(text="down"), Recipient(row.recipient), ThreadRef(), ctx)
        for row in rows
    ]

    async def go() -> list[Outcome]:
        return await Dispatcher(journal, owner=run_owner()).run(work)

    try:
        first = run(go())
        stored = [journal.get_delivery(row.id) for row in rows]
        again = run(go())
    finally:
        journal.close()

    assert Counter(o.status for o in first) == Counter({"sent": 24, "failed": 1})
    # The first run: 25 deliveries in requests of 10, 10 and 5 (workers may finish in any
    # order); the second run: one request carrying the one failed delivery.
    assert sorted(mail.sizes()[:3]) == [5, 10, 10]
    assert mail.sizes()[3:] == [1]
    assert [d.status for d in stored if d] == ["sent"] * 3 + ["failed"] + ["sent"] * 21
    assert stored[0] is not None and stored[0].provider_message_id == f"customers-email/{people[0]}"
    assert Counter(o.status for o in again) == Counter({"skipped": 24, "sent": 1})
    assert mail.requests[-1][0] == [people[3]]
