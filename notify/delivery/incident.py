"""The update a run drafts: its incident (new, or from the journal), number, key and inputs.

Nothing here sends or writes. `draft_update` resolves what the user asked for (or, under an
existing --key, what was recorded then) into an `UpdateDraft`; `incident_json` is the one way an
incident becomes a dict, for templates, adapters and --json documents alike.
"""

from __future__ import annotations

import difflib
import re
import secrets as pyrandom
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from notify.delivery.components import component_statuses
from notify.delivery.inputs import UpdateRequest
from notify.delivery.window import Window, latest_window, maintenance_window, window_from_options
from notify.errors import InputError
from notify.journal.base import Incident, Update
from notify.render.templates import OPENING_TEMPLATES

if TYPE_CHECKING:
    from notify.journal.base import Journal
    from notify.render.templates import TemplateSet

CLOSED_STATUSES = frozenset({"resolved", "completed"})

# The views of an incident (see `incident_json`).
INCIDENT_FIELDS = (  # adapters (DeliveryContext.incident): the whole record, times as ISO 8601
    "id",
    "title",
    "status",
    "impact",
    "components",
    "started_at",
    "updated_at",
    "resolved_at",
)
SUMMARY_FIELDS = ("id", "title", "status", "impact")  # --json documents (CONTRACT.md)
_TEMPLATE_FIELDS = ("id", "title", "status", "impact", "components", "started_at")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def parse_iso(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def slugify(title: str, limit: int = 40) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].rstrip("-") or "incident"


def new_incident_id(title: str, now: datetime, journal: Journal | None) -> str:
    base = f"{now:%Y-%m-%d}-{slugify(title)}"
    candidate, n = base, 1
    while journal is not None and journal.get_incident(candidate) is not None:
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def incident_json(incident: Incident, fields: Sequence[str] = INCIDENT_FIELDS) -> dict[str, Any]:
    """The incident as a JSON-ready dict of `fields`: INCIDENT_FIELDS for adapters,
    SUMMARY_FIELDS for --json documents; templates get a view built on it (`template_context`)."""
    view = {name: getattr(incident, name) for name in fields}
    if "components" in view:
        view["components"] = list(incident.components)
    return view


@dataclass(frozen=True, slots=True)
class StoredInputs:
    """What is recorded with an update (not secret), so `retry` and a re-run of its --key render
    it again exactly as the first run did."""

    title: str
    message: str
    variables: Mapping[str, Any]  # --set / --vars
    impact: str | None
    components: tuple[str, ...]
    next_update_seconds: float | None
    to: tuple[str, ...]
    tags: tuple[str, ...]
    at: str | None  # when the update was drafted, ISO 8601
    # The status this update gives each component (the journal's history of the components).
    component_statuses: Mapping[str, str] = field(default_factory=dict)
    maintenance: Mapping[str, Any] | None = None  # the window --starts/--ends gave
    scheduled: Mapping[str, Any] | None = None  # what `notify tick` sent it as

    def to_json(self) -> dict[str, Any]:
        """The journal's `Update.context` (its keys are read back by `replay_request`)."""
        extra = {"component_statuses": dict(self.component_statuses)}
        return {
            "title": self.title,
            "message": self.message,
            "vars": self.variables,
            "impact": self.impact,
            "components": list(self.components),
            "next_update_seconds": self.next_update_seconds,
            "to": list(self.to),
            "tags": list(self.tags),
            "at": self.at,
            **({"maintenance": dict(self.maintenance)} if self.maintenance else {}),
            **({"scheduled": dict(self.scheduled)} if self.scheduled else {}),
            **(extra if self.component_statuses else {}),
        }


def replay_request(request: UpdateRequest, update: Update) -> UpdateRequest:
    """Re-running with an existing --key renders what was recorded, not the new arguments.
    (Journals written before a key existed lack it: the request's own value stands in.)"""
    stored = update.context
    seconds = stored.get("next_update_seconds")
    return replace(
        request,
        template=update.template,
        incident=update.incident_id,
        title=stored.get("title") or request.title,
        message=stored.get("message", update.message),
        vars=dict(stored.get("vars") or {}),
        impact=stored.get("impact"),
        components=list(stored.get("components") or []),
        component_statuses=dict(stored.get("component_statuses") or {}),
        next_update=timedelta(seconds=seconds) if seconds else None,
        to=list(stored.get("to") or request.to),
        tags=list(stored.get("tags") or request.tags),
        starts=(stored.get("maintenance") or {}).get("starts_at"),
        ends=(stored.get("maintenance") or {}).get("ends_at"),
        scheduled=stored.get("scheduled"),
    )


