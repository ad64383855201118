"""The asyncio fan-out: every planned delivery sent once, paced, retried, journaled, rescued.

Adapters only turn a message into a request and an answer into a `Receipt`. Everything around
that happens here, once for every channel type:

- per channel, `concurrency` workers pull from one queue (memory stays flat for 100k jobs) and
  share one `RateLimiter`;
- a delivery is claimed in the journal right before its first request, so a run killed early
  leaves untouched rows `pending` and only requests really in flight `unknown`;
- 429, 5xx, timeouts and dropped connections are retried with jittered backoff, honouring the
  provider's wait, which also pauses the rest of the channel;
- the outcome is journaled (errors redacted), and a final failure goes to the channel's fallback.

A channel whose adapter takes batches (`batch_size()` above 1, like SendGrid) keeps every rule
per delivery: its workers take up to that many jobs at once, claim their rows together right
before the one request that carries them all (paced as one request), journal each row from its
own receipt (one journal transaction per batch), and re-send only the items whose receipt says a
retry may help.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from traceback import format_exception
from typing import Any, Protocol

from notify.channels.base import (
    BatchItem,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.config.model import ChannelConfig
from notify.delivery.backoff import retry_delay
from notify.delivery.ratelimit import RateLimiter
from notify.journal.base import FAILED, FINAL_STATUSES, SENT, Delivery
from notify.secrets import redact

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[object]]

_POLL_OTHER_RUN = 0.2  # seconds between looks at a delivery another run has in flight
_SAFETY_MARGIN = 5.0  # adapters apply `timeout` themselves; this catches one that doesn't


@dataclass(slots=True)
class Job:
    """One planned delivery, ready to send: its journal row, channel and rendered message."""

    delivery_id: int
    channel: ChannelConfig
    message: Message
    recipient: Recipient
    thread: ThreadRef
    ctx: DeliveryContext  # the planner fills delivery_key etc.; `attempt` is set per attempt
    fallback_for: int | None = None  # the delivery this one rescues


@dataclass(slots=True)
class Outcome:
    """What became of one job in this run."""

    delivery_id: int
    channel: str
    type: str
    recipient: str
    status: str  # sent | failed | skipped | unknown
    attempts: int = 0  # requests made in this run
    provider_message_id: str | None = None
    error: str | None = None  # one line, redacted
    fallback_for: int | None = None
    # Set (after on_done saw the failure) when a fallback delivery of this one went out.
    rescued_by: int | None = None


FallbackFactory = Callable[[Job, str], list[Job]]
"""(finally failed job, its error) -> jobs on the fallback channel, rows already journaled."""


class DeliveryJournal(Protocol):
    """The part of notify.journal.base.Journal the dispatcher uses."""

    def claim(self, delivery_id: int, owner: str) -> bool: ...

    def finish(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        provider_message_id: str | None = None,
        thread_data: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None: ...

    def get_delivery(self, delivery_id: int) -> Delivery | None: ...


@dataclass(eq=False, slots=True)
class _Entry:
    job: Job
    chain: frozenset[str] = frozenset()  # channels already tried for this recipient
    parents: list[_Entry] = field(default_factory=list)  # the failed deliveries this rescues
    outcome: Outcome | None = None
    delivered: bool = False  # sent now, or found sent by an earlier run


class _Lane:
    """One channel's queue, workers and limiter, shared by all its jobs in the run."""

    def __init__(self, config: ChannelConfig, clock: Callable[[], float], sleep: Sleep) -> None:
        self.size = max(1, int(config.concurrency))
        self.queue: deque[_Entry] = deque()
        self.workers = 0
        self.limiter = RateLimiter(config.rate_limit, clock=clock, sleep=sleep)
        self.batch = max(1, int(config.adapter.batch_size()))  # jobs one request carries


