"""The journal's interface: incidents, updates, deliveries, thread references, sessions.

SQLite (notify.journal.sqlite) and PostgreSQL (notify.journal.postgres) implement it, so nothing
outside this package may use SQL. The journal knows nothing of providers:
thread data and provider ids are opaque JSON to it. Nothing secret is ever written here.

Delivery statuses (CONTRACT.md): pending -> unknown (claimed, request in flight) -> sent | failed.
`skipped` is written for suppressed recipients. A row is unique per (update, channel, recipient),
which is what makes `--key` and `retry` safe.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from notify.model import DeliveryStatus, ThreadRef

PENDING = DeliveryStatus.PENDING
IN_FLIGHT = DeliveryStatus.UNKNOWN  # claimed by a run; stays `unknown` if that run dies mid-request
SENT = DeliveryStatus.SENT
FAILED = DeliveryStatus.FAILED
SKIPPED = DeliveryStatus.SKIPPED
ALL_STATUSES = frozenset(DeliveryStatus)  # what a delivery row may hold (the schema checks it too)
FINAL_STATUSES = frozenset({SENT, SKIPPED})
RETRYABLE_STATUSES = frozenset({PENDING, FAILED, IN_FLIGHT})
# Every table a journal holds, those that refer to others first (the order rows are removed in).
TABLES = (
    "deliveries",
    "updates",
    "incidents",
    "kv",
    "suppressions",
    "scheduled_actions",
    "callbacks",
)


@dataclass
class Incident:
    id: str
    title: str
    status: str
    impact: str | None = None
    components: list[str] = field(default_factory=list)
    started_at: str = ""  # ISO 8601, UTC
    updated_at: str = ""
    resolved_at: str | None = None


@dataclass
class Update:
    id: int
    incident_id: str
    number: int  # 1 for the incident's first update
    key: str  # idempotency key (--key, or generated)
    template: str
    status: str
    message: str
    created_at: str  # ISO 8601, UTC
    next_update_at: str | None = None
    context: dict[str, Any] = field(default_factory=dict)  # non-secret inputs, so retry re-renders


@dataclass(slots=True)
class PlannedDelivery:
    """One row to write before anything is sent."""

    channel: str
    type: str
    recipient: str
    fallback_for: int | None = None  # the delivery id this one rescues
    status: str = "pending"  # or "skipped" (suppressed)
    error: str | None = None  # why skipped


@dataclass(slots=True)
class Delivery:
    id: int
    update_id: int
    incident_id: str
    channel: str
    type: str
    recipient: str
    status: str
    attempts: int = 0
    provider_message_id: str | None = None
    thread_data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    fallback_for: int | None = None
    owner: str | None = None  # the run that claimed it ("host:pid:start")
    created_at: str = ""
    updated_at: str = ""


@dataclass(frozen=True, slots=True)
class ScheduledAction:
    """What `notify tick` did about one due moment: unique per (kind, incident, update, slot)."""

    kind: str  # reminder, overdue, maintenance-reminder, maintenance-started, ...
    incident_id: str
    update_number: int  # the update that set the moment up (its --next-update, window, ...)
    slot: str  # which of its moments ("24h" before a window; "" when it has one)
    due_at: str  # ISO 8601, UTC
    status: str  # sent | failed | skipped
    key: str = ""  # the key of the update it went out as ("" when skipped before sending)
    created_at: str = ""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """A caller who asked the support line for a text when the incident is fixed."""

    incident_id: str
    channel: str  # the voice channel whose number they called
    caller: str  # E.164, as Twilio gave it
    call_sid: str  # the call in which they pressed 1 (the first one, if they called twice)
    requested_at: str  # ISO 8601 UTC: when that call started
    created_at: str = ""  # when notify recorded it


@dataclass(frozen=True)
class JournalInfo:
    """What `notify check` says about a journal."""

    backend: str  # "SQLite", "PostgreSQL"
    location: str  # as it may be shown: a password masked
    schema: int  # the latest schema step applied


@dataclass
class JournalContents:
    """Everything a journal holds, as `notify journal copy` moves it to another journal.

    Ids are the source's: the destination gives rows its own and maps update_id and fallback_for
    to them. Thread references are the deliveries' provider ids and thread_data, so they move
    with them."""

    incidents: list[Incident] = field(default_factory=list)  # oldest first
    updates: list[Update] = field(default_factory=list)  # by id
    deliveries: list[Delivery] = field(default_factory=list)  # by id
    sessions: list[tuple[str, dict[str, Any], str]] = field(default_factory=list)  # kv rows
    suppressions: list[tuple[str, str, str, str]] = field(default_factory=list)
    actions: list[ScheduledAction] = field(default_factory=list)  # oldest first
    callbacks: list[CallbackRequest] = field(default_factory=list)  # in the order recorded

    def counts(self) -> dict[str, int]:
        return {
            "incidents": len(self.incidents),
            "updates": len(self.updates),
            "deliveries": len(self.deliveries),
            "sessions": len(self.sessions),
            "suppressions": len(self.suppressions),
            "actions": len(self.actions),
            "callbacks": len(self.callbacks),
        }


class Journal(ABC):
    """Storage of everything notify did. Every method is one transaction."""

    # incidents
    @abstractmethod
    def get_incident(self, incident_id: str) -> Incident | None: ...

    @abstractmethod
    def save_incident(self, incident: Incident) -> None:
        """Insert, or update title/status/impact/components/updated_at/resolved_at."""

    @abstractmethod
    def list_incidents(self, include_resolved: bool = False) -> list[Incident]:
        """Newest first."""

    # updates
    @abstractmethod
    def find_update(self, key: str) -> Update | None: ...

    @abstractmethod
    def add_update(
        self,
        incident: Incident,
        *,
        key: str,
        template: str,
        status: str,
        message: str,
        next_update_at: str | None,
        context: dict[str, Any],
        deliveries: Sequence[PlannedDelivery],
    ) -> tuple[Update, list[Delivery]]:
        """Atomically: save the incident, create the update (number = previous + 1) and its planned
        deliveries. If an update with `key` exists already, change nothing and return it with its
        deliveries (adding planned rows it lacks, so a retry after a config change still plans
        them). Two processes calling this with one key at once get the same update."""

    @abstractmethod
    def updates(self, incident_id: str) -> list[Update]:
        """Oldest first."""

    # deliveries
    @abstractmethod
    def add_deliveries(self, update_id: int, rows: Iterable[PlannedDelivery]) -> list[Delivery]:
        """Insert rows (fallbacks); an existing (update, channel, recipient) row is returned."""

    @abstractmethod
    def claim(self, delivery_id: int, owner: str) -> bool:
        """Mark a delivery in flight for `owner`, atomically. True only if it was pending or
        failed, or in flight under an owner that is no longer running (a dead run). False when it
        is sent, skipped, or in flight under a live owner (another process is sending it)."""

    @abstractmethod
    def finish(
        self,
        delivery_id: int,
        *,
        status: str,
        attempts: int,
        provider_message_id: str | None = None,
        thread_data: dict[str, Any] | None = None,
        error: str | None = None,
    ) -> None:
        """Record an outcome (sent / failed), after the request."""

    def claim_many(self, delivery_ids: Sequence[int], owner: str) -> list[int]:
        """`claim` for a batch's rows (one request carries them all): returns the ids claimed.
        Backends override it to write once per batch; rows it leaves are tried with `claim`."""
        return [i for i in delivery_ids if self.claim(i, owner)]

    def finish_many(self, outcomes: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """`finish` for a batch's rows: (delivery_id, finish's keyword arguments) each."""
        for delivery_id, fields in outcomes:
            self.finish(delivery_id, **fields)

    @abstractmethod
    def get_delivery(self, delivery_id: int) -> Delivery | None: ...

    @abstractmethod
    def deliveries(
        self,
        *,
        update_id: int | None = None,
        incident_id: str | None = None,
        statuses: Iterable[str] | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[Delivery]: ...

    @abstractmethod
    def thread(self, incident_id: str, channel: str, recipient: str) -> ThreadRef:
        """Thread data of this incident's earlier *sent* deliveries on this channel/recipient."""

    # scheduled actions (`notify tick`)
    @abstractmethod
    def record_action(self, action: ScheduledAction) -> bool:
        """Record what became of a due moment, once: True when this call recorded it, False
        when its (kind, incident, update, slot) was recorded already (that record stays)."""

    @abstractmethod
    def actions(self, incident_id: str | None = None) -> list[ScheduledAction]:
        """The recorded actions (of one incident, or all), oldest first."""

    # call-back requests (the support line)
    @abstractmethod
    def record_callback(self, request: CallbackRequest) -> bool:
        """Record a caller's request, once per (incident, channel, caller): True when this call
        recorded it, False when that caller was recorded already (the first record stays)."""

    @abstractmethod
    def callbacks(self, incident_id: str | None = None) -> list[CallbackRequest]:
        """The recorded requests (of one incident, or all), oldest first by requested_at."""

    # provider sessions (Bluesky): small JSON values, never printed
    @abstractmethod
    def kv_get(self, key: str) -> dict[str, Any] | None: ...

    @abstractmethod
    def kv_set(self, key: str, value: dict[str, Any]) -> None: ...

    # suppression list (opt-outs): channel "*" means every channel
    @abstractmethod
    def suppress(self, channel: str, recipient: str, reason: str = "") -> None: ...

    @abstractmethod
    def unsuppress(self, channel: str, recipient: str) -> bool: ...

    @abstractmethod
    def suppressed(self, channel: str | None = None) -> list[tuple[str, str, str, str]]:
        """(channel, recipient, reason, created_at) rows."""

    @abstractmethod
    def is_suppressed(self, channel: str, recipient: str) -> bool: ...

    # the journal as a whole: `notify check` and `notify journal copy`
    @abstractmethod
    def describe(self) -> JournalInfo:
        """Backend, location (password masked) and schema step."""

    def verify(self) -> list[str]:
        """What is wrong with the stored data itself (`notify check`): [] when it is sound.
        A backend that keeps its own integrity (a database server) has nothing to add."""
        return []

    @abstractmethod
    def is_empty(self) -> bool:
        """No incident, update, delivery, session, opt-out, action or call-back request."""

    @abstractmethod
    def export_contents(self) -> JournalContents:
        """Every row, read in one consistent snapshot."""

    @abstractmethod
    def import_contents(self, contents: JournalContents, *, replace: bool = False) -> None:
        """Write `contents` (another journal's, ids remapped) in one transaction. Refuses
        (JournalError) a journal that is not empty, unless `replace`: then what it held goes."""

    @abstractmethod
    def close(self) -> None: ...
