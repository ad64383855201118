"""The plan stage: an update and its deliveries recorded as pending, then turned into jobs.

The journal row of each delivery exists (pending, or skipped) before any request goes out; the
dispatcher claims it right before its request and records the outcome right after. A failure
that calls for a fallback gets its rows here too, journaled before they are sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from notify.channels.base import DeliveryContext
from notify.delivery.incident import incident_json, iso
from notify.delivery.jobs import Job, Outcome, rescues
from notify.journal import JournalSessionStore
from notify.journal.base import FINAL_STATUSES, PlannedDelivery
from notify.model import DeliveryStatus, ThreadRef

if TYPE_CHECKING:
    import httpx

    from notify.config.model import ChannelConfig, Config
    from notify.delivery.preflight import CheckedUpdate, RenderedDelivery
    from notify.journal.base import Delivery, Journal, Update

_NO_THREAD = ThreadRef()  # an incident's first update threads under nothing: one shared value


def delivery_key(update_key: str, channel: str, recipient: str) -> str:
    """Stable per (update, channel, recipient): the base of provider idempotency keys."""
    digest = hashlib.sha256(f"{update_key}\x00{channel}\x00{recipient}".encode()).hexdigest()
    return digest[:32]


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
        self._stores: dict[str, JournalSessionStore] = {}  # one per channel, not per delivery
        self._by_target = {(r.channel.name, r.recipient.address): r for r in checked.deliveries}
        for rendered_list in checked.fallbacks.values():
            for r in rendered_list:
                self._by_target.setdefault((r.channel.name, r.recipient.address), r)

    def jobs(self, rows: list[Delivery]) -> tuple[list[Job], list[Outcome]]:
        """(jobs for the rows still to send, outcomes of the rest: sent or skipped by an earlier
        run, or whose channel or recipient is no longer configured)."""
        jobs: list[Job] = []
        settled: list[Outcome] = []
        rescued = rescues(rows)
        for row in rows:
            rendered = self._by_target.get((row.channel, row.recipient))
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
        return [
            self._job(r, self._by_target[(r.channel, r.recipient)])
            for r in new_rows
            if r.status not in FINAL_STATUSES
        ]

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
        store = self._stores.get(channel.name)
        if store is None:
            store = self._stores[channel.name] = JournalSessionStore(self._journal, channel.name)
        ctx = DeliveryContext(
            http=self._http,
            store=store,
            incident=self._incident,
            update=self._update,
            org=self._config.organization,
            delivery_key=delivery_key(self._checked.key, channel.name, rendered.recipient.address),
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
        )
