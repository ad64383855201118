"""`notify tick`: do what the schedule says is due now, each through the one send path, once.

Each due action is sent by `send_update` under its fixed key (see `schedule.Due.key`), so ticks
that overlap, repeat or die half-way share one journaled update: a delivery is claimed once, and
the next tick finishes what a killed one left. Its outcome is then recorded (the first record
wins), which is what makes it no longer due. A moment missed by more than `late_limit` and not
begun is recorded as skipped instead of being sent late.

Every tick (not a dry run) also collects the support line's call-back requests for the incidents
on a voice channel's line (notify.delivery.callbacks): Twilio's records are read, nothing is sent.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from notify.delivery.inputs import UpdateRequest
from notify.delivery.schedule import Agenda, Due, agenda
from notify.errors import Interrupted, NotifyError
from notify.journal.base import ScheduledAction
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from notify.config.model import Config
    from notify.config.schedule import Schedule
    from notify.delivery.callbacks import Collected
    from notify.delivery.service import UpdateResult
    from notify.journal.base import Journal
    from notify.render.templates import TemplateSet


@dataclass
class ActionOutcome:
    """What one tick did about one due action."""

    due: Due
    status: str  # sent | failed | skipped | planned (dry run)
    reason: str | None = None  # why skipped or failed
    result: UpdateResult | None = None


@dataclass
class TickReport:
    now: datetime
    actions: list[ActionOutcome] = field(default_factory=list)
    upcoming: list[Due] = field(default_factory=list)
    callbacks: list[Collected] = field(default_factory=list)  # the support lines' call-backs

    @property
    def failed(self) -> list[ActionOutcome]:
        return [a for a in self.actions if a.status == "failed"]


def run_tick(
    config: Config,
    templates: TemplateSet | Callable[[], TemplateSet],
    journal: Journal,
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    owner: str | None = None,
    on_action: Callable[[ActionOutcome], None] | None = None,
) -> TickReport:
    """Work out what is due at `now` (default: the clock) and do it; a dry run records nothing.

    `templates` may be a function that loads them: an idle tick (most minutes) then never
    loads templates nor the delivery stages, which is most of a cron tick's cost."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    report = TickReport(now)
    if not dry_run and config.enabled_of_type("voice"):
        from notify.delivery.callbacks import collect_callbacks

        report.callbacks = collect_callbacks(config, journal)
    schedule = config.schedule
    if schedule is None:
        return report
    plan: Agenda = agenda(schedule, journal, now)
    report.upcoming = plan.upcoming
    for due in plan.superseded:
        outcome = ActionOutcome(due, "planned" if dry_run else "skipped", "superseded")
        if not dry_run:
            _record(journal, due, "skipped")
        _add(report, outcome, on_action)
    for due in plan.due:
        outcome = _act(due, schedule, config, templates, journal, now, dry_run, owner)
        _add(report, outcome, on_action)
    report.actions.sort(key=lambda a: a.due.due_at)
    return report


def _add(
    report: TickReport, outcome: ActionOutcome, on_action: Callable[[ActionOutcome], None] | None
) -> None:
    report.actions.append(outcome)
    if on_action is not None:
        on_action(outcome)


def _act(
    due: Due,
    schedule: Schedule,
    config: Config,
    templates: TemplateSet | Callable[[], TemplateSet],
    journal: Journal,
    now: datetime,
    dry_run: bool,
    owner: str | None,
) -> ActionOutcome:
    begun = journal.find_update(due.key) is not None  # a killed tick began it: finish it
    if not begun and now - due.due_at > schedule.late_limit:
        if not dry_run:
            _record(journal, due, "skipped")
        return ActionOutcome(due, "planned" if dry_run else "skipped", "too late")
    to = _recipients_of(due, config, journal)
    if not to:
        if not dry_run:
            _record(journal, due, "skipped")
        return ActionOutcome(due, "skipped", "no channel to send it to")
    request = _request(due, to, now)
    if dry_run:
        return ActionOutcome(due, "planned")
    from notify.delivery.service import send_update  # not loaded by a tick with nothing due

    loaded = templates() if callable(templates) else templates
    try:
        result = send_update(request, config, loaded, journal, owner=owner, now=now)
    except Interrupted:
        raise
    except NotifyError as exc:  # a template or recipient problem: not recorded, tried again
        return ActionOutcome(due, "failed", str(exc))
    assert result is not None  # not a dry run, nothing to decline
    if result.undelivered:
        status = "failed"
    elif any(o.status == DeliveryStatus.SENT and o.attempts for o in result.outcomes):
        status = "sent"
    else:
        status = "skipped"  # another tick sent it all
    _record(journal, due, "failed" if status == "failed" else "sent", key=due.key)
    return ActionOutcome(due, status, "already done" if status == "skipped" else None, result)


def _request(due: Due, to: list[str], now: datetime) -> UpdateRequest:
    request = UpdateRequest(
        template=due.template,
        incident=due.incident_id,
        vars=dict(due.variables),
        to=to,
        key=due.key,
    )
    if due.side:
        request.scheduled = {"kind": due.kind, "slot": due.slot, "for_update": due.update_number}
    if due.kind in ("reminder", "overdue"):  # the reminder's update.next_update_at: when due
        request.next_update = _parse(str(due.variables["due_at"])) - now
    return request


def _recipients_of(due: Due, config: Config, journal: Journal) -> list[str]:
    """Where the action goes: the team's channel or group, or the channels (still configured
    and enabled) that delivered the update it follows up."""
    if due.source is None:
        return [name for name in due.to if name]
    update = next((u for u in journal.updates(due.incident_id) if u.number == due.source), None)
    if update is None:
        return []
    names: list[str] = []
    for row in journal.deliveries(update_id=update.id):
        channel = config.channels.get(row.channel)
        if row.fallback_for is not None or channel is None or not channel.enabled:
            continue
        if due.per_recipient_only and not channel.adapter.spec.per_recipient:
            continue
        if row.channel not in names:
            names.append(row.channel)
    return names


def _record(journal: Journal, due: Due, status: str, key: str = "") -> None:
    journal.record_action(
        ScheduledAction(
            kind=due.kind,
            incident_id=due.incident_id,
            update_number=due.update_number,
            slot=due.slot,
            due_at=due.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            status=status,
            key=key,
        )
    )


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
