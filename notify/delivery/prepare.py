"""Preflight: from an UpdateRequest to every channel's rendered, measured message, all or nothing.

Nothing here sends or writes. Any problem (unknown template, undefined variable, a message over
its channel's limit, an invalid recipient) is raised before the first message leaves.
"""

from __future__ import annotations

import re
import secrets as pyrandom
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from notify.audience import skipped_rows
from notify.delivery.inputs import UpdateRequest
from notify.errors import InputError, PreflightError
from notify.journal.base import Incident, Update
from notify.model import Length, Message, Recipient

if TYPE_CHECKING:
    from notify.audience import SkippedRow
    from notify.config.model import ChannelConfig, Config
    from notify.journal.base import Journal
    from notify.render.templates import TemplateSet

CLOSED_STATUSES = frozenset({"resolved", "completed"})


@dataclass(slots=True)
class Rendered:
    """One planned delivery: who, and exactly what they will get."""

    channel: ChannelConfig
    recipient: Recipient
    message: Message
    length: Length | None
    truncated: bool = False
    skip_reason: str | None = None  # suppressed recipients are planned as skipped


@dataclass(frozen=True)
class Selection:
    """What --tag left of a per-recipient channel's recipients."""

    type: str
    selected: int
    total: int


@dataclass
class Prepared:
    request: UpdateRequest
    incident: Incident  # the incident as this update leaves it
    is_new_incident: bool
    update: dict[str, Any]  # the template context's `update`, plus key and template
    inputs: dict[str, Any]  # what is stored with the update so `retry` can render it again
    existing: Update | None  # already recorded under --key
    deliveries: list[Rendered] = field(default_factory=list)
    fallbacks: dict[str, list[Rendered]] = field(default_factory=dict)
    tagged: dict[str, Selection] = field(default_factory=dict)  # per-recipient channels, --tag
    skipped_rows: list[SkippedRow] = field(default_factory=list)  # audience rows skip_invalid left

    @property
    def key(self) -> str:
        return str(self.update["key"])


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


def prepare(
    request: UpdateRequest,
    config: Config,
    templates: TemplateSet,
    journal: Journal | None,
    *,
    now: datetime | None = None,
) -> Prepared:
    """Resolve the incident and update, render every selected channel, and check it all."""
    now = now or utcnow()
    existing = journal.find_update(request.key) if (journal and request.key) else None
    if existing is not None:
        request = _request_from_stored(request, existing)
        now = parse_iso(existing.context.get("at")) or now
    template = templates.get(request.template)

    incident, is_new, earlier = _resolve_incident(request, journal, now, existing)
    status = template.status or incident.status or "investigating"
    number = existing.number if existing else len(earlier) + 1
    next_at = now + request.next_update if request.next_update else None
    key = request.key or f"{incident.id}#{number}-{pyrandom.token_hex(4)}"

    incident.status = status
    incident.updated_at = iso(now) or ""
    if request.impact:
        incident.impact = request.impact
    if request.components:
        incident.components = list(request.components)
    if request.title and not is_new:
        incident.title = request.title
    incident.resolved_at = iso(now) if status in CLOSED_STATUSES else None

    update = {
        "number": number,
        "status": status,
        "message": request.message,
        "at": now,
        "next_update_at": next_at,
        "key": key,
        "template": template.name,
    }
    inputs = {
        "title": incident.title,
        "message": request.message,
        "vars": request.vars,
        "impact": request.impact,
        "components": request.components,
        "next_update_seconds": request.next_update.total_seconds() if request.next_update else None,
        "to": request.to,
        "tags": request.tags,
        "at": iso(now),
    }
    prepared = Prepared(request, incident, is_new, update, inputs, existing)

    try:
        selected = config.select(request.to)
    except KeyError as exc:
        names = sorted([*config.channels, *config.groups])
        raise InputError(
            f"--to {exc.args[0]!r} is neither a channel nor a group",
            hint=_suggest(str(exc.args[0]), names) + f"Configured: {', '.join(names)}.",
        ) from None
    if not selected:
        raise InputError(
            "no channel selected: every channel is disabled",
            hint="Enable one in channels.yaml or name one with --to.",
        )

    base_context = _context(config, incident, earlier, update, now)
    problems: list[str] = []
    tags_seen: set[str] = set()
    fallbacks = _fallback_channels(selected, config)
    fallback_names = {c.name for c in fallbacks}
    for channel in [*selected, *fallbacks]:
        rendered = _render_channel(
            channel, request, template.name, templates, base_context, journal, problems
        )
        if channel.name in fallback_names:
            prepared.fallbacks[channel.name] = rendered.deliveries
        else:
            prepared.deliveries += rendered.deliveries
            if rendered.total is not None:
                selection = Selection(channel.type, len(rendered.deliveries), rendered.total)
                prepared.tagged[channel.name] = selection
            tags_seen |= rendered.tags_seen
        prepared.skipped_rows += skipped_rows(channel.adapter.settings)
    _check_tags(request, prepared, tags_seen)
    if problems:
        more = (
            f" (and {len(problems) - 1} more; `notify preview` shows them all)"
            if len(problems) > 1
            else ""
        )
        raise PreflightError(problems[0] + more)
    return prepared


