"""The plan stage: an update and its deliveries recorded as pending, then turned into jobs.

The journal row of each delivery exists (pending, or skipped) before any request goes out; the
dispatcher claims it right before its request and records the outcome right after. A failure
that calls for a fallback gets its rows here too, journaled before they are sent.
"""

from __future__ import annotations

from collections.abc import Iterator
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

__all__ = ["Plan", "delivery_key", "record_plan"]


def record_plan(checked: CheckedUpdate, journal: Journal) -> tuple[Update, list[Delivery]]:
    """Write the update, its incident and one row per delivery (pending, or skipped for a
    suppressed recipient). Under an existing --key, the rows it has already (and any it lacks)."""
    draft = checked.draft
    return journal.add_update(
        draft.incident,
        key=draft.key,
        template=draft.template,
        status=draft.status,
        message=draft.message,
        next_update_at=iso(draft.next_update_at),
        context=draft.inputs.to_json(),
        deliveries=[
            PlannedDelivery(
                r.channel.name,
                r.channel.type,
                r.recipient.address,
                status=DeliveryStatus.SKIPPED if r.skip_reason else DeliveryStatus.PENDING,
                error=r.skip_reason,
            )
            for r in checked.deliveries
        ],
    )


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

    def jobs(self, rows: list[Delivery]) -> tuple[list[Job], list[Outcome]]:
        """(jobs for the rows still to send, outcomes of the rest: sent or skipped by an earlier
        run, or whose channel or recipient is no longer configured)."""
        jobs: list[Job] = []
        settled: list[Outcome] = []
        rescued = rescues(rows)
        for index, row in enumerate(rows):
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
