"""Marked spans: how text that came from variables stays literal in every output format.

The template environment wraps each `{{ expr }}` output in private-use sentinels (MARK_OPEN,
MARK_CLOSE). Template text outside them is trusted Markdown; text inside is whatever an operator
typed into `--message` or `--title` at 3 a.m., and must never turn into markup, mentions or
headers. `escape_marked` neutralises the spans before the Markdown parser sees them.
"""

from __future__ import annotations

import re
from collections.abc import Callable

MARK_OPEN = "\ue000"
MARK_CLOSE = "\ue001"

# A bare http(s) URL, without trailing punctuation that more likely ends the sentence.
URL_RE = re.compile(r"https?://[^\s<>\"\ue000\ue001]*[^\s<>\"\ue000\ue001.,;:!?'\")\]}*_]")

_MARKED = re.compile(f"{MARK_OPEN}(.*?){MARK_CLOSE}", re.DOTALL)
_ASCII_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")
_LINE_INDENT = re.compile(r"\n[ \t]+")
_BROADCAST = re.compile(r"@(everyone|here|channel)\b", re.IGNORECASE)
_ZWSP = "\u200b"


def mark(text: str) -> str:
    """Wrap one variable's output; sentinels inside the value itself are dropped first."""
    text = strip_marks(text)
    return f"{MARK_OPEN}{text}{MARK_CLOSE}" if text else ""


def strip_marks(text: str) -> str:
    """The text without any sentinel."""
    return text.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")


def _escape_markdown(text: str) -> str:
    """Backslash-escape CommonMark punctuation, leaving URLs whole so they still autolink."""
    out: list[str] = []
    pos = 0
    for match in URL_RE.finditer(text):
        out.append(_ASCII_PUNCTUATION.sub(r"\\\1", text[pos : match.start()]))
        out.append(match.group(0))
        pos = match.end()
    out.append(_ASCII_PUNCTUATION.sub(r"\\\1", text[pos:]))
    return "".join(out)


def break_broadcasts(text: str) -> str:
    """`@everyone` -> `@\u200beveryone`: still readable, no longer a ping (Discord, Slack)."""
    return _BROADCAST.sub(lambda m: f"@{_ZWSP}{m.group(1)}", text)


def escape_marked(text: str, extra: Callable[[str], str] | None = None) -> str:
    """Template Markdown with every marked span made literal, and the sentinels removed.

    Within a span: indentation after a line break is dropped (no indented code blocks), ASCII
    punctuation is backslash-escaped (no emphasis, links, headings, lists, HTML or entities),
    and `extra` applies a format's own defusing (Discord's broadcast pings).
    """

    def one(match: re.Match[str]) -> str:
        value = _LINE_INDENT.sub("\n", match.group(1))
        value = _escape_markdown(value)
        return extra(value) if extra else value

    return strip_marks(_MARKED.sub(one, text))