@dataclass
class _Verdict:
    """What one receipt means for its delivery: settled (outcome), or to be tried again."""

    outcome: Outcome | None  # None: retry, after `wait` at least
    delivered: bool = False
    error: str = ""
    wait: float | None = None
    record: dict[str, Any] = field(default_factory=dict)  # finish()'s arguments, once settled


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
        self._sleep = sleep
        self._clock = clock
        self._rng = rng
        self._wait_for_others = wait_for_others
        # A provider asking for a longer wait (an hours-long posting window) fails the delivery
        # now, so its fallback runs and `notify retry` can finish later, instead of hanging.
        self._max_retry_after = max_retry_after
        self._lanes: dict[str, _Lane] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._by_id: dict[int, _Entry] = {}
        self._extra: list[_Entry] = []

    async def run(self, jobs: Sequence[Job]) -> list[Outcome]:
        """Deliver every job; one Outcome per job in order, then one per fallback job.

        Cancellation (Ctrl-C) cancels every request and propagates: rows in flight stay
        `unknown`, rows not reached stay `pending`, and nothing cancelled is written `failed`.
        """
        self._by_id, self._extra = {}, []
        entries = [_Entry(job) for job in jobs]
        for entry in entries:
            self._by_id.setdefault(entry.job.delivery_id, entry)
            self._submit(entry)
        await self._wait_all()
        outcomes = [entry.outcome for entry in entries + self._extra]
        assert all(o is not None for o in outcomes), "a job finished without an outcome"
        return [o for o in outcomes if o is not None]

    # -- workers -----------------------------------------------------------------------------

    def _submit(self, entry: _Entry) -> None:
        config = entry.job.channel
        lane = self._lanes.get(config.name)
        if lane is None:
            lane = self._lanes[config.name] = _Lane(config, self._clock, self._sleep)
        lane.queue.append(entry)
        if lane.workers < lane.size:
            lane.workers += 1
            self._tasks.add(asyncio.create_task(self._work(lane)))

    async def _work(self, lane: _Lane) -> None:
        try:
            while lane.queue:
                if lane.batch > 1:
                    take = min(lane.batch, len(lane.queue))
                    await self._process_batch(lane, [lane.queue.popleft() for _ in range(take)])
                else:
                    await self._process(lane, lane.queue.popleft())
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

    async def _process(self, lane: _Lane, entry: _Entry) -> None:
        self._settle(entry, *await self._deliver(lane, entry.job))

    def _settle(self, entry: _Entry, outcome: Outcome, delivered: bool) -> None:
        entry.outcome, entry.delivered = outcome, delivered
        if self._on_done is not None:
            self._on_done(outcome)
        if delivered:
            self._rescue(entry)
        elif outcome.status == FAILED:
            self._fall_back(entry, outcome.error or "failed")

    # -- one delivery ------------------------------------------------------------------------

    async def _deliver(self, lane: _Lane, job: Job) -> tuple[Outcome, bool]:
        row = self._journal.get_delivery(job.delivery_id)
        if row is not None and row.status in FINAL_STATUSES:
            return self._already_done(job, row)  # no rate-limit slot spent on a --key re-run
        await lane.limiter.acquire()
        if not self._journal.claim(job.delivery_id, self._owner):
            settled = await self._await_other_run(job)
            if settled is not None:
                return settled
            await lane.limiter.acquire()  # the wait may have been long: take a fresh slot
        if self._on_start is not None:
            self._on_start(job)
        return await self._attempts(lane, job)

    async def _await_other_run(self, job: Job) -> tuple[Outcome, bool] | None:
        """Another live run holds the claim: wait for its result. None once we hold the claim."""
        deadline = self._clock() + self._wait_for_others
        while True:
            row = self._journal.get_delivery(job.delivery_id)
            if row is None:
                missing = "the delivery is missing from the journal"
                return _outcome(job, "failed", error=missing), False
            if row.status in FINAL_STATUSES:
                return self._already_done(job, row)
            if self._journal.claim(job.delivery_id, self._owner):
                return None  # the other run failed it, or died
            if self._clock() >= deadline:
                return _outcome(job, "unknown", error="in flight in another run"), False
            await self._sleep(_POLL_OTHER_RUN)

    def _already_done(self, job: Job, row: Delivery) -> tuple[Outcome, bool]:
        if row.status == SENT:
            outcome = _outcome(
                job, "skipped", provider_message_id=row.provider_message_id, error="already sent"
            )
            return outcome, True
        return _outcome(job, "skipped", error=row.error or "skipped"), False

    async def _attempts(self, lane: _Lane, job: Job) -> tuple[Outcome, bool]:
        retries = max(0, int(job.channel.retries))
        attempt = 1
        while True:
            receipt = await self._send(job, attempt)
            verdict = self._judge(lane, job, receipt, attempt, retries)
            if verdict.outcome is not None:
                self._journal.finish(job.delivery_id, **verdict.record)
                return verdict.outcome, verdict.delivered
            what = f"{job.channel.name} to {job.recipient.address}"
            await self._back_off(lane, what, attempt, retries, verdict.error, verdict.wait)
            attempt += 1

    def _judge(
        self, lane: _Lane, job: Job, receipt: Receipt, attempt: int, retries: int
    ) -> _Verdict:
        """A final answer with what to journal, or how long to wait before trying again."""
        if receipt.ok:
            record = {
                "status": SENT,
                "attempts": attempt,
                "provider_message_id": receipt.provider_message_id,
                "thread_data": dict(receipt.thread_data),
            }
            outcome = _outcome(job, "sent", attempt, receipt.provider_message_id)
            return _Verdict(outcome, True, record=record)
        error = redact(receipt.error or _silent_failure(job, receipt))
        wait = receipt.retry_after if receipt.retryable else None
        too_long = wait is not None and wait > self._max_retry_after
        if wait is not None and not too_long:
            # The provider refuses the whole channel until then, not just this request:
            # hold the channel's other jobs too, even if this one has no retries left.
            lane.limiter.pause_until(self._clock() + wait)
        if receipt.retryable and attempt <= retries:
            if not too_long:
                return _Verdict(None, error=error, wait=wait)
            error = (
                f"{error}; the provider asks to wait {wait:.0f} s, longer than notify "
                f"waits ({self._max_retry_after:g} s): run `notify retry` later"
            )
        if receipt.retryable and attempt > 1:
            error = f"{error} (gave up after {attempt} attempts)"
        record = {"status": FAILED, "attempts": attempt, "error": error}
        return _Verdict(_outcome(job, "failed", attempt, error=error), record=record)

    async def _back_off(
        self, lane: _Lane, what: str, attempt: int, retries: int, error: str, wait: float | None
    ) -> None:
        delay = retry_delay(attempt, retry_after=wait, rng=self._rng)
        log.info("%s: %s; retry %d of %d in %.1f s", what, error, attempt, retries, delay)
        await self._sleep(delay)
        await lane.limiter.acquire()

    async def _send(self, job: Job, attempt: int) -> Receipt:
        ctx = dataclasses.replace(job.ctx, attempt=attempt)
        config = job.channel
        try:
            # asyncio.timeout, unlike wait_for, runs the request in this task: no task per request.
            async with asyncio.timeout(config.timeout + _SAFETY_MARGIN):
                receipt = await config.adapter.send(job.message, job.recipient, job.thread, ctx)
        except Exception as exc:  # CancelledError is not an Exception: Ctrl-C passes through
            return _receipt_for_exception(exc, config)
        if not isinstance(receipt, Receipt):
            return Receipt(
                ok=False,
                error=f"internal error in {config.type} adapter: send returned "
                f"{type(receipt).__name__}, not a Receipt",
            )
        return receipt

    # -- a batch of deliveries in one request --------------------------------------------------

    async def _process_batch(self, lane: _Lane, entries: list[_Entry]) -> None:
        """Up to `lane.batch` jobs as one request: claim them together, skip what went out."""
        await lane.limiter.acquire()  # one request, one slot, however many recipients
        mine = set(_claim_many(self._journal, [e.job.delivery_id for e in entries], self._owner))
        claimed: list[_Entry] = []
        contested: list[_Entry] = []
        for entry in entries:
            if entry.job.delivery_id in mine:
                claimed.append(entry)
                continue
            row = self._journal.get_delivery(entry.job.delivery_id)
            if row is not None and row.status in FINAL_STATUSES:
                self._settle(entry, *self._already_done(entry.job, row))
            else:
                contested.append(entry)
        if claimed:
            await self._batch_attempts(lane, claimed)
        # Rows another run holds (or a dead run left) are looked at only now, so ours don't sit
        # claimed (`unknown`) meanwhile; those this run gets go out together in one more request.
        late: list[_Entry] = []
        for entry in contested:
            settled = await self._await_other_run(entry.job)
            if settled is None:
                late.append(entry)
            else:
                self._settle(entry, *settled)
        if late:
            await lane.limiter.acquire()
            await self._batch_attempts(lane, late)

    async def _batch_attempts(self, lane: _Lane, entries: list[_Entry]) -> None:
        """Send claimed jobs together; settle each from its own receipt, re-send the retryable."""
        if self._on_start is not None:
            for entry in entries:
                self._on_start(entry.job)
        config = entries[0].job.channel
        retries = max(0, int(config.retries))
        attempt = 1
        while True:
            receipts = await self._send_batch([entry.job for entry in entries], attempt)
            settled: list[tuple[_Entry, _Verdict]] = []
            again: list[tuple[_Entry, _Verdict]] = []
            for entry, receipt in zip(entries, receipts, strict=True):
                verdict = self._judge(lane, entry.job, receipt, attempt, retries)
                (again if verdict.outcome is None else settled).append((entry, verdict))
            # One journal write for the batch, then the outcomes (and fallbacks) as usual.
            _finish_many(self._journal, [(e.job.delivery_id, v.record) for e, v in settled])
            for entry, verdict in settled:
                assert verdict.outcome is not None
                self._settle(entry, verdict.outcome, verdict.delivered)
            if not again:
                return
            what = f"{config.name}: {len(again)} of {len(entries)} deliveries in one request"
            waits = [v.wait for _, v in again if v.wait is not None]
            wait = max(waits) if waits else None
            await self._back_off(lane, what, attempt, retries, again[0][1].error, wait)
            entries = [entry for entry, _ in again]
            attempt += 1

    async def _send_batch(self, jobs: list[Job], attempt: int) -> list[Receipt]:
        """One request for `jobs`; one receipt per job, whatever the adapter did."""
        config = jobs[0].channel
        ctx = dataclasses.replace(jobs[0].ctx, attempt=attempt)
        items = [BatchItem(j.message, j.recipient, j.thread, j.ctx.delivery_key) for j in jobs]
        try:
            async with asyncio.timeout(config.timeout + _SAFETY_MARGIN):
                receipts = await config.adapter.send_batch(items, ctx)
        except Exception as exc:  # CancelledError is not an Exception: Ctrl-C passes through
            return [_receipt_for_exception(exc, config)] * len(jobs)
        if (
            not isinstance(receipts, list)
            or len(receipts) != len(jobs)
            or not all(isinstance(r, Receipt) for r in receipts)
        ):
            count = len(receipts) if isinstance(receipts, list) else type(receipts).__name__
            bug = Receipt(
                ok=False,
                error=f"internal error in {config.type} adapter: send_batch returned "
                f"{count} receipts for {len(jobs)} deliveries",
            )
            return [bug] * len(jobs)
        return receipts

    # -- fallbacks ---------------------------------------------------------------------------

    def _fall_back(self, entry: _Entry, error: str) -> None:
        if self._fallback is None:
            return
        chain = entry.chain | {entry.job.channel.name}
        for job in self._fallback(entry.job, error):
            if job.channel.name in chain:
                log.warning("fallback %s of %s loops back; skipped", job.channel.name, chain)
                continue
            if job.fallback_for is None:
                job = dataclasses.replace(job, fallback_for=entry.job.delivery_id)
            known = self._by_id.get(job.delivery_id)
            if known is not None:
                # The fallback channel delivers this row anyway in this run (its own recipient):
                # don't send it twice, let it rescue the failure when it goes out.
                known.parents.append(entry)
                if known.delivered:
                    self._rescue(known)
                continue
            child = _Entry(job, chain=chain, parents=[entry])
            self._by_id[job.delivery_id] = child
            self._extra.append(child)
            self._submit(child)

    def _rescue(self, entry: _Entry) -> None:
        """`entry` went out: every failure it stands in for, up the fallback chain, is rescued."""
        rescuer = entry.job.delivery_id
        todo = list(entry.parents)
        while todo:
            parent = todo.pop()
            if parent.outcome is not None and parent.outcome.rescued_by is None:
                parent.outcome.rescued_by = rescuer
                todo.extend(parent.parents)


