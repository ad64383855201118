"""The fan-out as a user sees it: what went out, how often it was tried, what the journal says.

Runs on an event loop whose clock jumps to the next timer, so backoffs, Retry-After waits and
rate limits take virtual seconds: the tests are instant and their timings exact.
"""

from __future__ import annotations

import asyncio
import dataclasses
import selectors
from collections import defaultdict, deque
from collections.abc import Coroutine, Sequence
from typing import Any, TypeVar

import httpx
import pytest

from notify import secrets
from notify.channels.base import (
    Channel,
    ChannelSpec,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.config.model import ChannelConfig, RateLimit
from notify.delivery.dispatch import Dispatcher, Job, Outcome
from notify.journal.base import Delivery

T = TypeVar("T")
ME = "host:100:run"  # this run's owner name
OTHER = "host:200:run"  # another notify run, still going


# -- a virtual-time event loop -----------------------------------------------------------------


class _JumpingSelector(selectors.DefaultSelector):  # type: ignore[misc, valid-type]
    def __init__(self, loop: VirtualTimeLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is set")
        self._loop.now += max(timeout, 0.0)  # instead of waiting for the next timer, jump to it
        return super().select(0)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self) -> None:
        self.now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self.now


def run(coro: Coroutine[Any, Any, T]) -> T:
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(coro)
    finally:
        loop.close()


SLEPT: list[float] = []  # every wait the dispatcher asked for, in order


async def sleep_recorded(seconds: float) -> None:
    SLEPT.append(seconds)
    await asyncio.sleep(seconds)


@pytest.fixture(autouse=True)
def _fresh() -> None:
    SLEPT.clear()
    secrets.clear()


# -- fakes: a journal with the real claim rules, an adapter that follows a script ---------------


class FakeJournal:
    """The journal calls the dispatcher makes, with the claim rules of notify.journal."""

    def __init__(self) -> None:
        self.rows: dict[int, Delivery] = {}
        self.history: dict[int, list[str]] = defaultdict(list)
        self.live_owners = {ME, OTHER}

    def add(self, channel: str, recipient: str, **fields: Any) -> int:
        delivery_id = len(self.rows) + 1
        row = Delivery(delivery_id, 1, "inc-1", channel, "fake", recipient, "pending")
        self.rows[delivery_id] = dataclasses.replace(row, **fields)
        self.history[delivery_id].append(self.rows[delivery_id].status)
        return delivery_id

    def set(self, delivery_id: int, **fields: Any) -> None:
        self.rows[delivery_id] = dataclasses.replace(self.rows[delivery_id], **fields)
        self.history[delivery_id].append(self.rows[delivery_id].status)

    def claim(self, delivery_id: int, owner: str) -> bool:
        row = self.rows.get(delivery_id)
        if row is None:
            return False
        abandoned = row.status == "unknown" and row.owner not in self.live_owners - {owner}
        if row.status in ("pending", "failed") or abandoned:
            self.set(delivery_id, status="unknown", owner=owner)
            return True
        return False

    def finish(self, delivery_id: int, **fields: Any) -> None:
        fields["thread_data"] = fields.get("thread_data") or {}
        self.set(delivery_id, owner=None, **fields)

    # Journal's defaults: a row at a time (BatchJournal in test_dispatch_batches writes once).
    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]:
        return [i for i in delivery_ids if self.claim(i, owner)]

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        for delivery_id, fields in outcomes:
            self.finish(delivery_id, **fields)

    def get_delivery(self, delivery_id: int) -> Delivery | None:
        row = self.rows.get(delivery_id)
        return dataclasses.replace(row) if row else None

    def status(self, delivery_id: int) -> str:
        return self.rows[delivery_id].status


def ok(msg_id: str = "m-1") -> Receipt:
    return Receipt(ok=True, provider_message_id=msg_id, thread_data={"ts": msg_id})


def too_many(wait: float | None) -> Receipt:
    return Receipt(ok=False, error="HTTP 429: slow down", retryable=True, retry_after=wait)


UNAVAILABLE = Receipt(ok=False, error="HTTP 503: unavailable", retryable=True, status_code=503)
REJECTED = Receipt(ok=False, error="HTTP 400: invalid number", status_code=400)


