"""The value types every stage shares: messages, recipients, thread references, receipts, lengths
and delivery statuses. This module imports nothing of notify, so any stage may use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol


class DeliveryStatus(StrEnum):
    """Where one delivery stands (CONTRACT.md, `--json`). Members compare equal to their strings,
    so the journal stores and reads them as plain text."""

    PENDING = "pending"  # planned, not attempted yet (and every delivery of a dry run)
    UNKNOWN = "unknown"  # claimed by a run, request in flight; stays so if that run dies
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"  # already sent under the same key, suppressed, or no longer configured

    @property
    def final(self) -> bool:
        """Nothing more to do: `retry` leaves it alone."""
        return self in (DeliveryStatus.SENT, DeliveryStatus.SKIPPED)


@dataclass(frozen=True)
class Length:
    """A rendered message's length as its channel counts it, with the channel's limit."""

    value: int
    limit: int | None  # None: the channel sets none (the value is still shown)
    unit: str  # "segments", "weighted", "graphemes", "characters", "bytes"
    detail: Mapping[str, Any] = field(default_factory=dict)  # e.g. {"encoding": "GSM-7"}
    # False: past the limit the message still goes out, only worse (Gmail clips a long email),
    # so preflight does not refuse it.
    enforced: bool = True

    @property
    def ok(self) -> bool:
        return self.limit is None or not self.enforced or self.value <= self.limit

    def describe(self) -> str:
        # A flag in the detail reads as its name when set, and not at all when not.
        extra = ", ".join(
            k if v is True else f"{k} {v}" for k, v in self.detail.items() if v is not False
        )
        text = (
            f"{self.value} {self.unit}"
            if self.limit is None
            else (f"{self.value}/{self.limit} {self.unit}")
        )
        return f"{text} ({extra})" if extra else text

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "limit": self.limit, "unit": self.unit, **self.detail}


@dataclass(frozen=True)
class Message:
    """What one channel sends, already in its own format (see `ChannelSpec.format`)."""

    text: str  # plain (sms, social), mrkdwn, Telegram HTML, Discord/Teams markdown, email text part
    subject: str | None = None  # email subject; chat title; single line, no CR/LF
    html: str | None = None  # email HTML part
    status: str | None = None  # the incident status this update sets (cards, Slack root edit)
    link: str | None = None  # the status page link (kept by truncation, shown on cards)

    def rendered(self) -> dict[str, Any]:
        """The fields that would go out, for `preview --json`."""
        out: dict[str, Any] = {"text": self.text}
        if self.subject is not None:
            out["subject"] = self.subject
        if self.html is not None:
            out["html"] = self.html
        return out


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who one delivery goes to: an address, number, or the channel / chat / account / endpoint."""

    address: str
    fields: Mapping[str, Any] = field(default_factory=dict)  # `recipient.*` in templates

    @property
    def locale(self) -> str | None:
        value = self.fields.get("locale")
        return str(value) if value else None

    @property
    def tags(self) -> frozenset[str]:
        value = self.fields.get("tags") or ()
        return frozenset(value)


@dataclass(frozen=True, slots=True)
class ThreadRef:
    """What this incident's earlier successful deliveries on this channel and recipient left.

    Each entry is the `Receipt.thread_data` of one earlier delivery (plus "provider_message_id").
    Empty for an incident's first update: the adapter then starts a thread.
    """

    root: Mapping[str, Any] | None = None  # the incident's first delivery here
    previous: Mapping[str, Any] | None = None  # the latest one
    history: tuple[Mapping[str, Any], ...] = ()  # all of them, oldest first (email References)

    @classmethod
    def of(cls, history: tuple[Mapping[str, Any], ...]) -> ThreadRef:
        """The thread the earlier deliveries' entries (oldest first) make. A delivery posted
        unthreaded because the post it replied to was gone (its entry says THREAD_RESTARTED)
        starts the thread anew: later updates thread under it."""
        for index in range(len(history) - 1, 0, -1):
            if history[index].get(THREAD_RESTARTED):
                history = history[index:]
                break
        if not history:
            return cls()
        return cls(root=history[0], previous=history[-1], history=history)


# Set in a delivery's thread data when it went out unthreaded (its thread's post was deleted).
THREAD_RESTARTED = "thread_restarted"


@dataclass
class Receipt:
    """A provider's answer, as the dispatcher needs it."""

    ok: bool
    provider_message_id: str | None = None
    thread_data: dict[str, Any] = field(default_factory=dict)  # kept for later updates; no secrets
    error: str | None = None  # one line: what the provider said and what to check; no secrets
    retryable: bool = False  # 429, 5xx, timeouts, dropped connections
    retry_after: float | None = None  # seconds the provider asked us to wait, when it said
    status_code: int | None = None


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One delivery of a batch: what `send` takes for it, plus its own delivery key."""

    message: Message
    recipient: Recipient
    thread: ThreadRef
    delivery_key: str  # DeliveryContext.delivery_key of this delivery (ctx carries the first's)


class SessionStore(Protocol):
    """Small persistent key-value store (journal-backed) for provider sessions (Bluesky)."""

    def get(self, key: str) -> dict[str, Any] | None: ...

    def set(self, key: str, value: dict[str, Any]) -> None: ...


COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
"""A component's status: Atlassian Statuspage's value set, which status pages and their JSON use."""


_BY_IMPACT = {"major": "partial_outage", "critical": "major_outage"}


def component_status_for(update_status: str | None, impact: str | None) -> str | None:
    """The status an update gives a component it names (CONTRACT.md): impact none or minor ->
    degraded_performance, major -> partial_outage, critical -> major_outage; maintenance in
    progress -> under_maintenance; resolved or completed -> operational. None for maintenance
    only announced: the component keeps its status until the window starts."""
    if update_status in ("resolved", "completed"):
        return "operational"
    if update_status == "in_progress":
        return "under_maintenance"
    if update_status == "scheduled":
        return None
    return _BY_IMPACT.get(impact or "", "degraded_performance")


@dataclass(frozen=True, slots=True)
class Component:
    """One part of the service that status pages list (`components:` in channels.yaml)."""

    name: str
    group: str | None = None  # shown under this heading; None: on its own
    description: str = ""


@dataclass(frozen=True)
class Workspace:
    """What channels.yaml says besides the channels, for adapters that publish whole pages from
    the journal (the status site): the organization, its time zone, its components and the
    templates folders (which may override the pages' own templates)."""

    organization: Mapping[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"
    components: tuple[Component, ...] = ()
    template_dirs: tuple[Path, ...] = ()