def _claim_many(journal: DeliveryJournal, ids: list[int], owner: str) -> list[int]:
    """The journal's batch claim (one transaction) when it has one, else one claim per row."""
    many = getattr(journal, "claim_many", None)
    if many is not None:
        return list(many(ids, owner))
    return [i for i in ids if journal.claim(i, owner)]


def _finish_many(journal: DeliveryJournal, rows: list[tuple[int, dict[str, Any]]]) -> None:
    """The journal's batch finish (one transaction) when it has one, else one finish per row."""
    if not rows:
        return
    many = getattr(journal, "finish_many", None)
    if many is not None:
        many(rows)
        return
    for delivery_id, record in rows:
        journal.finish(delivery_id, **record)


def _outcome(
    job: Job,
    status: str,
    attempts: int = 0,
    provider_message_id: str | None = None,
    *,
    error: str | None = None,
) -> Outcome:
    return Outcome(
        delivery_id=job.delivery_id,
        channel=job.channel.name,
        type=job.channel.type,
        recipient=job.recipient.address,
        status=status,
        attempts=attempts,
        provider_message_id=provider_message_id,
        error=redact(error) if error is not None else None,
        fallback_for=job.fallback_for,
    )


def _silent_failure(job: Job, receipt: Receipt) -> str:
    code = f" (HTTP {receipt.status_code})" if receipt.status_code else ""
    return f"the {job.channel.type} adapter reported a failure without saying why{code}"


def _receipt_for_exception(exc: Exception, config: ChannelConfig) -> Receipt:
    """Network trouble is worth another try; anything else is a bug in the adapter."""
    import httpx

    detail = redact(" ".join(str(exc).split())) or type(exc).__name__  # one line, as printed
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Receipt(ok=False, error=f"timed out after {config.timeout:g} s", retryable=True)
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
        return Receipt(ok=False, error=f"invalid request: {detail}")
    if isinstance(exc, httpx.ConnectError | ConnectionRefusedError):
        return Receipt(ok=False, error=f"could not connect: {detail}", retryable=True)
    if isinstance(exc, httpx.TransportError | OSError):
        return Receipt(ok=False, error=f"connection dropped: {detail}", retryable=True)
    # The traceback is for -v; its text can quote a credential like any error message.
    log.debug("%s adapter raised:\n%s", config.type, redact("".join(format_exception(exc))))
    return Receipt(
        ok=False,
        error=f"internal error in {config.type} adapter: {type(exc).__name__}: {detail}",
    )