class ScriptedChannel(Channel):
    """Answers each recipient's requests from its script (Receipts or exceptions), then ok."""

    spec = ChannelSpec(type="fake", fields=(), part="short", format="plain", http=False)

    def __init__(
        self,
        name: str,
        script: dict[str, Sequence[Any]] | None = None,
        *,
        latency: float = 0.01,
        latencies: dict[str, float] | None = None,
    ) -> None:
        super().__init__(name, {})
        self.script = {to: deque(steps) for to, steps in (script or {}).items()}
        self.latency = latency
        self.latencies = latencies or {}  # per recipient, first attempt
        self.calls: list[tuple[str, int, float]] = []  # recipient, ctx.attempt, when
        self.in_flight = self.most_in_flight = 0

    def measure(self, message: Message) -> None:
        return None

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        to = recipient.address
        self.calls.append((to, ctx.attempt, asyncio.get_running_loop().time()))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            first = ctx.attempt == 1 and to in self.latencies
            await asyncio.sleep(self.latencies[to] if first else self.latency)
            steps = self.script.get(to)
            step = steps.popleft() if steps else ok(f"{self.name}/{to}")
            if isinstance(step, BaseException):
                raise step
            return step  # type: ignore[no-any-return]
        finally:
            self.in_flight -= 1

    def times(self, recipient: str) -> list[float]:
        return [when for to, _, when in self.calls if to == recipient]


def channel(adapter: Channel, **settings: Any) -> ChannelConfig:
    rate = settings.pop("rate_limit", None)
    return ChannelConfig(
        name=adapter.name,
        type="fake",
        adapter=adapter,
        rate_limit=RateLimit.parse(rate) if rate else None,
        **settings,
    )


def jobs(journal: FakeJournal, config: ChannelConfig, *recipients: str) -> list[Job]:
    ctx = DeliveryContext(http=None, store=None, incident={}, update={}, org={}, delivery_key="k")  # type: ignore[arg-type]
    return [
        Job(journal.add(config.name, to), config, Message(text="Payments API is down"),
            Recipient(to), ThreadRef(), ctx)
        for to in recipients
    ]  # fmt: skip


def dispatcher(journal: FakeJournal, **options: Any) -> Dispatcher:
    options.setdefault("rng", lambda: 1.0)
    return Dispatcher(
        journal, owner=ME, sleep=sleep_recorded, clock=asyncio.get_running_loop().time, **options
    )


def deliver(journal: FakeJournal, work: list[Job], **options: Any) -> list[Outcome]:
    async def go() -> list[Outcome]:
        return await dispatcher(journal, **options).run(work)

    return run(go())


# -- sending and journaling ---------------------------------------------------------------------


def test_every_recipient_gets_one_request_and_the_journal_follows_it() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    started: list[int] = []
    done: list[str] = []

    outcomes = deliver(
        journal,
        jobs(journal, channel(sms), "+14155550100", "+14155550101", "+14155550102"),
        on_start=lambda job: started.append(job.delivery_id),
        on_done=lambda outcome: done.append(outcome.status),
    )

    assert [(o.recipient, o.status, o.attempts, o.error) for o in outcomes] == [
        ("+14155550100", "sent", 1, None),
        ("+14155550101", "sent", 1, None),
        ("+14155550102", "sent", 1, None),
    ]
    assert outcomes[0].provider_message_id == "customers-sms/+14155550100"
    assert [o.channel for o in outcomes] == ["customers-sms"] * 3
    assert sorted(started) == [1, 2, 3] and done == ["sent"] * 3
    assert journal.history[1] == ["pending", "unknown", "sent"]
    assert journal.rows[1].thread_data == {"ts": "customers-sms/+14155550100"}
    assert journal.rows[1].attempts == 1


def test_a_429_waits_at_least_retry_after_and_holds_the_whole_channel() -> None:
    journal = FakeJournal()
    slack = ScriptedChannel(
        "ops-slack", {"first": [too_many(7.0)]}, latency=0.05, latencies={"first": 0.01}
    )

    outcomes = deliver(
        journal, jobs(journal, channel(slack, concurrency=2), "first", "second", "third", "fourth")
    )

    assert [o.status for o in outcomes] == ["sent"] * 4
    assert outcomes[0].attempts == 2
    assert max(SLEPT) >= 7.0
    answered_429_at = 0.01
    assert slack.times("first")[1] >= answered_429_at + 7.0
    # "second" was already in flight; those that started after the 429 waited for the pause.
    assert slack.times("second")[0] < answered_429_at
    assert slack.times("third")[0] >= answered_429_at + 7.0
    assert slack.times("fourth")[0] >= answered_429_at + 7.0


