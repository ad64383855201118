"""Rendered template parts -> each channel format, and the `Message` an adapter sends.

Input is template Markdown whose variable output is marked (see notify.render.marks): marked text
stays literal in every format — it cannot add markup, HTML, mentions, pings or header lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from notify.model import Message
from notify.render.marks import break_broadcasts, mark, strip_marks
from notify.render.templates import clean_subject

if TYPE_CHECKING:
    from notify.render.templates import RenderedParts
    from notify.render.writers import TextWriter

_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def _convert(md: str, writer: TextWriter, defuse: Callable[[str], str] | None = None) -> str:
    from notify.render.markdown import parse

    return strip_marks(writer.render(parse(md, defuse)))


def to_plain(md: str) -> str:
    """Readable plain text: the email text part, webhook text."""
    from notify.render.writers import TextWriter

    return _convert(md, TextWriter())


def to_email_html(
    md: str, *, subject: str, org: Mapping[str, Any], link: str | None, lang: str = "en"
) -> str:
    """A complete HTML email document for the Markdown body."""
    from notify.render.email_html import HtmlWriter, document

    body = _convert(md, HtmlWriter())
    return document(body, subject=clean_subject(subject), org=org, link=link, lang=lang)


def to_page_html(md: str) -> str:
    """An HTML fragment for a web page (the status site), styled by the page, not inline."""
    from notify.render.html import PageHtmlWriter

    return _convert(md, PageHtmlWriter())


def to_slack(md: str) -> str:
    """Slack mrkdwn."""
    from notify.render.writers import SlackWriter

    return _convert(md, SlackWriter(), break_broadcasts)


def to_telegram(md: str) -> str:
    """Telegram parse_mode=HTML."""
    from notify.render.writers import TelegramWriter

    return _convert(md, TelegramWriter())


def to_discord(md: str) -> str:
    """Discord markdown; variable text cannot ping @everyone or @here."""
    from notify.render.writers import DiscordWriter

    return _convert(md, DiscordWriter(), break_broadcasts)


def to_teams(md: str) -> str:
    """Adaptive Card TextBlock markdown (bold, italic, lists, links)."""
    from notify.render.writers import TeamsWriter

    return _convert(md, TeamsWriter())


def to_spoken(md: str) -> str:
    """A script for a text-to-speech voice (the support line): no URLs, Markdown marks, emoji or
    symbols; whole sentences, one paragraph a line."""
    from notify.render.script import SpokenWriter, speakable

    return speakable(_convert(md, SpokenWriter()))


def literal(text: str, spec_format: str) -> str:
    """Plain text from outside (a title, a status) as it must be written on `spec_format`'s
    formatted surface to show exactly as typed: the same path a template variable takes, so it
    cannot add markup, links, mentions or headers there either."""
    convert = _CHAT.get(spec_format)
    if convert is None:
        raise ValueError(f"no formatted surface for channel format {spec_format!r}")
    return " ".join(convert(mark(text)).split()) if text else ""


def to_short(text: str) -> str:
    """A `short` part as sent: marks removed, spaces collapsed, lines trimmed, no blank runs."""
    lines = (_SPACES.sub(" ", line).strip() for line in strip_marks(text).splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


_CHAT: dict[str, Callable[[str], str]] = {
    "slack": to_slack,
    "telegram": to_telegram,
    "discord": to_discord,
    "teams": to_teams,
    "webhook": to_plain,
}


def build_message(
    parts: RenderedParts,
    spec_format: str,
    *,
    status: str | None,
    link: str | None,
    org: Mapping[str, Any],
) -> Message:
    """The message for a channel whose `ChannelSpec.format` is `spec_format`.

    `Message.subject` is always plain single-line text; adapters that show it inside formatted
    text (a Slack header, a Telegram bold line) escape it with their format's rules.
    """
    subject = clean_subject(parts.subject)
    if spec_format == "plain":
        return Message(text=to_short(parts.text), status=status, link=link)
    if spec_format == "email":
        return Message(
            text=to_plain(parts.text),
            subject=subject,
            html=to_email_html(parts.text, subject=subject, org=org, link=link),
            status=status,
            link=link,
        )
    if spec_format == "html":  # a web page's entry: plain text (lengths, previews) and HTML
        return Message(
            text=to_plain(parts.text),
            subject=subject,
            html=to_page_html(parts.text),
            status=status,
            link=link,
        )
    if spec_format == "voice":  # the spoken script; the adapter wraps it in its own markup
        return Message(text=to_spoken(parts.text), subject=subject, status=status, link=link)
    convert = _CHAT.get(spec_format)
    if convert is None:
        raise ValueError(f"unknown channel format {spec_format!r}")
    return Message(text=convert(parts.text), subject=subject, status=status, link=link)
