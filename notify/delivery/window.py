"""Maintenance windows: --starts / --ends read as times, checked, and found again in the journal.

`--starts` and `--ends` take ISO 8601 with an offset, `YYYY-MM-DD HH:MM` in the organization's
timezone, or a duration from now (`2h`). The window is recorded with the update that gives it
(its context's `maintenance`), so later updates, templates and `notify tick` find it there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from notify.errors import InputError

if TYPE_CHECKING:
    from notify.config.model import Config
    from notify.journal.base import Update

_LOCAL = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d{1,2}:\d{2})$")
_SPAN = re.compile(r"^(?:\d+(?:\.\d+)?\s*(?:d|h|min|m|s)\s*)+$")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}
_FORMATS = (
    "2026-11-22T22:00:00+01:00 (ISO 8601 with an offset), 2026-11-22 22:00 (in the "
    "organization's timezone) or 2h (from now)"
)


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window, in UTC. `ends_at` may be unknown."""

    starts_at: datetime
    ends_at: datetime | None = None

    def to_json(self) -> dict[str, str | None]:
        return {"starts_at": _iso(self.starts_at), "ends_at": _iso(self.ends_at)}

    @classmethod
    def from_json(cls, data: Any) -> Window | None:
        if not isinstance(data, dict) or not data.get("starts_at"):
            return None
        ends = data.get("ends_at")
        return cls(_parse_iso(data["starts_at"]), _parse_iso(ends) if ends else None)


def parse_time(text: str, option: str, *, now: datetime, timezone: str) -> datetime:
    """One --starts / --ends value as a UTC time; InputError naming the option otherwise."""
    raw = text.strip()
    if _SPAN.match(raw.lower()):
        seconds = sum(
            float(n) * _UNITS[u]
            for n, u in re.findall(r"(\d+(?:\.\d+)?)\s*(d|h|min|m|s)", raw.lower())
        )
        return (now + timedelta(seconds=seconds)).astimezone(UTC)
    local = _LOCAL.match(raw)
    try:
        if local:
            naive = datetime.fromisoformat(f"{local.group(1)}T{local.group(2).zfill(5)}")
            return naive.replace(tzinfo=ZoneInfo(timezone)).astimezone(UTC)
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InputError(f"{option} {text!r} is not a time", hint=f"Write it like {_FORMATS}.")
    return moment.astimezone(UTC)


def window_from_options(
    starts: str | None, ends: str | None, *, now: datetime, timezone: str
) -> Window | None:
    """--starts / --ends as a Window (None when neither is given), checked: it must start after
    now and end after it starts."""
    if starts is None and ends is None:
        return None
    if starts is None:
        raise InputError("--ends without --starts", hint="Give the window's start with --starts.")
    start = parse_time(starts, "--starts", now=now, timezone=timezone)
    end = parse_time(ends, "--ends", now=now, timezone=timezone) if ends is not None else None
    if end is not None and end <= start:
        raise InputError(
            f"--ends {ends!r} is not after --starts {starts!r}",
            hint="A maintenance window ends after it starts: check the dates and the timezone.",
        )
    if start <= now:
        raise InputError(
            f"--starts {starts!r} is in the past ({_iso(start)}; now is {_iso(now)})",
            hint="Announce maintenance before it starts; for one under way, send "
            "maintenance-started.",
        )
    return Window(start, end)


def latest_window(updates: Sequence[Update]) -> tuple[Update, Window] | None:
    """The window the incident's latest update that gave one gave (a re-announcement moves it),
    with that update."""
    for update in reversed(updates):
        window = Window.from_json(update.context.get("maintenance"))
        if window is not None:
            return update, window
    return None


def maintenance_window(variables: Mapping[str, Any]) -> dict[str, str] | None:
    """A maintenance window given as times (`--set window_start=... window_end=...`, ISO 8601),
    as adapters get it: {"starts_at", "ends_at"} in UTC; None when not given as times."""
    found = {}
    for key, name in (("window_start", "starts_at"), ("window_end", "ends_at")):
        value = variables.get(key)
        try:
            moment = (
                datetime.fromisoformat(value.replace("Z", "+00:00"))
                if isinstance(value, str) and value
                else value
            )
        except ValueError:  # free text ("Sunday night"): shown by templates as written
            moment = None
        if isinstance(moment, datetime) and moment.tzinfo is not None:
            found[name] = _iso(moment) or ""
    return found or None


def _iso(moment: datetime | None) -> str | None:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def window_required(config: Config) -> bool:
    """maintenance-scheduled must give its window when the schedule acts on windows."""
    schedule = config.schedule
    return schedule is not None and bool(
        schedule.maintenance_reminders or schedule.maintenance_auto
    )
