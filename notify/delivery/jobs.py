"""What the dispatcher takes and gives back (jobs, outcomes), and the journal calls it makes."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from notify.channels.base import DeliveryContext
from notify.config.model import ChannelConfig
from notify.journal.base import Delivery
from notify.model import DeliveryStatus, Message, Recipient, ThreadRef
from notify.secrets import redact


def delivery_key(update_key: str, channel: str, recipient: str) -> str:
    """Stable per (update, channel, recipient): the base of provider idempotency keys."""
    digest = hashlib.sha256(f"{update_key}\x00{channel}\x00{recipient}".encode()).hexdigest()
    return digest[:32]


@dataclass(slots=True)
class Job:
    """One planned delivery, ready to send: its journal row, channel and rendered message.

    `ctx` is the DeliveryContext its adapter gets. With `update_key` set, `ctx` is the one its
    channel's jobs share and this job's delivery key is derived from it when it is sent: 100,000
    jobs then hold no context and no key each (about 20 MB).
    """

    delivery_id: int
    channel: ChannelConfig
    message: Message
    recipient: Recipient
    thread: ThreadRef
    ctx: DeliveryContext  # `attempt` is set per attempt
    fallback_for: int | None = None  # the delivery this one rescues
    update_key: str | None = None  # set: `ctx` is shared, the key derived from this

    @property
    def key(self) -> str:
        """This delivery's key (DeliveryContext.delivery_key)."""
        if self.update_key is None:
            return self.ctx.delivery_key
        return delivery_key(self.update_key, self.channel.name, self.recipient.address)

    def context(self, attempt: int) -> DeliveryContext:
        """The context its adapter gets on attempt `attempt` (1, 2, ...)."""
        ctx = self.ctx
        if self.update_key is not None:
            return dataclasses.replace(ctx, delivery_key=self.key, attempt=attempt)
        if ctx.attempt != attempt:  # the planner's context says 1: copied only for a retry
            ctx = dataclasses.replace(ctx, attempt=attempt)
        return ctx


@dataclass(slots=True)
class Outcome:
    """What became of one job in this run."""

    delivery_id: int
    channel: str
    type: str
    recipient: str
    status: DeliveryStatus  # sent | failed | skipped | unknown (pending: not attempted)
    attempts: int = 0  # requests made in this run
    provider_message_id: str | None = None
    error: str | None = None  # one line, redacted
    fallback_for: int | None = None
    # Set (after on_done saw the failure) when a fallback delivery of this one went out.
    rescued_by: int | None = None

    @classmethod
    def of(
        cls,
        job: Job,
        status: DeliveryStatus,
        attempts: int = 0,
        provider_message_id: str | None = None,
        *,
        error: str | None = None,
    ) -> Outcome:
        """The outcome of `job`; `error` is redacted here."""
        return cls(
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


def rescues(rows: Iterable[Delivery]) -> dict[int, int]:
    """{failed delivery id: the id of the fallback delivery that went out in its place}, up
    the fallback chain: a failure rescued by its fallback is done (CONTRACT.md), so neither
    `retry` nor the exit code count it again."""
    by_id: dict[int, Delivery] = {}
    sent: list[Delivery] = []
    for row in rows:
        by_id[row.id] = row
        if row.status == DeliveryStatus.SENT and row.fallback_for is not None:
            sent.append(row)
    found: dict[int, int] = {}
    for rescuer in sent:
        parent = by_id.get(rescuer.fallback_for) if rescuer.fallback_for is not None else None
        while parent is not None and parent.id not in found:
            found[parent.id] = rescuer.id
            up = parent.fallback_for
            parent = by_id.get(up) if up is not None else None
    return found


FallbackFactory = Callable[[Job, str], list[Job]]
"""(finally failed job, its error) -> jobs on the fallback channel, rows already journaled."""


class DeliveryJournal(Protocol):
    """The part of notify.journal.base.Journal the dispatcher uses."""

    def claim(self, delivery_id: int, owner: str) -> bool: ...

    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]: ...

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

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None: ...

    def get_delivery(self, delivery_id: int) -> Delivery | None: ...