@pytest.mark.parametrize("rate_limit", [None, "100/s"])
def test_retry_after_is_honoured_with_or_without_a_rate_limit(rate_limit: str | None) -> None:
    journal = FakeJournal()
    x = ScriptedChannel("x", {"@acme": [too_many(7.0)]})

    [outcome] = deliver(journal, jobs(journal, channel(x, rate_limit=rate_limit), "@acme"))

    assert outcome.status == "sent" and outcome.attempts == 2
    assert x.times("@acme")[1] - x.times("@acme")[0] >= 7.0


def test_a_429_on_the_last_attempt_still_holds_the_channel() -> None:
    journal = FakeJournal()
    x = ScriptedChannel("x", {"@acme": [too_many(5.0)]})

    outcomes = deliver(
        journal, jobs(journal, channel(x, retries=0, concurrency=1), "@acme", "@acme_status")
    )

    assert [o.status for o in outcomes] == ["failed", "sent"]
    assert x.times("@acme_status")[0] >= 5.0


def test_server_errors_are_retried_with_growing_backoff() -> None:
    journal = FakeJournal()
    slack = ScriptedChannel("ops-slack", {"C0123": [UNAVAILABLE, UNAVAILABLE]})

    [outcome] = deliver(journal, jobs(journal, channel(slack), "C0123"), rng=lambda: 1.0)

    assert (outcome.status, outcome.attempts) == ("sent", 3)
    assert SLEPT == [0.5, 1.0]
    assert [attempt for _, attempt, _ in slack.calls] == [1, 2, 3]
    assert journal.history[1] == ["pending", "unknown", "sent"]
    assert journal.rows[1].attempts == 3


def test_a_rejected_message_is_final_and_not_retried() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", {"+15005550001": [REJECTED]})

    [outcome] = deliver(journal, jobs(journal, channel(sms), "+15005550001"))

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error == "HTTP 400: invalid number"
    assert SLEPT == []
    assert journal.history[1] == ["pending", "unknown", "failed"]
    assert journal.rows[1].error == "HTTP 400: invalid number"


def test_retries_run_out() -> None:
    journal = FakeJournal()
    teams = ScriptedChannel("teams", {"ops": [UNAVAILABLE] * 10})

    [outcome] = deliver(journal, jobs(journal, channel(teams, retries=2), "ops"))

    assert (outcome.status, outcome.attempts) == ("failed", 3)
    assert outcome.error == "HTTP 503: unavailable (gave up after 3 attempts)"
    assert journal.status(1) == "failed"


def test_a_provider_asking_for_an_hour_fails_now_instead_of_hanging() -> None:
    journal = FakeJournal()
    x = ScriptedChannel("x", {"@acme": [too_many(3600.0)]})

    [outcome] = deliver(journal, jobs(journal, channel(x), "@acme"))

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert "asks to wait 3600 s" in (outcome.error or "")
    assert "notify retry" in (outcome.error or "")


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (httpx.ConnectError("Connection refused"), "could not connect: Connection refused"),
        (httpx.ReadError("peer closed connection"), "connection dropped: peer closed connection"),
        (httpx.ReadTimeout("read timed out"), "timed out after 15 s"),
        (ConnectionResetError("reset by peer"), "connection dropped: reset by peer"),
    ],
)
def test_network_trouble_is_retried(exc: Exception, error: str) -> None:
    journal = FakeJournal()
    hook = ScriptedChannel("hook", {"endpoint": [exc, exc]})

    [outcome] = deliver(journal, jobs(journal, channel(hook, retries=1), "endpoint"))

    assert (outcome.status, outcome.attempts) == ("failed", 2)
    assert outcome.error == f"{error} (gave up after 2 attempts)"


def test_an_adapter_that_never_answers_is_timed_out() -> None:
    journal = FakeJournal()
    hook = ScriptedChannel("hook", latency=10_000)

    [outcome] = deliver(journal, jobs(journal, channel(hook, timeout=2.0, retries=0), "endpoint"))

    assert outcome.status == "failed"
    assert outcome.error == "timed out after 2 s"


def test_a_bug_in_an_adapter_is_reported_and_not_retried() -> None:
    journal = FakeJournal()
    plugin = ScriptedChannel("pager", {"oncall": [KeyError("routing_key")]})

    [outcome] = deliver(journal, jobs(journal, channel(plugin), "oncall"))

    assert (outcome.status, outcome.attempts) == ("failed", 1)
    assert outcome.error == "internal error in fake adapter: KeyError: 'routing_key'"