def check_same_update(request: UpdateRequest, existing: Update) -> None:
    """A re-run under an existing --key finishes that update; the same key asking for another
    update (template, incident, title, message, variables, impact or components) is refused
    (exit 2), never skipped in silence. The inputs recorded with the key are the update's
    fingerprint; what the re-run leaves out is taken from them (`notify retry` gives only the
    template and incident)."""
    stored = existing.context
    given: list[tuple[str, Any, Any]] = [
        ("template", request.template, existing.template),
        ("incident", request.incident, existing.incident_id),
        ("title", request.title, stored.get("title")),
        ("message", request.message, stored.get("message", existing.message)),
        ("impact", request.impact, stored.get("impact")),
        ("components", list(request.components), list(stored.get("components") or [])),
        ("variables", dict(request.vars), dict(stored.get("vars") or {})),
    ]
    differs = [name for name, asked, recorded in given if asked and asked != recorded]
    if differs:
        raise InputError(
            f"--key {existing.key!r} was used for another update (update {existing.number} of "
            f"{existing.incident_id}, template {existing.template}): its "
            f"{' and '.join(differs)} differ",
            hint="Use a new --key for a new update; the same key only re-runs the same one.",
        )


@dataclass(frozen=True, slots=True)
class UpdateDraft:
    """One update as this run drafts it, with its incident as the update leaves it. Nothing of
    it is recorded before preflight passes."""

    request: UpdateRequest  # as given, or as recorded under its --key
    incident: Incident
    is_new_incident: bool
    earlier: tuple[Update, ...]  # the incident's updates before this one, oldest first
    existing: Update | None  # already recorded under --key
    number: int  # 1 for the incident's first update
    status: str
    message: str
    at: datetime  # also the templates' `now`
    next_update_at: datetime | None
    key: str  # --key, or generated
    template: str
    inputs: StoredInputs
    window: Window | None = None  # the maintenance window: this update's or an earlier one's

    def update_json(self) -> dict[str, Any]:
        """The update as adapters see it (DeliveryContext.update), times as ISO 8601."""
        return {
            "number": self.number,
            "status": self.status,
            "message": self.message,
            "at": iso(self.at),
            "next_update_at": iso(self.next_update_at),
            "key": self.key,
            "template": self.template,
            "component_statuses": dict(self.inputs.component_statuses),
            "maintenance": (
                self.window.to_json() if self.window else maintenance_window(self.request.vars)
            ),
        }

    def template_context(self, org: Mapping[str, Any]) -> dict[str, Any]:
        """What every channel's template gets (before `vars`, `channel` and `recipient`)."""
        incident = incident_json(self.incident, _TEMPLATE_FIELDS)
        incident["started_at"] = parse_iso(self.incident.started_at) or self.at
        incident["updates"] = [
            {
                "number": u.number,
                "status": u.status,
                "message": u.message,
                "at": parse_iso(u.created_at),
            }
            for u in self.earlier
            if not u.context.get("scheduled")  # tick's reminders are not its updates
        ]
        update = {
            "number": self.number,
            "status": self.status,
            "message": self.message,
            "at": self.at,
            "next_update_at": self.next_update_at,
        }
        window = self.window
        maintenance = {
            "starts_at": window.starts_at if window else None,
            "ends_at": window.ends_at if window else None,
        }
        return {
            "incident": incident,
            "update": update,
            "org": dict(org),
            "now": self.at,
            "maintenance": maintenance,
        }


