"""The plan stage: an update and its deliveries recorded as pending, then turned into jobs.

The journal row of each delivery exists (pending, or skipped) before any request goes out; the
dispatcher claims it right before its request and records the outcome right after. A failure
that calls for a fallback gets its rows here too, journaled before they are sent.

A new update with a large audience is recorded in parts: its first FIRST_PART rows, then the
rest while those go out (recording 10,000 rows took ~0.15 s before the first request); not
when a channel of it batches deliveries, whose batches parts would split. Until
the last part is recorded, one pending row of the first part is held back, so a run stopped
in between always leaves the update unfinished: `notify retry` renders it again and records
what is missing before sending it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from notify.channels.base import DeliveryContext
from notify.delivery.incident import incident_json, iso
from notify.delivery.jobs import Job, Outcome, delivery_key, rescues
from notify.journal import JournalSessionStore
from notify.journal.base import FINAL_STATUSES, PlannedDelivery
from notify.model import DeliveryStatus, ThreadRef

if TYPE_CHECKING:
    import httpx

    from notify.config.model import ChannelConfig, Config
    from notify.delivery.preflight import CheckedUpdate, RenderedDelivery
    from notify.journal.base import Delivery, Journal, Update

_NO_THREAD = ThreadRef()  # an incident's first update threads under nothing: one shared value

__all__ = ["Plan", "RecordedPlan", "delivery_key", "record_plan"]


FIRST_PART = 256  # rows of a new update recorded before its first request
LATER_PART = 256  # rows recorded at a time after that (~5 ms each, between requests)


@dataclass
class RecordedPlan:
    """The update, the rows recorded so far, and the deliveries still to record (`rest`, empty
    unless the update is new and large; they follow `rows` in preflight's order)."""

    update: Update
    rows: list[Delivery]
    rest: list[RenderedDelivery] = field(default_factory=list)


def planned_rows(deliveries: Iterable[RenderedDelivery]) -> list[PlannedDelivery]:
    """The journal rows of `deliveries`: pending, or skipped for a suppressed recipient."""
    return [
        PlannedDelivery(
            r.channel.name,
            r.channel.type,
            r.recipient.address,
            status=DeliveryStatus.SKIPPED if r.skip_reason else DeliveryStatus.PENDING,
            error=r.skip_reason,
        )
        for r in deliveries
    ]


def record_plan(checked: CheckedUpdate, journal: Journal) -> RecordedPlan:
    """Write the update, its incident and one row per delivery, or the first part of them (see
    the module's docstring). Under an existing --key, the rows it has already (and any it
    lacks)."""
    draft = checked.draft
    deliveries = checked.deliveries
    # A channel that batches (SendGrid) sends what is queued when its request goes: parts
    # would split its batches into more requests. Such a plan is recorded whole.
    in_parts = (
        draft.existing is None
        and len(deliveries) > FIRST_PART + LATER_PART
        and not any(c.adapter.batch_size() > 1 for c, _ in checked.channel_counts().values())
    )

    def add(part: list[RenderedDelivery]) -> tuple[Update, list[Delivery]]:
        return journal.add_update(
            draft.incident,
            key=draft.key,
            template=draft.template,
            status=draft.status,
            message=draft.message,
            next_update_at=iso(draft.next_update_at),
            context=draft.inputs.to_json(),
            deliveries=planned_rows(part),
        )

    if not in_parts:
        return RecordedPlan(*add(deliveries))
    first = deliveries[:FIRST_PART]
    update, rows = add(first)
    if len(rows) != len(first) or not any(r.status == DeliveryStatus.PENDING for r in rows):
        # Another run recorded this key first, or nothing of the first part is to send (no row
        # to hold back): every row now, as for a re-run.
        return RecordedPlan(*add(deliveries))
    return RecordedPlan(update, rows, deliveries[FIRST_PART:])


class Plan:
    """One recorded update in one run: its journal rows turned into jobs, and the jobs a failed
    delivery's fallback channel calls for. Each job carries its DeliveryContext (the shared HTTP
    client, the channel's session store, the incident and update as adapters see them)."""

    def __init__(
        self,
        checked: CheckedUpdate,
        config: Config,
        journal: Journal,
        update: Update,
        http: httpx.AsyncClient,
    ) -> None:
        self._checked = checked
        self._config = config
        self._journal = journal
        self._update_id = update.id
        self._first_update = update.number == 1  # nothing to thread under: skip 100k lookups
        self._http = http
        self._incident = incident_json(checked.draft.incident)
        self._update = checked.draft.update_json()
        self._workspace = config.workspace()  # for adapters that publish pages (the site)
        self._contexts: dict[str, DeliveryContext] = {}  # one per channel, not per delivery
        self._by_target: dict[tuple[str, str], RenderedDelivery] | None = None  # see _rendered

    def jobs_in_parts(
        self, recorded: RecordedPlan, on_settled: Callable[[Outcome], None]
    ) -> tuple[list[Job], list[Outcome], AsyncIterator[list[Job]] | None]:
        """(jobs of the rows recorded, outcomes of the rest of them, and when rows remain to be
        recorded, the later parts' jobs as they are recorded, the held-back job last; the
        outcomes of later rows that need no request go to `on_settled`)."""
        jobs, settled = self.jobs(recorded.rows)
        if not recorded.rest:
            return jobs, settled, None
        # The last of the first part: it would go out after the rest of the part anyway.
        held = jobs.pop()
        # Where the rest starts, taken now: the caller lets go of `rows` before this runs.
        later = self._later(recorded.rest, len(recorded.rows), held, on_settled)
        return jobs, settled, later

    async def _later(
        self,
        rest: list[RenderedDelivery],
        start: int,
        held: Job,
        on_settled: Callable[[Outcome], None],
    ) -> AsyncIterator[list[Job]]:
        for at in range(0, len(rest), LATER_PART):
            began = time.monotonic()
            part = planned_rows(rest[at : at + LATER_PART])
            rows = self._journal.add_deliveries(self._update_id, part)
            jobs, settled = self.jobs(rows, start=start + at)
            for outcome in settled:
                on_settled(outcome)
            yield jobs  # queued by the dispatcher before this resumes
            # Half the event loop at most: back to back, the parts of 10,000 rows held requests
            # due meanwhile back by more than the pacing catches up, and 0.1-0.2 s were lost.
            await asyncio.sleep(time.monotonic() - began)
        yield [held]  # the whole plan is recorded: the update no longer needs it pending

    def _rendered(self, row: Delivery, index: int) -> RenderedDelivery | None:
        """What preflight rendered for `row`, the `index`th row of the update. A new update's
        rows are in the order preflight planned them: matched by position, no 100,000-entry
        index. Rows out of that order (a re-run under a --key, fallbacks) are looked up."""
        planned = self._checked.deliveries
        if index < len(planned):
            rendered = planned[index]
            if rendered.channel.name == row.channel and rendered.recipient.address == row.recipient:
                return rendered
        return self._lookup(row.channel, row.recipient)

    def _lookup(self, channel: str, recipient: str) -> RenderedDelivery | None:
        if self._by_target is None:
            checked = self._checked
            self._by_target = {(r.channel.name, r.recipient.address): r for r in checked.deliveries}
            for rendered_list in checked.fallbacks.values():
                for r in rendered_list:
                    self._by_target.setdefault((r.channel.name, r.recipient.address), r)
        return self._by_target.get((channel, recipient))

    def jobs(self, rows: list[Delivery], start: int = 0) -> tuple[list[Job], list[Outcome]]:
        """(jobs for the rows still to send, outcomes of the rest: sent or skipped by an earlier
        run, or whose channel or recipient is no longer configured). `rows` are planned from
        the `start`th delivery of preflight's order on."""
        jobs: list[Job] = []
        settled: list[Outcome] = []
        rescued = rescues(rows)
        for index, row in enumerate(rows, start):
            rendered = self._rendered(row, index)
            if row.id in rescued:  # its fallback went out in its place: done, not resent
                settled.append(
                    Outcome(
                        delivery_id=row.id,
                        channel=row.channel,
                        type=row.type,
                        recipient=row.recipient,
                        status=DeliveryStatus(row.status),
                        attempts=row.attempts,
                        error=row.error,
                        fallback_for=row.fallback_for,
                        rescued_by=rescued[row.id],
                    )
                )
                continue
            if rendered is not None and row.status not in FINAL_STATUSES:
                jobs.append(self._job(row, rendered))
                continue
            if row.status == DeliveryStatus.SENT:
                reason: str | None = "already sent"
            else:
                reason = row.error or ("no longer configured" if rendered is None else None)
            # A row no longer configured that nobody tried stays pending, for a later retry.
            untried = rendered is None and row.status == DeliveryStatus.PENDING
            settled.append(
                Outcome(
                    delivery_id=row.id,
                    channel=row.channel,
                    type=row.type,
                    recipient=row.recipient,
                    status=DeliveryStatus.PENDING if untried else DeliveryStatus.SKIPPED,
                    attempts=row.attempts,
                    provider_message_id=row.provider_message_id,
                    error=reason,
                    fallback_for=row.fallback_for,
                )
            )
        return jobs, settled

    def fallback(self, job: Job, error: str) -> list[Job]:
        """Jobs on `job`'s fallback channel (rows journaled first), after it finally failed."""
        name = job.channel.fallback
        targets = self._checked.fallbacks.get(name or "", [])
        if not name or not targets:
            return []
        new_rows = self._journal.add_deliveries(
            self._update_id,
            [
                PlannedDelivery(
                    t.channel.name,
                    t.channel.type,
                    t.recipient.address,
                    fallback_for=job.delivery_id,
                )
                for t in targets
                if not t.skip_reason
            ],
        )
        jobs = []
        for r in new_rows:
            rendered = self._lookup(r.channel, r.recipient)
            if rendered is not None and r.status not in FINAL_STATUSES:
                jobs.append(self._job(r, rendered))
        return jobs

    def channels(self) -> Iterator[ChannelConfig]:
        """Every channel the plan may use, once each (their adapters are closed after the run)."""
        seen: set[str] = set()
        for rendered_list in (self._checked.deliveries, *self._checked.fallbacks.values()):
            for r in rendered_list:
                if r.channel.name not in seen:
                    seen.add(r.channel.name)
                    yield r.channel

    def _job(self, row: Delivery, rendered: RenderedDelivery) -> Job:
        channel = rendered.channel
        thread = (
            _NO_THREAD
            if self._first_update
            else self._journal.thread(self._checked.draft.incident.id, row.channel, row.recipient)
        )
        ctx = self._contexts.get(channel.name)
        if ctx is None:
            store = JournalSessionStore(self._journal, channel.name)
            ctx = self._contexts[channel.name] = DeliveryContext(
                http=self._http,
                store=store,
                incident=self._incident,
                update=self._update,
                org=self._config.organization,
                delivery_key="",  # each job's own, derived from update_key when it is sent
                journal=self._journal,
                workspace=self._workspace,
            )
        return Job(
            delivery_id=row.id,
            channel=channel,
            message=rendered.message,
            recipient=rendered.recipient,
            thread=thread,
            ctx=ctx,
            fallback_for=row.fallback_for,
            update_key=self._checked.key,
        )