def _suggest(name: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=1)
    return f"Did you mean {close[0]!r}? " if close else ""


def _request_from_stored(request: UpdateRequest, update: Update) -> UpdateRequest:
    """Re-running with an existing --key renders what was recorded, not the new arguments."""
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
        next_update=timedelta(seconds=seconds) if seconds else None,
        to=list(stored.get("to") or request.to),
        tags=list(stored.get("tags") or request.tags),
    )


def _resolve_incident(
    request: UpdateRequest, journal: Journal | None, now: datetime, existing: Update | None
) -> tuple[Incident, bool, list[Update]]:
    if request.incident and journal is not None:
        found = journal.get_incident(request.incident)
        if found is not None:
            earlier = [
                u
                for u in journal.updates(found.id)
                if existing is None or u.number < existing.number
            ]
            return found, False, earlier
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


def _context(
    config: Config, incident: Incident, earlier: list[Update], update: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "incident": {
            "id": incident.id,
            "title": incident.title,
            "status": incident.status,
            "impact": incident.impact,
            "components": list(incident.components),
            "started_at": parse_iso(incident.started_at) or now,
            "updates": [
                {
                    "number": u.number,
                    "status": u.status,
                    "message": u.message,
                    "at": parse_iso(u.created_at),
                }
                for u in earlier
            ],
        },
        "update": {k: update[k] for k in ("number", "status", "message", "at", "next_update_at")},
        "org": dict(config.organization),
        "now": now,
    }


def _fallback_channels(selected: list[ChannelConfig], config: Config) -> list[ChannelConfig]:
    """Every channel reachable through fallbacks of the selected ones (rendered up front)."""
    seen = {c.name for c in selected}
    out: list[ChannelConfig] = []
    queue = list(selected)
    while queue:
        channel = queue.pop(0)
        name = channel.fallback
        if name and name not in seen and name in config.channels:
            seen.add(name)
            target = config.channels[name]
            out.append(target)
            queue.append(target)
    return out


def _check_tags(request: UpdateRequest, prepared: Prepared, tags_seen: set[str]) -> None:
    """A --tag that selects nobody is most likely a typo: say so before anything is sent."""
    if not request.tags or any(s.selected for s in prepared.tagged.values()):
        return
    asked = ", ".join(request.tags)
    if not prepared.tagged:
        raise InputError(
            f"--tag {asked}: no selected channel delivers per recipient (email, sms)",
            hint="Drop --tag, or select an email or SMS channel with --to.",
        )
    known = sorted(tags_seen, key=str.casefold)
    shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    raise InputError(
        f"--tag {asked} matches no recipient",
        hint=f"Tags in use: {shown}." if known else "No recipient has tags: add a tags column.",
    )


@dataclass
class _ChannelPlan:
    deliveries: list[Rendered]
    total: int | None  # all the channel's recipients, when --tag selected among them
    tags_seen: set[str]