def test_secrets_never_reach_the_outcome_or_the_journal() -> None:
    secrets.register("xoxb-secret-token")
    journal = FakeJournal()
    slack = ScriptedChannel(
        "ops-slack",
        {
            "C1": [Receipt(ok=False, error="invalid_auth for xoxb-secret-token")],
            "C2": [httpx.ConnectError("no route to https://hooks/xoxb-secret-token")] * 4,
        },
    )

    outcomes = deliver(journal, jobs(journal, channel(slack), "C1", "C2"))

    assert [o.error for o in outcomes] == [
        "invalid_auth for ***",
        "could not connect: no route to https://hooks/*** (gave up after 4 attempts)",
    ]
    assert all("xoxb" not in (row.error or "") for row in journal.rows.values())


# -- fallbacks ----------------------------------------------------------------------------------


def fallback_to(journal: FakeJournal, backup: ChannelConfig, *recipients: str) -> Any:
    """A fallback factory like the planner's: journals rows on `backup`, returns their jobs."""
    asked: list[tuple[int, str]] = []

    def factory(failed: Job, error: str) -> list[Job]:
        asked.append((failed.delivery_id, error))
        return [
            dataclasses.replace(job, fallback_for=failed.delivery_id)
            for job in jobs(journal, backup, *recipients)
        ]

    factory.asked = asked  # type: ignore[attr-defined]
    return factory


def test_a_failed_delivery_is_rescued_by_its_fallback() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", {"+15005550001": [REJECTED]})
    email = ScriptedChannel("status-email")
    factory = fallback_to(journal, channel(email), "oncall@acme.example")

    outcomes = deliver(
        journal, jobs(journal, channel(sms), "+15005550001", "+15005550002"), fallback=factory
    )

    failed, sent, rescue = outcomes
    assert (failed.status, failed.rescued_by) == ("failed", rescue.delivery_id)
    assert (sent.status, sent.rescued_by) == ("sent", None)
    assert (rescue.channel, rescue.status, rescue.fallback_for) == (
        "status-email",
        "sent",
        failed.delivery_id,
    )
    assert factory.asked == [(failed.delivery_id, "HTTP 400: invalid number")]
    assert journal.status(failed.delivery_id) == "failed"  # the journal still records both
    assert journal.status(rescue.delivery_id) == "sent"


def test_a_fallback_that_fails_too_rescues_nothing() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", {"+15005550001": [REJECTED]})
    email = ScriptedChannel("status-email", {"oncall@acme.example": [REJECTED]})
    factory = fallback_to(journal, channel(email), "oncall@acme.example")

    primary, backup = deliver(
        journal, jobs(journal, channel(sms), "+15005550001"), fallback=factory
    )

    assert (primary.status, primary.rescued_by) == ("failed", None)
    assert (backup.status, backup.fallback_for) == ("failed", primary.delivery_id)


def test_fallbacks_pointing_at_each_other_stop_after_one_round() -> None:
    journal = FakeJournal()
    a = ScriptedChannel("a", {"x": [REJECTED]})
    b = ScriptedChannel("b", {"x": [REJECTED]})
    to_b = fallback_to(journal, channel(b), "x")
    to_a = fallback_to(journal, channel(a), "x")

    def factory(failed: Job, error: str) -> list[Job]:
        return to_b(failed, error) if failed.channel.name == "a" else to_a(failed, error)

    outcomes = deliver(journal, jobs(journal, channel(a), "x"), fallback=factory)

    assert [(o.channel, o.status) for o in outcomes] == [("a", "failed"), ("b", "failed")]
    assert len(a.calls) == 1 and len(b.calls) == 1


def test_a_fallback_row_that_the_run_delivers_anyway_is_not_sent_twice() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel(
        "customers-sms", {"+15005550001": [REJECTED]}, latencies={"+15005550001": 0.0}
    )
    email = ScriptedChannel("status-email", latency=1.0)
    sms_config, email_config = channel(sms), channel(email)
    work = jobs(journal, sms_config, "+15005550001") + jobs(
        journal, email_config, "oncall@acme.example"
    )

    def factory(failed: Job, error: str) -> list[Job]:
        return [dataclasses.replace(work[1], fallback_for=failed.delivery_id)]  # the same row

    outcomes = deliver(journal, work, fallback=factory)

    assert [(o.channel, o.status) for o in outcomes] == [
        ("customers-sms", "failed"),
        ("status-email", "sent"),
    ]
    assert outcomes[0].rescued_by == work[1].delivery_id
    assert len(email.calls) == 1


# -- pacing -------------------------------------------------------------------------------------


