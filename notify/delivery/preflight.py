"""Preflight: every selected channel rendered, measured and checked, all or nothing.

Nothing here sends or writes. Any problem (unknown template, undefined variable, a message over
its channel's limit, an invalid recipient) is raised before the first message leaves.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from notify.audience import skipped_rows
from notify.delivery.incident import UpdateDraft, draft_update
from notify.delivery.selection import (
    TagSelection,
    check_tags,
    fallback_channels,
    select_channels,
    tagged_recipients,
)
from notify.delivery.window import window_required
from notify.errors import InputError, PreflightError
from notify.model import Length, Message, Recipient
from notify.phones import optout_address

if TYPE_CHECKING:
    from notify.audience import SkippedRow
    from notify.config.model import ChannelConfig, Config
    from notify.delivery.inputs import UpdateRequest
    from notify.journal.base import Journal
    from notify.render.templates import TemplateSet

_SUPPRESSED = "suppressed (opt-out list)"


@dataclass(slots=True)
class RenderedDelivery:
    """One planned delivery: who, and exactly what they will get."""

    channel: ChannelConfig
    recipient: Recipient
    message: Message
    length: Length | None
    truncated: bool = False
    skip_reason: str | None = None  # suppressed recipients are planned as skipped


@dataclass
class CheckedUpdate:
    """An update that passed preflight: its draft and every delivery rendered and measured."""

    draft: UpdateDraft
    deliveries: list[RenderedDelivery] = field(default_factory=list)
    fallbacks: dict[str, list[RenderedDelivery]] = field(default_factory=dict)  # by channel
    tagged: dict[str, TagSelection] = field(default_factory=dict)  # per-recipient channels, --tag
    skipped_rows: list[SkippedRow] = field(default_factory=list)  # audience rows skip_invalid left

    @property
    def key(self) -> str:
        return self.draft.key

    def channel_counts(self) -> dict[str, tuple[ChannelConfig, int]]:
        """Each channel of the deliveries, in order, with how many of its deliveries are to be
        sent (skipped ones not counted: a channel of only those counts 0)."""
        counts: dict[str, tuple[ChannelConfig, int]] = {}
        for r in self.deliveries:
            config, count = counts.get(r.channel.name, (r.channel, 0))
            counts[r.channel.name] = (config, count if r.skip_reason else count + 1)
        return counts


def preflight(
    request: UpdateRequest,
    config: Config,
    templates: TemplateSet,
    journal: Journal | None,
    *,
    now: datetime | None = None,
) -> CheckedUpdate:
    """Resolve the incident and update, render every selected channel (and every channel its
    fallbacks may reach), and check it all. `journal` is only read (None: nothing sent yet)."""
    if request.components and not request.key:  # a replayed --key keeps what it recorded
        check_components(request.components, config)
    draft = draft_update(
        request,
        templates,
        journal,
        now=now,
        timezone=config.timezone,
        window_required=window_required(config),
    )
    request = draft.request  # under an existing --key, what was recorded then
    selected = select_channels(config, request.to)
    checked = CheckedUpdate(draft)
    base_context = draft.template_context(config.organization)
    problems: list[str] = []
    tags_seen: set[str] = set()

    def renderer_for(channel: ChannelConfig) -> _ChannelRenderer:
        return _ChannelRenderer(channel, request, templates, draft, base_context, problems)

    for channel in selected:
        renderer = renderer_for(channel)
        checked.deliveries += renderer.render_all(journal)
        if renderer.total is not None:
            selection = TagSelection(channel.type, len(renderer.rendered), renderer.total)
            checked.tagged[channel.name] = selection
        tags_seen |= renderer.tags_seen
        checked.skipped_rows += skipped_rows(channel.adapter.settings)
    for channel in selected:
        checked.deliveries += _callback_texts(channel, config, journal, checked, renderer_for)
    fallbacks = fallback_channels(selected, config)
    for channel in fallbacks:
        renderer = _ChannelRenderer(channel, request, templates, draft, base_context, problems)
        checked.fallbacks[channel.name] = renderer.render_all(journal)
        checked.skipped_rows += skipped_rows(channel.adapter.settings)
    for channel in [*selected, *fallbacks]:  # this machine's side: a folder that can't be written
        problem = channel.adapter.preflight()
        if problem:
            problems.append(problem)
    check_tags(request.tags, checked.tagged, tags_seen)
    if problems:
        more = (
            f" (and {len(problems) - 1} more; `notify preview` shows them all)"
            if len(problems) > 1
            else ""
        )
        raise PreflightError(problems[0] + more)
    return checked


def _callback_texts(
    voice: ChannelConfig,
    config: Config,
    journal: Journal | None,
    checked: CheckedUpdate,
    renderer_for: Callable[[ChannelConfig], _ChannelRenderer],
) -> list[RenderedDelivery]:
    """The update by text to each caller who asked the support line for a call-back, when it
    closes the incident (`resolved`, `maintenance-completed`): deliveries of the voice
    channel's `callback_sms` channel, journaled, suppressed and retried like any other."""
    from notify.channels.voice import CLOSING_STATUSES

    name = voice.adapter.settings.get("callback_sms") if voice.type == "voice" else None
    sms = config.channels.get(str(name)) if name else None
    if sms is None or journal is None or checked.draft.status not in CLOSING_STATUSES:
        return []
    incident = checked.draft.incident.id
    already = {d.recipient.address for d in checked.deliveries if d.channel.name == sms.name}
    callers = [
        Recipient(address=c.caller)
        for c in journal.callbacks(incident)
        if c.channel == voice.name and c.caller not in already
    ]
    if not callers:
        return []
    return renderer_for(sms).render_all(journal, list({r.address: r for r in callers}.values()))


