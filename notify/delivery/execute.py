"""Delivering a prepared update: write the plan to the journal, fan out, follow fallbacks.

The journal row of each delivery exists (pending) before any request goes out; the dispatcher
claims it right before its request and records the outcome right after.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from notify.delivery.prepare import Prepared, Rendered, iso
from notify.journal.base import SENT, SKIPPED, PlannedDelivery

if TYPE_CHECKING:
    from notify.channels.base import DeliveryContext
    from notify.config.model import Config
    from notify.delivery.dispatch import Job, Outcome
    from notify.journal.base import Delivery, Journal


# No generated repr: asyncio.run reprs its finished main task, result included (CPython 3.11's
# Runner passes its SIGINT handler, which holds the task, through signal's enum lookup), and a
# full repr of 100,000 deliveries took 10 s and 800 MB.
@dataclass(repr=False)
class Result:
    """What happened to one update."""

    prepared: Prepared
    update_number: int
    outcomes: list[Outcome]

    @property
    def undelivered(self) -> list[Outcome]:
        """Primary deliveries that failed without a fallback rescuing them."""
        return [
            o
            for o in self.outcomes
            if o.status in ("failed", "unknown") and o.fallback_for is None and o.rescued_by is None
        ]


def delivery_key(update_key: str, channel: str, recipient: str) -> str:
    """Stable per (update, channel, recipient): the base of provider idempotency keys."""
    digest = hashlib.sha256(f"{update_key}\x00{channel}\x00{recipient}".encode()).hexdigest()
    return digest[:32]


def execute(
    prepared: Prepared,
    config: Config,
    journal: Journal,
    *,
    owner: str,
    on_start: Callable[[Job], None] | None = None,
    on_done: Callable[[Outcome], None] | None = None,
    on_planned: Callable[[int], None] | None = None,
) -> Result:
    """Record the update and its deliveries, then send everything not already sent."""
    incident = prepared.incident
    update, rows = journal.add_update(
        incident,
        key=prepared.key,
        template=str(prepared.update["template"]),
        status=str(prepared.update["status"]),
        message=str(prepared.update["message"]),
        next_update_at=iso(prepared.update["next_update_at"]),
        context=prepared.inputs,
        deliveries=[
            PlannedDelivery(
                r.channel.name,
                r.channel.type,
                r.recipient.address,
                status=SKIPPED if r.skip_reason else "pending",
                error=r.skip_reason,
            )
            for r in prepared.deliveries
        ],
    )
    by_target = {(r.channel.name, r.recipient.address): r for r in prepared.deliveries}
    for rendered_list in prepared.fallbacks.values():
        for r in rendered_list:
            by_target.setdefault((r.channel.name, r.recipient.address), r)
    return asyncio.run(
        _run(
            prepared,
            config,
            journal,
            update.id,
            update.number,
            rows,
            by_target,
            owner,
            on_start,
            on_done,
            on_planned,
        )
    )


async def _run(
    prepared: Prepared,
    config: Config,
    journal: Journal,
    update_id: int,
    update_number: int,
    rows: list[Delivery],
    by_target: dict[tuple[str, str], Rendered],
    owner: str,
    on_start: Callable[[Job], None] | None,
    on_done: Callable[[Outcome], None] | None,
    on_planned: Callable[[int], None] | None,
) -> Result:
    from notify.channels.base import ThreadRef
    from notify.delivery.dispatch import Dispatcher, Job, Outcome
    from notify.delivery.transport import shared_client
    from notify.journal import JournalSessionStore

    async with shared_client() as http:
        update_info = {**prepared.update, "at": iso(prepared.update["at"])}
        update_info["next_update_at"] = iso(prepared.update["next_update_at"])
        incident_info = _incident_info(prepared)

        stores: dict[str, JournalSessionStore] = {}  # one per channel, not one per delivery

        def context_for(rendered: Rendered) -> DeliveryContext:
            from notify.channels.base import DeliveryContext

            return DeliveryContext(
                http=http,
                store=stores.setdefault(
                    rendered.channel.name, JournalSessionStore(journal, rendered.channel.name)
                ),
                incident=incident_info,
                update=update_info,
                org=config.organization,
                delivery_key=delivery_key(
                    prepared.key, rendered.channel.name, rendered.recipient.address
                ),
            )

        first_update = update_number == 1  # nothing to thread under: skip 100k lookups
        no_thread = ThreadRef()  # one shared empty reference, not one per delivery

        def job_for(row: Delivery, rendered: Rendered) -> Job:
            thread = (
                no_thread
                if first_update
                else journal.thread(prepared.incident.id, row.channel, row.recipient)
            )
            return Job(
                delivery_id=row.id,
                channel=rendered.channel,
                message=rendered.message,
                recipient=rendered.recipient,
                thread=thread,
                ctx=context_for(rendered),
                fallback_for=row.fallback_for,
            )

        def fallback(job: Job, error: str) -> list[Job]:
            name = job.channel.fallback
            targets = prepared.fallbacks.get(name or "", [])
            if not name or not targets:
                return []
            new_rows = journal.add_deliveries(
                update_id,
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
                job_for(r, by_target[(r.channel, r.recipient)])
                for r in new_rows
                if r.status not in (SENT, SKIPPED)
            ]

        done: list[Outcome] = []
        jobs: list[Job] = []
        for row in rows:
            rendered = by_target.get((row.channel, row.recipient))
            if row.status in (SENT, SKIPPED) or rendered is None:
                reason = (
                    "already sent"
                    if row.status == SENT
                    else row.error or ("no longer configured" if rendered is None else None)
                )
                done.append(
                    Outcome(
                        delivery_id=row.id,
                        channel=row.channel,
                        type=row.type,
                        recipient=row.recipient,
                        status="skipped"
                        if rendered is not None or row.status != "pending"
                        else "pending",
                        attempts=row.attempts,
                        provider_message_id=row.provider_message_id,
                        error=reason,
                        fallback_for=row.fallback_for,
                    )
                )
                continue
            jobs.append(job_for(row, rendered))
        rows.clear()  # the jobs hold what is needed; 100,000 journal rows need not stay alive
        if on_planned:
            on_planned(len(jobs))
        for outcome in done:
            if on_done:
                on_done(outcome)
        dispatcher = Dispatcher(
            journal, owner=owner, fallback=fallback, on_start=on_start, on_done=on_done
        )
        try:
            outcomes = await dispatcher.run(jobs)
        finally:
            everything = prepared.deliveries + [r for rs in prepared.fallbacks.values() for r in rs]
            for channel in {r.channel.name: r.channel for r in everything}.values():
                await channel.adapter.close()
        return Result(prepared, update_number, done + outcomes)


def _incident_info(prepared: Prepared) -> dict[str, Any]:
    incident = prepared.incident
    return {
        "id": incident.id,
        "title": incident.title,
        "status": incident.status,
        "impact": incident.impact,
        "components": list(incident.components),
        "started_at": incident.started_at,
        "updated_at": incident.updated_at,
        "resolved_at": incident.resolved_at,
    }