def test_concurrency_is_never_exceeded() -> None:
    journal = FakeJournal()
    email = ScriptedChannel("status-email", latency=0.3)
    recipients = [f"user{i}@acme.example" for i in range(40)]

    outcomes = deliver(journal, jobs(journal, channel(email, concurrency=3), *recipients))

    assert [o.status for o in outcomes] == ["sent"] * 40
    assert email.most_in_flight == 3


def test_rate_limit_holds_across_the_whole_fan_out() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", latency=0.001)
    recipients = [f"+1415555{i:04d}" for i in range(100)]

    deliver(journal, jobs(journal, channel(sms, rate_limit="50/s", concurrency=10), *recipients))

    sent_at = sorted(when for _, _, when in sms.calls)
    assert 1.8 <= sent_at[-1] <= 2.0
    assert all(
        later - earlier >= 0.1 - 1e-9 for earlier, later in zip(sent_at, sent_at[5:], strict=False)
    )


def test_rate_limit_alone_keeps_enough_in_flight_to_hold_the_rate() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", latency=0.2)  # 100/s x 0.2 s: 20 in flight needed
    recipients = [f"+1415555{i:04d}" for i in range(300)]

    deliver(journal, jobs(journal, channel(sms, rate_limit="100/s"), *recipients))

    sent_at = sorted(when for _, _, when in sms.calls)
    assert sent_at[-1] - sent_at[0] == pytest.approx(299 / 100)  # evenly, at the rate: no lag
    assert 20 <= sms.most_in_flight <= 64  # Little's law with headroom, under the ceiling


def test_the_requests_in_flight_follow_the_provider_s_latency() -> None:
    journal = FakeJournal()
    slow = {f"+1415555{i:04d}": 0.5 for i in range(200, 400)}  # the provider slows down
    sms = ScriptedChannel("customers-sms", latency=0.02, latencies=slow)
    recipients = [f"+1415555{i:04d}" for i in range(400)]

    deliver(journal, jobs(journal, channel(sms, rate_limit="100/s"), *recipients))

    sent_at = sorted(when for _, _, when in sms.calls)
    assert sent_at[-1] - sent_at[0] == pytest.approx(399 / 100, abs=0.05)  # the rate held
    assert sms.most_in_flight >= 50  # 100/s x 0.5 s: grown from the handful 20 ms needed


def test_an_explicit_concurrency_caps_auto() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", latency=0.2)
    recipients = [f"+1415555{i:04d}" for i in range(60)]

    deliver(journal, jobs(journal, channel(sms, rate_limit="100/s", concurrency=5), *recipients))

    assert sms.most_in_flight == 5
    sent_at = sorted(when for _, _, when in sms.calls)
    assert sent_at[-1] - sent_at[0] >= (60 / 5 - 1) * 0.2 - 1e-9  # the cap, not the rate, bound


def test_a_channel_without_a_rate_keeps_eight_in_flight() -> None:
    journal = FakeJournal()
    hooks = ScriptedChannel("status-webhook", latency=0.3)
    recipients = [f"https://hooks.acme.example/{i}" for i in range(40)]

    outcomes = deliver(journal, jobs(journal, channel(hooks), *recipients))

    assert {o.status for o in outcomes} == {"sent"}
    assert hooks.most_in_flight == 8


def test_a_big_fan_out_runs_on_a_few_workers() -> None:
    journal = FakeJournal()
    email = ScriptedChannel("status-email", latency=0.001)
    recipients = [f"user{i}@acme.example" for i in range(3000)]
    most_tasks = 0

    def count_tasks(outcome: Outcome) -> None:
        nonlocal most_tasks
        most_tasks = max(most_tasks, len(asyncio.all_tasks()))

    outcomes = deliver(
        journal, jobs(journal, channel(email, concurrency=4), *recipients), on_done=count_tasks
    )

    assert len(outcomes) == 3000 and {o.status for o in outcomes} == {"sent"}
    assert [o.recipient for o in outcomes] == recipients  # in the order given
    assert most_tasks <= 4 + 1  # the workers and the run itself


# -- interruption and other runs ----------------------------------------------------------------


def test_ctrl_c_leaves_in_flight_unknown_and_the_rest_pending() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms", latency=60.0)
    done: list[Outcome] = []
    work = jobs(journal, channel(sms, concurrency=2), "+1", "+2", "+3", "+4", "+5")

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