def check_components(names: list[str], config: Config) -> None:
    """With `components:` declared, every --component must name one of them (exit 2)."""
    declared = [c.name for c in config.components]
    unknown = [n for n in names if declared and n not in declared]
    if unknown:
        close = difflib.get_close_matches(unknown[0], declared, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"--component {unknown[0]!r} is not a component of channels.yaml",
            hint=f"{guess}Components: {', '.join(declared)} (add it under `components:`).",
        )


_Fitted = tuple[Message, Length | None, bool]  # the message as sent, its length, truncated


class _ChannelRenderer:
    """One channel's deliveries, rendered once per locale unless the template reads `recipient`
    (see `_Watched`), then measured and fitted. Problems are collected, not raised, so preflight
    reports how many there are."""

    def __init__(
        self,
        channel: ChannelConfig,
        request: UpdateRequest,
        templates: TemplateSet,
        draft: UpdateDraft,
        base_context: Mapping[str, Any],
        problems: list[str],
    ) -> None:
        self.channel = channel
        self.spec = channel.adapter.spec
        self.request = request
        self.templates = templates
        self.template = draft.template
        self.status = draft.status
        self.org = base_context["org"]
        self.link = self.org.get("status_url")
        context = dict(base_context)
        context["vars"] = request.vars
        context["channel"] = {"name": channel.name, "type": self.spec.type}
        self.context = context
        self.problems = problems
        self.rendered: list[RenderedDelivery] = []
        self.total: int | None = None  # all the channel's recipients, when --tag chose among them
        self.tags_seen: set[str] = set()
        # Renders that did not read `recipient`, by locale: shared by every recipient of the locale.
        self._shared: dict[str | None, _Fitted] = {}
        self._personal: set[str | None] = set()  # locales whose template reads `recipient`

    def render_all(
        self, journal: Journal | None, recipients: list[Recipient] | None = None
    ) -> list[RenderedDelivery]:
        """Every recipient's delivery: the channel's own recipients, or `recipients`."""
        adapter = self.channel.adapter
        per_recipient = self.spec.per_recipient
        if recipients is None:
            recipients = adapter.recipients()
            if self.request.tags and per_recipient:
                self.total = len(recipients)
                recipients, self.tags_seen = tagged_recipients(recipients, self.request.tags)
        suppressed = _suppressed(journal, self.channel.name)
        # preview --locale shows what recipients of that locale get (per-recipient channels).
        forced_locale = self.request.locale if per_recipient else None
        shared, personal, out = self._shared, self._personal, self.rendered
        for recipient in recipients:
            problem = adapter.validate_recipient(recipient)
            if problem:
                self.problems.append(
                    f"channel {self.channel.name!r}: recipient {recipient.address!r}: {problem}"
                )
                continue
            locale = forced_locale or recipient.locale
            if locale in personal or locale not in shared:
                message, length, truncated = self._render(recipient, locale)
            else:
                message, length, truncated = shared[locale]
            address = recipient.address
            skip = None
            if address in suppressed or address.casefold() in suppressed:
                skip = _SUPPRESSED
            out.append(RenderedDelivery(self.channel, recipient, message, length, truncated, skip))
        return out

    def _render(self, recipient: Recipient, locale: str | None) -> _Fitted:
        from notify.render.formats import build_message

        spec = self.spec
        context = dict(self.context)
        watched = None
        if spec.per_recipient:
            watched = _Watched({"address": recipient.address, **recipient.fields})
            context["recipient"] = watched
        # A template error is the same for every channel: it propagates, stopping at the first.
        parts = self.templates.render(
            self.template, context, channel_type=spec.type, part=spec.part, locale=locale
        )
        message = build_message(
            parts, spec.format, status=self.status, link=self.link, org=self.org
        )
        result = _fit(self.channel, message, self.link, self.problems)
        if watched is not None and watched._notify_read:
            self._personal.add(locale)
        else:
            self._shared[locale] = result
        return result


