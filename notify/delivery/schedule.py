"""What `notify tick` is to do at a moment: the due actions, and what comes next, from the journal.

Nothing here sends or writes. Each action is a moment one update set up (its --next-update, its
maintenance window, its resolution) and has a fixed key from (kind, incident, update, slot): a
later update of the incident arms new moments (a new number), and the journal's record of an
action (sent, failed or skipped) means it is never due again.

Within one family of an update's moments only the latest due one is acted on: a reminder that
is still unsent when the update is overdue, or the 24h maintenance reminder when the 1h one is
due, is recorded as skipped (superseded), so one tick never says the same thing twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from notify.delivery.window import latest_window

if TYPE_CHECKING:
    from notify.config.schedule import Schedule
    from notify.journal.base import Incident, Journal, ScheduledAction, Update

KINDS = (
    "reminder",
    "overdue",
    "maintenance-reminder",
    "maintenance-started",
    "maintenance-completed",
    "feedback",
    "callbacks",
)
# Messages beside the incident's updates (they leave it as it is), and the template each uses.
SIDE_TEMPLATES = {
    "reminder": "reminder",
    "overdue": "reminder",
    "maintenance-reminder": "maintenance-reminder",
    "feedback": "feedback",
}
# The moments of one update that say the same thing: only the latest due one goes.
_FAMILY = {
    "reminder": "nudge",
    "overdue": "nudge",
    "maintenance-reminder": "start",
    "maintenance-started": "start",
}
_CLOSED = frozenset({"resolved", "completed"})
FEEDBACK_LOOKBACK = timedelta(days=7)  # resolved incidents older than feedback_after + this: done


@dataclass(frozen=True)
class Due:
    """One moment an update set up: what to send, when, as which template."""

    kind: str
    incident_id: str
    update_number: int  # the update that set it up
    slot: str  # which of its moments ("24h" before a window); "" when it has one
    due_at: datetime
    template: str
    variables: Mapping[str, Any] = field(default_factory=dict)
    # Where: a channel or group (reminders), or the channels that got `source` (customers).
    to: tuple[str, ...] = ()
    source: int | None = None  # the update whose channels it goes to
    per_recipient_only: bool = False  # feedback: only channels that deliver per recipient

    @property
    def key(self) -> str:
        """The idempotency key of what it sends: the same in every tick, on every machine."""
        return f"tick:{self.kind}:{self.incident_id}:{self.update_number}:{self.slot}"

    @property
    def side(self) -> bool:
        """A message beside the incident's updates (reminder, feedback), not one of them."""
        return self.kind in SIDE_TEMPLATES

    def same(self, action: ScheduledAction) -> bool:
        return (action.kind, action.incident_id, action.update_number, action.slot) == (
            self.kind,
            self.incident_id,
            self.update_number,
            self.slot,
        )


@dataclass
class Agenda:
    """What is due now (oldest first), what is superseded, and what comes next (soonest first)."""

    due: list[Due] = field(default_factory=list)
    superseded: list[Due] = field(default_factory=list)
    upcoming: list[Due] = field(default_factory=list)


def span_text(span: timedelta) -> str:
    """A slot name for a reminder `span` before a start: 24h, 1h, 30m, 1h30m, 45s."""
    seconds = int(span.total_seconds())
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out or "0s"


def real_updates(updates: Iterable[Update]) -> list[Update]:
    """The incident's own updates, without the messages tick sent beside them."""
    return [u for u in updates if not u.context.get("scheduled")]


def drafted_at(update: Update) -> datetime:
    """When an update was drafted (the time its templates saw): its moments count from there."""
    text = update.context.get("at") or update.created_at
    return _parse(text)


