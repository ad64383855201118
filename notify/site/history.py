"""The journal read as a status site sees it: incidents with their entries, and components.

An entry is one update as the page shows it: its status, time, words (the site channel's own
rendering, kept in its delivery's thread data; the update's message where there is none) and
the component statuses it set (recorded with the update). Nothing here renders or writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import TYPE_CHECKING, Any

from notify.model import COMPONENT_STATUSES, Component

if TYPE_CHECKING:
    from notify.journal.base import Incident, Journal, Update

MAINTENANCE_STATUSES = frozenset({"scheduled", "in_progress", "verifying", "completed"})
CLOSED_STATUSES = frozenset({"resolved", "completed"})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as the journal writes it (or a datetime), in UTC; None when absent or
    unreadable (a free-text maintenance window like "Sunday night")."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value.strip():
        try:
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Entry:
    """One update of an incident as the site shows it."""

    number: int
    status: str
    at: datetime
    text: str  # plain text
    html: str  # an HTML fragment: notify's own rendering, or the message escaped
    components: Mapping[str, str] = field(default_factory=dict)  # name -> status it set
    next_update_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class CurrentEntry:
    """The entry being delivered right now (its delivery is not finished in the journal yet)."""

    incident_id: str
    number: int
    text: str
    html: str


@dataclass(frozen=True)
class SiteIncident:
    """An incident or maintenance as the site shows it; `entries` oldest first."""

    id: str
    title: str
    status: str
    impact: str | None
    components: tuple[str, ...]
    started_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    entries: tuple[Entry, ...]
    workaround: str | None = None  # the latest `vars.workaround`: what to do meanwhile
    starts_at: datetime | None = None  # a maintenance window, when one was given as a time
    ends_at: datetime | None = None

    @property
    def is_maintenance(self) -> bool:
        first = self.entries[0].status if self.entries else self.status
        return first in MAINTENANCE_STATUSES or self.status in MAINTENANCE_STATUSES

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES or self.resolved_at is not None

    @property
    def is_upcoming(self) -> bool:
        """A maintenance announced and not started yet."""
        return self.is_maintenance and self.status == "scheduled"

    @property
    def is_active(self) -> bool:
        """What the banner and the top of the page show: an open incident, or a maintenance in
        progress."""
        return not self.is_closed and not self.is_upcoming

    @property
    def latest(self) -> Entry | None:
        return self.entries[-1] if self.entries else None


@dataclass(frozen=True)
class ComponentState:
    """A component and where it stands now."""

    component: Component
    status: str  # one of COMPONENT_STATUSES
    since: datetime | None  # when the latest update that named it was posted


@dataclass(frozen=True)
class History:
    """Everything the site shows, read once."""

    incidents: tuple[SiteIncident, ...]  # newest first
    components: tuple[ComponentState, ...]  # declared order, then ones met only in updates
    updated_at: datetime  # the latest change, for `page.updated_at`


def read_history(
    journal: Journal,
    *,
    components: Iterable[Component] = (),
    channel: str | None = None,
    current: CurrentEntry | None = None,
) -> History:
    """Every incident of `journal` with its entries, and the components' latest statuses.

    `channel` names the site channel whose delivered entries to show (None: the messages);
    `current` is the entry being delivered now, which the journal does not hold as sent yet.
    """
    incidents = []
    for incident in journal.list_incidents(include_resolved=True):
        updates = journal.updates(incident.id)
        stored = _stored_entries(journal, incident.id, channel) if channel else {}
        if current is not None and current.incident_id == incident.id:
            stored[current.number] = {"text": current.text, "html": current.html}
        incidents.append(_site_incident(incident, updates, stored))
    states = component_states(components, incidents)
    latest = max((i.updated_at for i in incidents), default=_EPOCH)
    return History(tuple(incidents), states, latest)


def _stored_entries(journal: Journal, incident_id: str, channel: str) -> dict[int, dict[str, Any]]:
    """What the site channel rendered for each update of the incident, by update number."""
    thread = journal.thread(incident_id, channel, channel)
    found: dict[int, dict[str, Any]] = {}
    for data in thread.history:
        number = data.get("update")
        if isinstance(number, int) and isinstance(data.get("html"), str):
            found[number] = dict(data)
    return found


def _site_incident(
    incident: Incident, updates: list[Update], stored: Mapping[int, Mapping[str, Any]]
) -> SiteIncident:
    entries = []
    workaround: str | None = None
    window: tuple[datetime | None, datetime | None] = (None, None)
    for update in updates:
        context = update.context or {}
        if context.get("scheduled"):
            continue  # tick's reminders and feedback go to their own channels, not the page
        variables = context.get("vars") if isinstance(context.get("vars"), Mapping) else {}
        assert isinstance(variables, Mapping)
        if isinstance(variables.get("workaround"), str):
            workaround = variables["workaround"].strip() or None
        window = _window(context, variables) or window
        entries.append(_entry(update, stored.get(update.number), context))
    started = parse_time(incident.started_at) or _EPOCH
    return SiteIncident(
        id=incident.id,
        title=incident.title,
        status=incident.status,
        impact=incident.impact,
        components=tuple(incident.components),
        started_at=started,
        updated_at=parse_time(incident.updated_at) or started,
        resolved_at=parse_time(incident.resolved_at),
        entries=tuple(entries),
        workaround=workaround,
        starts_at=window[0],
        ends_at=window[1],
    )


def _window(
    context: Mapping[str, Any], variables: Mapping[str, Any]
) -> tuple[datetime | None, datetime | None] | None:
    """A maintenance window: `--starts/--ends` (recorded as `maintenance`), else the
    `window_start` / `window_end` variables when they are times."""
    recorded = context.get("maintenance")
    if isinstance(recorded, Mapping):
        starts, ends = recorded.get("starts_at"), recorded.get("ends_at")
    else:
        starts, ends = variables.get("window_start"), variables.get("window_end")
    start, end = parse_time(starts), parse_time(ends)
    return (start, end) if start or end else None


def _entry(update: Update, stored: Mapping[str, Any] | None, context: Mapping[str, Any]) -> Entry:
    statuses = context.get("component_statuses")
    components = {
        str(name): str(status)
        for name, status in (statuses.items() if isinstance(statuses, Mapping) else ())
        if status in COMPONENT_STATUSES
    }
    if stored is not None:
        text, html = str(stored.get("text") or ""), str(stored.get("html") or "")
    else:
        text = update.message
        html = "".join(f"<p>{escape(p.strip())}</p>" for p in text.split("\n\n") if p.strip())
    return Entry(
        number=update.number,
        status=update.status,
        at=parse_time(update.created_at) or _EPOCH,
        text=text,
        html=html,
        components=components,
        next_update_at=parse_time(update.next_update_at),
    )


def component_states(
    declared: Iterable[Component], incidents: Iterable[SiteIncident]
) -> tuple[ComponentState, ...]:
    """Each component's latest status: the last update (of any incident) that set it wins.
    Components named in updates but not declared in channels.yaml are listed after the
    declared ones, in the order they first appeared."""
    changes = sorted(
        (entry.at, incident.started_at, entry.number, name, status)
        for incident in incidents
        for entry in incident.entries
        for name, status in entry.components.items()
    )
    latest: dict[str, tuple[str, datetime]] = {}
    for at, _, _, name, status in changes:
        latest[name] = (status, at)
    order = {c.name: c for c in declared}
    for _, _, _, name, _ in changes:
        order.setdefault(name, Component(name))
    for incident in sorted(incidents, key=lambda i: i.started_at):
        for name in incident.components:
            order.setdefault(name, Component(name))
    states = []
    for name, component in order.items():
        status, since = latest.get(name, ("operational", None))
        states.append(ComponentState(component, status, since))
    return tuple(states)


def empty_history(components: Iterable[Component] = ()) -> History:
    """The history of a journal that holds nothing yet: every component operational."""
    return History((), component_states(components, ()), datetime.now(UTC).replace(microsecond=0))