class _Watched(dict[str, Any]):
    """`recipient` as templates see it, noting whether the template read it at all. A template
    that never does renders the same for everyone: it is rendered once per locale, not per
    recipient (a static look at the source would miss partials, macros and `extends`)."""

    __slots__ = ("_notify_read",)

    def __init__(self, data: Mapping[str, Any]) -> None:
        super().__init__(data)
        self._notify_read = False

    def __getitem__(self, key: str) -> Any:
        self._notify_read = True
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._notify_read = True
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._notify_read = True
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self._notify_read = True
        return super().__iter__()

    def __len__(self) -> int:
        self._notify_read = True
        return super().__len__()

    def __repr__(self) -> str:
        self._notify_read = True
        return super().__repr__()

    def keys(self) -> Any:
        self._notify_read = True
        return super().keys()

    def values(self) -> Any:
        self._notify_read = True
        return super().values()

    def items(self) -> Any:
        self._notify_read = True
        return super().items()


def _suppressed(journal: Journal | None, channel: str) -> set[str]:
    """The opt-out list for `channel` (its own entries and '*' ones), read once per channel."""
    if journal is None:
        return set()
    found: set[str] = set()
    for _, recipient, _, _ in journal.suppressed(channel):
        found.add(recipient)
        found.add(recipient.casefold())
        # An entry written before opt-outs were normalised ("+1 415 555 0100") still matches.
        found.add(optout_address(recipient) or recipient)
    return found


def _fit(
    channel: ChannelConfig, message: Message, link: str | None, problems: list[str]
) -> _Fitted:
    """Measure as the channel counts; truncate when the channel allows it, else report."""
    adapter = channel.adapter
    length = adapter.measure(message)
    if length is None or length.ok:
        return message, length, False
    if channel.overflow == "truncate":
        from notify.render.length import SPEECH_UNIT
        from notify.render.truncate import truncate_to_fit

        def fits(text: str) -> bool:
            measured = adapter.measure(replace(message, text=text))
            return measured is None or measured.ok

        # "…" is not in the GSM-7 alphabet: one would turn a whole SMS into UCS-2 (70 a segment).
        # A voice would say "dot dot dot": a spoken script stops after a whole sentence instead.
        spoken = length.unit == SPEECH_UNIT
        ellipsis = "..." if length.unit == "segments" else "." if spoken else "…"
        text = truncate_to_fit(
            message.text, fits, keep=link, ellipsis=ellipsis, at_sentences=spoken
        )
        cut = replace(message, text=text)
        return cut, adapter.measure(cut), True
    problems.append(
        f"channel {channel.name!r} ({adapter.spec.type}): the message is {length.describe()}, "
        f"over the limit. Shorten the template's `{_block_of(adapter.spec)}` block or --message, "
        f"or set `overflow: truncate` on the channel"
    )
    return message, length, False


def _block_of(spec: Any) -> str:
    """The template block a channel type reads: its own (`voice`) where templates have one."""
    return "voice" if spec.format == "voice" else str(spec.part)
