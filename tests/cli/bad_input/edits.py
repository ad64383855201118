"""A mistake as data (Bad), and the edits that make it in a workspace's channels.yaml."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

SEND = ("send", "investigating", "--title", "Checkout errors", "--message", "Errors at checkout.")
Edit = Callable[[str], str]


# --- editing the workspace's channels.yaml as a user would -------------------------------------


def replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} is not once in the config"
        return text.replace(old, new)

    return edit


def add_to(channel: str, *lines: str) -> Edit:
    """Add `lines` (settings) to a channel, right under its name."""
    head = f"\n  {channel}:\n"
    return replace(head, head + "".join(f"    {line}\n" for line in lines))


def drop(start: str, channel: str) -> Edit:
    """Remove the setting that starts with `start` from one channel."""

    def edit(text: str) -> str:
        lines = text.split("\n")
        for i in range(lines.index(f"  {channel}:") + 1, len(lines)):
            if not lines[i].startswith("    "):
                break
            if lines[i].startswith(f"    {start}"):
                del lines[i]
                return "\n".join(lines)
        raise AssertionError(f"{channel} has no {start}")

    return edit


def resub(pattern: str, new: str) -> Edit:
    """Replace a value that changes per run (the sandbox's ports)."""
    return lambda text: re.sub(pattern, new, text, count=1)


def append(lines: str) -> Edit:
    return lambda text: text + lines


def chain(*edits: Edit) -> Edit:
    def edit(text: str) -> str:
        for one in edits:
            text = one(text)
        return text

    return edit


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


GOOD_TEMPLATE = """\
---
status: investigating
---
{% block subject %}{{ incident.title }}{% endblock %}
{% block short %}{{ org.name }}: {{ update.message }}{% endblock %}
{% block body %}{{ update.message }}{% endblock %}
"""


@dataclass(frozen=True)
class Bad:
    """One mistake and what its error line must contain.

    `where` is the place the line must name; `{line}` in it stands for the line of `at` in the
    (edited) channels.yaml. `hint` is words of the fix.
    """

    name: str
    where: str
    hint: str
    args: tuple[str, ...] = SEND
    config: Edit | None = None
    at: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)


def template(body: str | bytes) -> dict[str, bytes]:
    """A templates/broken.j2 in the workspace (the config gets `templates: templates`)."""
    data = body.encode() if isinstance(body, str) else body
    return {"templates/broken.j2": data}


TEMPLATES = replace("timezone: UTC\n", "timezone: UTC\ntemplates: templates\n")
BROKEN = ("send", "broken", "--title", "Checkout errors", "--message", "Errors at checkout.")
LONG = "Payments fail for some customers at checkout while we fail over the database. " * 8