def test_what_an_earlier_run_sent_is_skipped() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(sms), "+1", "+2", "+3")
    journal.set(work[0].delivery_id, status="sent", provider_message_id="SM123", attempts=1)
    journal.set(work[1].delivery_id, status="skipped", error="suppressed")

    outcomes = deliver(journal, work)

    assert [(o.status, o.provider_message_id, o.error) for o in outcomes] == [
        ("skipped", "SM123", "already sent"),
        ("skipped", None, "suppressed"),
        ("sent", "customers-sms/+3", None),
    ]
    assert [to for to, _, _ in sms.calls] == ["+3"]


def other_run_finishes(journal: FakeJournal, delivery_id: int, at: float, **fields: Any) -> None:
    asyncio.get_running_loop().call_at(at, lambda: journal.set(delivery_id, owner=None, **fields))


def test_a_delivery_another_run_is_sending_is_waited_for_then_skipped() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(sms), "+1")
    journal.set(work[0].delivery_id, status="unknown", owner=OTHER)

    async def go() -> list[Outcome]:
        other_run_finishes(
            journal, work[0].delivery_id, 3.0, status="sent", provider_message_id="SM9"
        )
        return await dispatcher(journal).run(work)

    [outcome] = run(go())

    assert (outcome.status, outcome.provider_message_id, outcome.error) == (
        "skipped",
        "SM9",
        "already sent",
    )
    assert sms.calls == []


def test_what_another_run_failed_is_sent_by_this_one() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(sms), "+1")
    journal.set(work[0].delivery_id, status="unknown", owner=OTHER)

    async def go() -> list[Outcome]:
        other_run_finishes(journal, work[0].delivery_id, 3.0, status="failed", error="HTTP 503")
        return await dispatcher(journal).run(work)

    [outcome] = run(go())

    assert outcome.status == "sent"
    assert sms.calls[0][2] >= 3.0


def test_a_delivery_another_run_never_finishes_is_reported_unknown() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(sms), "+1")
    journal.set(work[0].delivery_id, status="unknown", owner=OTHER)

    [outcome] = deliver(journal, work, wait_for_others=30.0)

    assert (outcome.status, outcome.error) == ("unknown", "in flight in another run")
    assert sms.calls == []
    assert journal.rows[work[0].delivery_id].owner == OTHER  # its row is left to its owner


def test_a_claim_left_by_a_dead_run_is_taken_over() -> None:
    journal = FakeJournal()
    sms = ScriptedChannel("customers-sms")
    work = jobs(journal, channel(sms), "+1")
    journal.set(work[0].delivery_id, status="unknown", owner="host:300:crashed")

    [outcome] = deliver(journal, work)

    assert outcome.status == "sent"


# -- with the real journal ----------------------------------------------------------------------


def test_with_the_sqlite_journal(tmp_path: Any) -> None:
    journal_module = pytest.importorskip("notify.journal")
    if not hasattr(journal_module, "open_journal"):
        pytest.skip("notify.journal.open_journal is not written yet")
    from notify.journal.base import Incident, PlannedDelivery

    journal = journal_module.open_journal(tmp_path / "journal.db")
    incident = Incident("2026-11-22-payments-api", "Payments API errors", "investigating")
    planned = [PlannedDelivery("customers-sms", "fake", to) for to in ("+1", "+2")]
    _, rows = journal.add_update(
        incident, key="k1", template="investigating", status="investigating",
        message="Looking into it", next_update_at=None, context={}, deliveries=planned,
    )  # fmt: skip
    sms = ScriptedChannel("customers-sms", {"+2": [REJECTED]})
    config = channel(sms)
    ctx = DeliveryContext(http=None, store=None, incident={}, update={}, org={}, delivery_key="k")  # type: ignore[arg-type]
    work = [
        Job(row.id, config, Message(text="down"), Recipient(row.recipient), ThreadRef(), ctx)
        for row in rows
    ]

    async def go() -> list[Outcome]:
        return await Dispatcher(journal, owner=journal_module.run_owner()).run(work)

    try:
        first = run(go())
        stored = [journal.get_delivery(row.id) for row in rows]
        again = run(go())  # a re-run sends what failed, and nothing that went out
    finally:
        journal.close()

    assert [o.status for o in first] == ["sent", "failed"]
    assert [(d.status, d.attempts, d.error) for d in stored] == [
        ("sent", 1, None),
        ("failed", 1, "HTTP 400: invalid number"),
    ]
    assert stored[0].provider_message_id == "customers-sms/+1"
    assert [o.status for o in again] == ["skipped", "sent"]
    assert len(sms.calls) == 3