def moments(schedule: Schedule, incident: Incident, updates: Sequence[Update]) -> list[Due]:
    """Every moment the incident's updates set up, recorded or not, due or not."""
    own = real_updates(updates)
    if not own:
        return []
    last = own[-1]
    found: list[Due] = []
    closed = incident.status in _CLOSED or incident.resolved_at is not None
    if not closed and schedule.reminds and last.next_update_at:
        next_at = _parse(last.next_update_at)
        base = {"due_at": last.next_update_at, "last_update_number": last.number}
        if schedule.remind_before is not None:
            found.append(
                Due(
                    "reminder",
                    incident.id,
                    last.number,
                    "",
                    next_at - schedule.remind_before,
                    "reminder",
                    variables={**base, "overdue": False},
                    to=(schedule.reminders_to or "",),
                )
            )
        found.append(
            Due(
                "overdue",
                incident.id,
                last.number,
                "",
                next_at,
                "reminder",
                variables={**base, "overdue": True},
                to=(schedule.reminders_to or "",),
            )
        )
    windowed = latest_window(own)
    if windowed is not None and not closed:
        announced, window = windowed
        started = (
            any(u.number > announced.number and u.status == "in_progress" for u in own)
            or incident.status == "in_progress"
        )
        if not started:
            for span in schedule.maintenance_reminders:
                at = window.starts_at - span
                if at > drafted_at(announced):  # announced later than that: nothing to remind
                    found.append(
                        Due(
                            "maintenance-reminder",
                            incident.id,
                            announced.number,
                            span_text(span),
                            at,
                            "maintenance-reminder",
                            source=announced.number,
                        )
                    )
        if schedule.maintenance_auto:
            if not started:
                found.append(
                    Due(
                        "maintenance-started",
                        incident.id,
                        announced.number,
                        "start",
                        window.starts_at,
                        "maintenance-started",
                        source=announced.number,
                    )
                )
            if window.ends_at is not None:
                found.append(
                    Due(
                        "maintenance-completed",
                        incident.id,
                        announced.number,
                        "end",
                        window.ends_at,
                        "maintenance-completed",
                        source=announced.number,
                    )
                )
    survey = last.context.get("vars", {}).get("survey_url") if last.status == "resolved" else None
    if schedule.feedback_after is not None and survey:
        found.append(
            Due(
                "feedback",
                incident.id,
                last.number,
                "",
                drafted_at(last) + schedule.feedback_after,
                "feedback",
                variables=dict(last.context.get("vars") or {}),
                source=last.number,
                per_recipient_only=True,
            )
        )
    return found


def agenda(
    schedule: Schedule,
    journal: Journal,
    now: datetime,
    *,
    incident_ids: Iterable[str] | None = None,
) -> Agenda:
    """What is due at `now` and what comes next, for every incident that may have a moment
    left (open ones, and ones resolved recently enough to be asked for feedback)."""
    recorded = journal.actions()
    done = {(a.kind, a.incident_id, a.update_number, a.slot) for a in recorded}
    out = Agenda()
    for incident in _candidates(schedule, journal, now, incident_ids):
        pending = [
            d
            for d in moments(schedule, incident, journal.updates(incident.id))
            if (d.kind, d.incident_id, d.update_number, d.slot) not in done
        ]
        due = sorted((d for d in pending if d.due_at <= now), key=lambda d: d.due_at)
        latest: dict[tuple[int, str], Due] = {}
        for d in due:
            family = _FAMILY.get(d.kind, d.kind + d.slot)
            latest[(d.update_number, family)] = d  # sorted: the last one wins
        for d in due:
            family = _FAMILY.get(d.kind, d.kind + d.slot)
            (out.due if latest[(d.update_number, family)] is d else out.superseded).append(d)
        out.upcoming += [d for d in pending if d.due_at > now]
    out.due.sort(key=lambda d: d.due_at)
    out.upcoming.sort(key=lambda d: d.due_at)
    return out


def next_action(schedule: Schedule | None, journal: Journal, incident: Incident) -> Due | None:
    """The incident's next moment still to come (`notify incidents` shows it)."""
    if schedule is None:
        return None
    now = datetime.now(UTC)
    found = agenda(schedule, journal, now, incident_ids=[incident.id])
    return found.due[0] if found.due else (found.upcoming[0] if found.upcoming else None)


def _candidates(
    schedule: Schedule, journal: Journal, now: datetime, only: Iterable[str] | None
) -> list[Incident]:
    if only is not None:
        return [i for i in (journal.get_incident(x) for x in only) if i is not None]
    if schedule.feedback_after is None:
        return journal.list_incidents()
    oldest = now - schedule.feedback_after - FEEDBACK_LOOKBACK
    return [
        i
        for i in journal.list_incidents(include_resolved=True)
        if i.resolved_at is None or _parse(i.resolved_at) >= oldest
    ]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
