"""The asyncio fan-out: every planned delivery sent once, paced, retried, journaled, rescued.

Adapters only turn a message into a request and an answer into a `Receipt`. Everything around
that happens here, once for every channel type:

- per channel, workers pull from one queue and share one `RateLimiter`; how many is the lane's
  (lanes.py): sized to the channel's rate and latency, capped by an explicit `concurrency`;
- a delivery is claimed in the journal right before its first request, so a run killed early
  leaves untouched rows `pending` and only requests really in flight `unknown`;
- 429, 5xx, timeouts and dropped connections are retried with jittered backoff, honouring the
  provider's wait, which also pauses the rest of the channel;
- the outcome is journaled (errors redacted), and a final failure goes to the channel's fallback.

One loop does this for every channel: a worker takes the jobs one request carries (one, or up
to `batch_size()` for an adapter that takes batches, like SendGrid), claims their rows together
right before that request (paced as one request), journals each row from its own receipt (one
journal transaction per batch), and re-sends only the items whose receipt says a retry may help.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from notify.delivery.backoff import retry_delay
from notify.delivery.jobs import DeliveryJournal, FallbackFactory, Job, Outcome
from notify.delivery.lanes import Entry, Lane, Sleep, Verdict
from notify.delivery.sending import send_batch, send_one, silent_failure
from notify.errors import JournalError
from notify.journal.base import FINAL_STATUSES, Delivery
from notify.model import THREAD_RESTARTED, DeliveryStatus, Receipt, ThreadRef
from notify.secrets import redact

__all__ = ["DeliveryJournal", "Dispatcher", "FallbackFactory", "Job", "Outcome"]

log = logging.getLogger(__name__)


_POLL_OTHER_RUN = 0.2  # seconds between looks at a delivery another run has in flight

# Looked up once here, not on the enum class per delivery.
_SENT, _FAILED = DeliveryStatus.SENT, DeliveryStatus.FAILED
_SKIPPED, _UNKNOWN = DeliveryStatus.SKIPPED, DeliveryStatus.UNKNOWN


class Dispatcher:
    """Runs planned deliveries; one instance per run."""

    def __init__(
        self,
        journal: DeliveryJournal,
        *,
        owner: str,
        fallback: FallbackFactory | None = None,
        on_start: Callable[[Job], None] | None = None,
        on_done: Callable[[Outcome], None] | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        wait_for_others: float = 30.0,
        max_retry_after: float = 300.0,
    ) -> None:
        self._journal = journal
        self._owner = owner
        self._fallback = fallback
        self._on_start = on_start
        self._on_done = on_done
        self.journal_failure: JournalError | None = None  # set when the journal failed mid-run
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._wait_for_others = wait_for_others
        # A provider asking for a longer wait (an hours-long posting window) fails the delivery
        # now, so its fallback runs and `notify retry` can finish later, instead of hanging.
        self._max_retry_after = max_retry_after
        self._lanes: dict[str, Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._entries: list[Entry] = []
        self._by_id: dict[int, Entry] | None = None  # made at the first fallback: see _known
        self._extra: list[Entry] = []

    async def run(
        self, jobs: Sequence[Job], more: AsyncIterator[Sequence[Job]] | None = None
    ) -> list[Outcome]:
        """Deliver every job, and those `more` gives while they go out (a plan recorded in
        parts); one Outcome per job in order, then one per fallback job.

        Cancellation (Ctrl-C) cancels every request and propagates: rows in flight stay
        `unknown`, rows not reached stay `pending`, and nothing cancelled is written `failed`.
        """
        self._by_id, self._extra = None, []
        self._entries = entries = [Entry(job) for job in jobs]
        for entry in entries:
            self._submit(entry)
        if more is not None:
            self._tasks.add(asyncio.create_task(self._take_more(more)))
        try:
            await self._wait_all()
        except JournalError as exc:
            # The journal failed mid-run: stop, and say what is known (`journal_failure`).
            self.journal_failure = exc
            for entry in entries + self._extra:
                if entry.outcome is None:
                    status = _UNKNOWN if entry.started else DeliveryStatus.PENDING
                    entry.outcome = Outcome.of(entry.job, status, error="the journal failed")
        outcomes = [entry.outcome for entry in entries + self._extra]
        assert all(o is not None for o in outcomes), "a job finished without an outcome"
        return [o for o in outcomes if o is not None]

    async def _take_more(self, more: AsyncIterator[Sequence[Job]]) -> None:
        async for jobs in more:
            for job in jobs:
                entry = Entry(job)
                self._entries.append(entry)
                if self._by_id is not None:
                    self._by_id.setdefault(job.delivery_id, entry)
                self._submit(entry)

    # -- workers -----------------------------------------------------------------------------

    def _submit(self, entry: Entry) -> None:
        config = entry.job.channel
        lane = self._lanes.get(config.name)
        if lane is None:
            lane = self._lanes[config.name] = Lane(config, self._clock, self._sleep)
        lane.queue.append(entry)
        self._staff(lane)

    def _staff(self, lane: Lane) -> None:
        """As many workers as the lane's size says (it follows latency), while work is queued."""
        while lane.understaffed():
            lane.workers += 1
            self._tasks.add(asyncio.create_task(self._work(lane)))

    async def _work(self, lane: Lane) -> None:
        try:
            # A worker leaves when the lane shrank below the workers it has (latency fell).
            while lane.queue and lane.workers <= lane.size:
                lane.busy += 1
                try:
                    await self._process(lane, lane.take())
                finally:
                    lane.busy -= 1
                self._staff(lane)  # latency rose: more in flight to hold the rate
        finally:
            lane.workers -= 1

    async def _wait_all(self) -> None:
        try:
            while self._tasks:
                done, _ = await asyncio.wait(self._tasks, return_when=asyncio.FIRST_EXCEPTION)
                self._tasks -= done
                for task in done:
                    if not task.cancelled() and (exc := task.exception()) is not None:
                        raise exc  # a bug or a broken journal: stop the run, don't guess
        except BaseException:
            pending = list(self._tasks)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending)
            for task in pending:
                if not task.cancelled():
                    task.exception()  # retrieved, so asyncio doesn't log it as lost
            raise

    def _settle(self, entry: Entry, outcome: Outcome, delivered: bool) -> None:
        entry.outcome, entry.delivered = outcome, delivered
        if self._on_done is not None:
            self._on_done(outcome)
        if delivered:
            self._rescue(entry)
        elif outcome.status == _FAILED:
            self._fall_back(entry, outcome.error or "failed")

    # -- one request's jobs: claim, send, judge, back off, again --------------------------------

    async def _process(self, lane: Lane, entries: list[Entry]) -> None:
        """The jobs one request carries (one, or up to `lane.batch`): claim, send, settle."""
        if lane.batch == 1 and self._settled_earlier(entries[0]):
            return
        async with lane.slot():  # one request, one slot, however many recipients
            self._staff(lane)  # one more waiting at the limiter, if the lane wants it
            claimed, contested = self._claim(lane, entries)
            if claimed:
                await self._attempts(lane, claimed)
            if contested:
                await self._take_over(lane, contested)

    def _settled_earlier(self, entry: Entry) -> bool:
        """A lone delivery is looked at before it takes a rate-limit slot: a --key re-run of what
        went out costs none. (A batch reads only the rows it cannot claim.)"""
        row = self._journal.get_delivery(entry.job.delivery_id)
        if row is None or row.status not in FINAL_STATUSES:
            return False
        self._settle(entry, *self._already_done(entry.job, row))
        return True

    def _claim(self, lane: Lane, entries: list[Entry]) -> tuple[Sequence[Entry], Sequence[Entry]]:
        """Claim the rows right before their request: (claimed, held by another run). Rows of a
        batch found sent or skipped meanwhile are settled here."""
        if lane.batch == 1:  # `claim` is one statement, no transaction: a journal's cheapest write
            if self._journal.claim(entries[0].job.delivery_id, self._owner):
                return entries, ()
            return (), entries
        mine = set(self._journal.claim_many([e.job.delivery_id for e in entries], self._owner))
        claimed: list[Entry] = []
        contested: list[Entry] = []
        for entry in entries:
            if entry.job.delivery_id in mine:
                claimed.append(entry)
                continue
            row = self._journal.get_delivery(entry.job.delivery_id)
            if row is not None and row.status in FINAL_STATUSES:
                self._settle(entry, *self._already_done(entry.job, row))
            else:
                contested.append(entry)
        return claimed, contested

    async def _take_over(self, lane: Lane, contested: Sequence[Entry]) -> None:
        """Rows another run holds (or a dead run left) are looked at only after our request, so
        ours don't sit claimed (`unknown`) meanwhile; those this run gets go out together."""
        late: list[Entry] = []
        for entry in contested:
            settled = await self._await_other_run(entry.job)
            if settled is None:
                late.append(entry)
            else:
                self._settle(entry, *settled)
        if late:
            await lane.limiter.acquire()  # the wait may have been long: take a fresh slot
            await self._attempts(lane, late)

    async def _await_other_run(self, job: Job) -> tuple[Outcome, bool] | None:
        """Another live run holds the claim: wait for its result. None once we hold the claim."""
        deadline = self._clock() + self._wait_for_others
        while True:
            row = self._journal.get_delivery(job.delivery_id)
            if row is None:
                missing = "the delivery is missing from the journal"
                return Outcome.of(job, _FAILED, error=missing), False
            if row.status in FINAL_STATUSES:
                return self._already_done(job, row)
            if self._journal.claim(job.delivery_id, self._owner):
                return None  # the other run failed it, or died
            if self._clock() >= deadline:
                return Outcome.of(job, _UNKNOWN, error="in flight in another run"), False
            await self._sleep(_POLL_OTHER_RUN)

    def _already_done(self, job: Job, row: Delivery) -> tuple[Outcome, bool]:
        if row.status == _SENT:
            outcome = Outcome.of(
                job, _SKIPPED, provider_message_id=row.provider_message_id, error="already sent"
            )
            return outcome, True
        return Outcome.of(job, _SKIPPED, error=row.error or "skipped"), False

    async def _attempts(self, lane: Lane, entries: Sequence[Entry]) -> None:
        """Send claimed jobs in one request; settle each from its own receipt (journaled right
        after the request), and send again, after a backoff, only those a retry may help."""
        if self._on_start is not None:
            for entry in entries:
                self._on_start(entry.job)
        for entry in entries:
            entry.started = True
        config = entries[0].job.channel
        retries = max(0, int(config.retries))
        attempt = 1
        while True:
            sent_at = self._clock()
            if lane.batch == 1:
                receipts: Sequence[Receipt] = (await send_one(entries[0].job, attempt),)
            else:
                receipts = await send_batch([entry.job for entry in entries], attempt)
            lane.observe(self._clock() - sent_at)
            settled: list[Verdict] = []
            again: list[Verdict] = []
            for entry, receipt in zip(entries, receipts, strict=True):
                verdict = self._judge(lane, entry, receipt, attempt, retries)
                (settled if verdict.outcome is not None else again).append(verdict)
            # Journaled before anyone hears of it: one write for a batch.
            try:
                if lane.batch == 1:
                    if settled:
                        self._journal.finish(entries[0].job.delivery_id, **settled[0].record)
                elif settled:
                    self._journal.finish_many(
                        [(v.entry.job.delivery_id, v.record) for v in settled]
                    )
            except JournalError:
                for verdict in settled:  # the provider's answer is the result, journaled or not
                    verdict.entry.outcome = verdict.outcome
                    verdict.entry.delivered = verdict.delivered
                raise
            for verdict in settled:
                assert verdict.outcome is not None
                self._settle(verdict.entry, verdict.outcome, verdict.delivered)
            if not again:
                return
            if lane.batch == 1:
                what = f"{config.name} to {entries[0].job.recipient.address}"
            else:
                what = f"{config.name}: {len(again)} of {len(entries)} deliveries in one request"
            waits = [v.wait for v in again if v.wait is not None]
            wait = max(waits) if waits else None
            await self._back_off(lane, what, attempt, retries, again[0].error, wait)
            entries = [verdict.entry for verdict in again]
            attempt += 1

    def _judge(
        self, lane: Lane, entry: Entry, receipt: Receipt, attempt: int, retries: int
    ) -> Verdict:
        """A final answer with what to journal, or how long to wait before trying again."""
        job = entry.job
        if receipt.ok:
            thread_data = dict(receipt.thread_data)
            record: dict[str, Any] = {
                "status": _SENT,
                "attempts": attempt,
                "provider_message_id": receipt.provider_message_id,
                "thread_data": thread_data,
            }
            note = entry.unthreaded
            if note is not None:  # said in the result and the journal; later updates follow it
                thread_data[THREAD_RESTARTED] = True
                record["error"] = note
            outcome = Outcome.of(job, _SENT, attempt, receipt.provider_message_id, error=note)
            return Verdict(entry, outcome, True, record=record)
        error = redact(receipt.error or silent_failure(job, receipt))
        if (
            entry.unthreaded is None
            and (job.thread.root or job.thread.previous)
            and job.channel.adapter.thread_gone(receipt)
        ):
            # The post this one replies to was deleted: post it on its own, at once, rather
            # than fail the channel for the rest of the incident.
            entry.unthreaded = f"posted unthreaded: the post it replies to is gone ({error})"
            entry.job = dataclasses.replace(job, thread=ThreadRef())
            return Verdict(entry, None, error=error, wait=0.0)
        wait = receipt.retry_after if receipt.retryable else None
        too_long = wait is not None and wait > self._max_retry_after
        if wait is not None and not too_long:
            # The provider refuses the whole channel until then, not just this request:
            # hold the channel's other jobs too, even if this one has no retries left.
            lane.limiter.pause_until(self._clock() + wait)
        if receipt.retryable and attempt <= retries:
            if not too_long:
                return Verdict(entry, None, error=error, wait=wait)
            error = (
                f"{error}; the provider asks to wait {wait:.0f} s, longer than notify "
                f"waits ({self._max_retry_after:g} s): run `notify retry` later"
            )
        if receipt.retryable and attempt > 1:
            error = f"{error} (gave up after {attempt} attempts)"
        record = {"status": _FAILED, "attempts": attempt, "error": error}
        return Verdict(entry, Outcome.of(job, _FAILED, attempt, error=error), record=record)

    async def _back_off(
        self, lane: Lane, what: str, attempt: int, retries: int, error: str, wait: float | None
    ) -> None:
        delay = retry_delay(attempt, retry_after=wait, rng=self._rng)
        log.info("%s: %s; retry %d of %d in %.1f s", what, error, attempt, retries, delay)
        await self._sleep(delay)
        await lane.limiter.acquire()

    # -- fallbacks ---------------------------------------------------------------------------

    def _fall_back(self, entry: Entry, error: str) -> None:
        if self._fallback is None:
            return
        chain = entry.chain | {entry.job.channel.name}
        for job in self._fallback(entry.job, error):
            if job.channel.name in chain:
                log.warning("fallback %s of %s loops back; skipped", job.channel.name, chain)
                continue
            if job.fallback_for is None:
                job = dataclasses.replace(job, fallback_for=entry.job.delivery_id)
            by_id = self._known()
            known = by_id.get(job.delivery_id)
            if known is not None:
                # The fallback channel delivers this row anyway in this run (its own recipient):
                # don't send it twice, let it rescue the failure when it goes out.
                known.parents.append(entry)
                if known.delivered:
                    self._rescue(known)
                continue
            child = Entry(job, chain=chain, parents=[entry])
            by_id[job.delivery_id] = child
            self._extra.append(child)
            self._submit(child)

    def _known(self) -> dict[int, Entry]:
        """The run's deliveries by id, made at the first fallback (none: no 100,000-entry index)."""
        if self._by_id is None:
            self._by_id = {}
            for entry in self._entries + self._extra:
                self._by_id.setdefault(entry.job.delivery_id, entry)
        return self._by_id

    def _rescue(self, entry: Entry) -> None:
        """`entry` went out: every failure it stands in for, up the fallback chain, is rescued."""
        rescuer = entry.job.delivery_id
        todo = list(entry.parents)
        while todo:
            parent = todo.pop()
            if parent.outcome is not None and parent.outcome.rescued_by is None:
                parent.outcome.rescued_by = rescuer
                todo.extend(parent.parents)
