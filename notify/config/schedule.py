"""`schedule:` in channels.yaml: what `notify tick` does, and when (CONTRACT.md, "Schedules").

Validated like the rest of the file: unknown keys, durations that are not durations and a
`reminders_to` naming no channel or group are each reported with their line and a suggestion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from notify.config.fields import describe
from notify.config.problems import Problems, suggest
from notify.config.yamlsource import PathKey

SCHEDULE_KEYS = (
    "reminders_to",
    "remind_before",
    "maintenance_reminders",
    "maintenance_auto",
    "feedback_after",
    "late_limit",
)
DEFAULT_LATE_LIMIT = timedelta(minutes=15)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
_DURATION_HINT = "write a duration like 5m, 1h, 1h30m or 2d"


@dataclass(frozen=True)
class Schedule:
    """What `notify tick` is to do. A None or empty field turns its kind of action off."""

    reminders_to: str | None = None  # a channel or group: the team's nudges
    remind_before: timedelta | None = None
    maintenance_reminders: tuple[timedelta, ...] = ()  # longest first
    maintenance_auto: bool = False
    feedback_after: timedelta | None = None
    late_limit: timedelta = DEFAULT_LATE_LIMIT

    @property
    def reminds(self) -> bool:
        """Reminder and overdue nudges are on (they need somewhere to go)."""
        return self.reminders_to is not None


def parse_span(text: str) -> timedelta | None:
    """`30m`, `2h`, `1h30m`, `45s`, `1d`; None when `text` is not such a duration (or is 0)."""
    raw = text.strip().lower()
    pos, seconds = 0, 0.0
    for match in _PART.finditer(raw):
        if raw[pos : match.start()].strip():
            return None
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or seconds <= 0:
        return None
    return timedelta(seconds=seconds)


def check_schedule(
    data: dict[str, Any], problems: Problems, channels: list[str], groups: list[str]
) -> Schedule | None:
    """The `schedule:` mapping as a Schedule (None when absent); problems reported with lines."""
    raw = data.get("schedule")
    if raw is None:
        return None
    path: PathKey = ("schedule",)
    if not isinstance(raw, dict):
        problems.add(
            path,
            f"expected a mapping, got {describe(raw)}",
            "write `reminders_to: ...`, `remind_before: 5m` ... indented under it",
        )
        return None
    for key in raw:
        if key not in SCHEDULE_KEYS:
            problems.add(
                (*path, key),
                f"unknown key '{key}' in schedule",
                suggest(str(key), SCHEDULE_KEYS, "schedule keys"),
            )
    reminders_to = _target(raw, channels, groups, problems)
    remind_before = _span(raw, "remind_before", problems)
    if remind_before is not None and reminders_to is None and "reminders_to" not in raw:
        problems.add(
            (*path, "remind_before"),
            "remind_before needs reminders_to, the team's channel or group",
            "add `reminders_to: <a channel or group of the team>`",
        )
    auto = raw.get("maintenance_auto", False)
    if not isinstance(auto, bool):
        problems.add((*path, "maintenance_auto"), f"expected true or false, got {auto!r}", None)
        auto = False
    late = _span(raw, "late_limit", problems)
    return Schedule(
        reminders_to=reminders_to,
        remind_before=remind_before,
        maintenance_reminders=_spans(raw, problems),
        maintenance_auto=auto,
        feedback_after=_span(raw, "feedback_after", problems),
        late_limit=late if late is not None else DEFAULT_LATE_LIMIT,
    )


def _target(
    raw: dict[str, Any], channels: list[str], groups: list[str], problems: Problems
) -> str | None:
    value = raw.get("reminders_to")
    if value is None:
        return None
    path: PathKey = ("schedule", "reminders_to")
    if not isinstance(value, str):
        problems.add(path, f"expected a channel or group name, got {describe(value)}", None)
        return None
    if value not in channels and value not in groups:
        problems.add(
            path,
            f"reminders_to '{value}' is neither a channel nor a group",
            suggest(value, [*channels, *groups], "channels and groups"),
        )
        return None
    return value


def _span(raw: dict[str, Any], key: str, problems: Problems) -> timedelta | None:
    value = raw.get(key)
    if value is None:
        return None
    span = parse_span(value) if isinstance(value, str) else None
    if span is None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        hint = f"give it a unit: {value}m or {value}h" if number else _DURATION_HINT
        problems.add(("schedule", key), f"{key} {value!r} is not a duration", hint)
    return span


def _spans(raw: dict[str, Any], problems: Problems) -> tuple[timedelta, ...]:
    value = raw.get("maintenance_reminders")
    if value is None:
        return ()
    path: PathKey = ("schedule", "maintenance_reminders")
    if not isinstance(value, list):
        value = [value]
    found: set[timedelta] = set()
    for index, item in enumerate(value):
        span = parse_span(item) if isinstance(item, str) else None
        if span is None:
            problems.add(
                (*path, index) if isinstance(raw["maintenance_reminders"], list) else path,
                f"maintenance_reminders: {item!r} is not a duration",
                "write a list of durations before the start, like [24h, 1h]",
            )
            continue
        found.add(span)
    return tuple(sorted(found, reverse=True))