class _Watched(dict[str, Any]):
    """`recipient` as templates see it, noting whether the template read it at all. A template
    that never does renders the same for everyone: it is rendered once per locale, not per
    recipient (a static look at the source would miss partials, macros and `extends`)."""

    __slots__ = ("_notify_read",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self._notify_read = False

    def _read(self) -> None:
        self._notify_read = True

    def __getitem__(self, key: str) -> Any:
        self._read()
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._read()
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._read()
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self._read()
        return super().__iter__()

    def __len__(self) -> int:
        self._read()
        return super().__len__()

    def __repr__(self) -> str:
        self._read()
        return super().__repr__()

    def keys(self) -> Any:
        self._read()
        return super().keys()

    def values(self) -> Any:
        self._read()
        return super().values()

    def items(self) -> Any:
        self._read()
        return super().items()


def _render_channel(
    channel: ChannelConfig,
    request: UpdateRequest,
    template_name: str,
    templates: TemplateSet,
    base_context: Mapping[str, Any],
    journal: Journal | None,
    problems: list[str],
) -> _ChannelPlan:
    from notify.errors import NotifyError
    from notify.render.formats import build_message

    adapter = channel.adapter
    spec = adapter.spec
    recipients = adapter.recipients()
    total: int | None = None
    tags_seen: set[str] = set()
    if request.tags and spec.per_recipient:
        total = len(recipients)
        wanted = {t.casefold() for t in request.tags}
        selected = []
        for r in recipients:
            tags = r.tags
            if tags:
                tags_seen |= tags
                if any(t.casefold() in wanted for t in tags):
                    selected.append(r)
        recipients = selected
    suppressed = _suppressed(journal, channel.name)
    org = base_context["org"]
    link = org.get("status_url")
    # Renders that did not read `recipient`, by locale: shared by every recipient of the locale.
    shared: dict[str | None, tuple[Message, Length | None, bool]] = {}
    personal: set[str | None] = set()  # locales whose template reads `recipient`
    out: list[Rendered] = []

    def render(recipient: Recipient, locale: str | None) -> tuple[Message, Length | None, bool]:
        context = dict(base_context)
        context["vars"] = request.vars
        context["channel"] = {"name": channel.name, "type": spec.type}
        watched = None
        if spec.per_recipient:
            watched = _Watched({"address": recipient.address, **recipient.fields})
            context["recipient"] = watched
        try:
            parts = templates.render(
                template_name, context, channel_type=spec.type, part=spec.part, locale=locale
            )
        except NotifyError as exc:
            raise exc  # template errors are the same for every channel: stop at the first
        message = build_message(
            parts, spec.format, status=base_context["update"]["status"], link=link, org=org
        )
        result = _fit(channel, message, link, problems)
        if watched is not None and watched._notify_read:
            personal.add(locale)
        else:
            shared[locale] = result
        return result

    for recipient in recipients:
        problem = adapter.validate_recipient(recipient)
        if problem:
            problems.append(f"channel {channel.name!r}: recipient {recipient.address!r}: {problem}")
            continue
        # preview --locale shows what recipients of that locale get (per-recipient channels).
        locale = (request.locale if spec.per_recipient else None) or recipient.locale
        if locale in personal or locale not in shared:
            message, length, truncated = render(recipient, locale)
        else:
            message, length, truncated = shared[locale]
        address = recipient.address
        skip = None
        if address in suppressed or address.casefold() in suppressed:
            skip = "suppressed (opt-out list)"
        out.append(Rendered(channel, recipient, message, length, truncated, skip))
    return _ChannelPlan(out, total, tags_seen)


def _suppressed(journal: Journal | None, channel: str) -> set[str]:
    """The opt-out list for `channel` (its own entries and '*' ones), read once per channel."""
    if journal is None:
        return set()
    found: set[str] = set()
    for _, recipient, _, _ in journal.suppressed(channel):
        found.add(recipient)
        found.add(recipient.casefold())
    return found


def _fit(
    channel: ChannelConfig, message: Message, link: str | None, problems: list[str]
) -> tuple[Message, Length | None, bool]:
    """Measure as the channel counts; truncate when the channel allows it, else report."""
    adapter = channel.adapter
    length = adapter.measure(message)
    if length is None or length.ok:
        return message, length, False
    if channel.overflow == "truncate":
        from notify.render.truncate import truncate_to_fit

        def fits(text: str) -> bool:
            measured = adapter.measure(replace(message, text=text))
            return measured is None or measured.ok

        # "…" is not in the GSM-7 alphabet: one would turn a whole SMS into UCS-2 (70 a segment).
        ellipsis = "..." if length.unit == "segments" else "…"
        text = truncate_to_fit(message.text, fits, keep=link, ellipsis=ellipsis)
        cut = replace(message, text=text)
        return cut, adapter.measure(cut), True
    problems.append(
        f"channel {channel.name!r} ({adapter.spec.type}): the message is {length.describe()}, "
        f"over the limit. Shorten the template's `{adapter.spec.part}` block or --message, "
        f"or set `overflow: truncate` on the channel"
    )
    return message, length, False