def draft_update(
    request: UpdateRequest,
    templates: TemplateSet,
    journal: Journal | None,
    *,
    now: datetime | None = None,
    timezone: str = "UTC",
    window_required: bool = False,
) -> UpdateDraft:
    """Resolve the incident and the update's number, status and key. Raises InputError (a new
    incident without --title, a bad maintenance window) or TemplateError (an unknown
    template). `window_required`: maintenance-scheduled must give --starts (the schedule
    reminds before it)."""
    now = now or utcnow()
    existing = journal.find_update(request.key) if (journal and request.key) else None
    if existing is not None:
        check_same_update(request, existing)
        request = replay_request(request, existing)
        now = parse_iso(existing.context.get("at")) or now
    template = templates.get(request.template)

    found, is_new, earlier = _resolve_incident(request, journal, now, existing, template.opens)
    window = window_from_options(request.starts, request.ends, now=now, timezone=timezone)
    if window is None and window_required and template.name == "maintenance-scheduled":
        raise InputError(
            "maintenance-scheduled needs its window: --starts, and --ends if known",
            hint="schedule: in channels.yaml reminds before the start; write it like "
            '--starts "2026-11-29 22:00" --ends "2026-11-30 02:00" or --starts 2h.',
        )
    earlier_window = latest_window(earlier)
    in_effect = window or (earlier_window[1] if earlier_window else None)
    status = template.status or found.status or "investigating"
    number = existing.number if existing else len(earlier) + 1
    incident = replace(
        found,
        status=status,
        updated_at=iso(now) or "",
        impact=request.impact or found.impact,
        components=list(request.components) if request.components else found.components,
        title=request.title if (request.title and not is_new) else found.title,
        resolved_at=iso(now) if status in CLOSED_STATUSES else None,
    )
    if request.scheduled:  # a reminder or a feedback request: the incident stays as it is
        status, incident = found.status, found
    next_update = request.next_update
    inputs = StoredInputs(
        title=incident.title,
        message=request.message,
        variables=request.vars,
        impact=request.impact,
        components=tuple(request.components),
        next_update_seconds=next_update.total_seconds() if next_update else None,
        to=tuple(request.to),
        tags=tuple(request.tags),
        at=iso(now),
        maintenance=window.to_json() if window else None,
        scheduled=request.scheduled,
        component_statuses=component_statuses(request, incident),
    )
    return UpdateDraft(
        request=request,
        incident=incident,
        is_new_incident=is_new,
        earlier=tuple(earlier),
        existing=existing,
        number=number,
        status=status,
        message=request.message,
        at=now,
        next_update_at=now + next_update if next_update else None,
        key=request.key or f"{incident.id}#{number}-{pyrandom.token_hex(4)}",
        template=template.name,
        inputs=inputs,
        window=in_effect,
    )


def unknown_incident(
    journal: Journal | None, incident_id: str | None, template: str = ""
) -> InputError:
    """The exit-2 error for an update or a history command whose incident does not exist:
    it names the open incidents and the id nearest to the one given."""
    incidents = journal.list_incidents(include_resolved=True) if journal is not None else []
    open_ones = [i for i in incidents if i.status not in CLOSED_STATUSES]
    listed = ", ".join(f"{i.id} ({i.title})" for i in open_ones[:10])
    more = f" and {len(open_ones) - 10} more" if len(open_ones) > 10 else ""
    known = f"Open incidents: {listed}{more}." if open_ones else "No incident is open."
    if incident_id:
        ids = [i.id for i in open_ones] or [i.id for i in incidents]
        close = difflib.get_close_matches(incident_id, ids, n=1, cutoff=0.0)
        guess = f"Did you mean --incident {close[0]}? " if close else ""
        return InputError(f"no incident {incident_id!r} in the journal", hint=guess + known)
    opening = ", ".join(sorted(OPENING_TEMPLATES))
    return InputError(
        f"{template!r} updates an existing incident: name it with --incident ID",
        hint=f"{known} Only {opening} (or a template with `opens: true`) open a new one.",
    )


def _resolve_incident(
    request: UpdateRequest,
    journal: Journal | None,
    now: datetime,
    existing: Update | None,
    opens: bool,
) -> tuple[Incident, bool, list[Update]]:
    """(the incident, whether it is new, its updates before this one). Only templates that open
    incidents may open one (CONTRACT.md); for any other the incident must exist."""
    if request.incident and journal is not None:
        found = journal.get_incident(request.incident)
        if found is not None:
            earlier = [
                u
                for u in journal.updates(found.id)
                if existing is None or u.number < existing.number
            ]
            return found, False, earlier
    if not opens and not request.sample:
        raise unknown_incident(journal, request.incident, request.template)
    if not request.title:
        what = f"incident {request.incident!r} is new" if request.incident else "a new incident"
        raise InputError(
            f"--title is required: {what} needs a title",
            hint='Add --title "Checkout errors" (or --incident ID of an existing incident).',
        )
    incident_id = request.incident or new_incident_id(request.title, now, journal)
    incident = Incident(
        id=incident_id,
        title=request.title,
        status="investigating",
        impact=request.impact,
        components=list(request.components),
        started_at=iso(now) or "",
        updated_at=iso(now) or "",
    )
    return incident, True, []
