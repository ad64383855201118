"""Template filters for times and durations, in the configured timezone, in plain English.

The `spoken_*` filters say the same in words for a voice (the support line's `voice` block):
"two thirty p.m. UTC", "Monday, December seventh", "two hours and ten minutes", "A, B and C".

Names are locale-independent on purpose (no strftime %a/%b): the output must not change with the
machine's locale, since a message is composed once and sent to everyone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from notify.render.spoken import clock_words, date_words, duration_words, zone_words

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_LOOKS_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}")
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1))


class FilterError(ValueError):
    """A filter got a value it cannot show; the template renderer adds file and line."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FilterError(
            f"unknown timezone {name!r} (use an IANA name like Europe/Berlin)"
        ) from exc


def to_datetime(value: Any, filter_name: str) -> datetime | str:
    """A datetime from a datetime or an ISO-8601 string; other text passes through unchanged.

    Free text ("Sunday night") is shown as written, so `--set window_start=...` may be either; a
    value that looks like a date but is not one is an error rather than a silent misprint.
    """
    if value is None:
        raise FilterError(
            f"the `{filter_name}` filter got None; guard it with {{% if ... %}} in the template"
        )
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str):
        if not _LOOKS_ISO.match(value.strip()):
            return value
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise FilterError(
                f"`{filter_name}`: {value!r} is not an ISO-8601 time like 2026-11-22T14:30Z"
            ) from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise FilterError(f"the `{filter_name}` filter needs a time, not {type(value).__name__}")


def _seconds(value: Any, name: str = "duration") -> float:
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
    raise FilterError(f"`{name}` needs a timedelta or seconds, not {value!r}")


def _elapsed(value: Any, end: Any, name: str) -> float:
    """Seconds: of a timedelta or number, or between two moments (`start | duration(end)`)."""
    if end is None:
        return _seconds(value, name)
    start, stop = to_datetime(value, name), to_datetime(end, name)
    if isinstance(start, str) or isinstance(stop, str):
        raise FilterError(f"`{name}(end)` needs two times, like started_at and update.at")
    return (stop - start).total_seconds()


def humanize_seconds(seconds: float) -> str:
    """ "1 hour 25 minutes": the two largest non-zero units; seconds only under a minute."""
    total = int(abs(seconds))
    if total < 60:
        return "less than a minute" if total == 0 else _plural(total, "second")
    parts: list[str] = []
    for unit, size in _UNITS[:-1]:
        count, total = divmod(total, size)
        if count:
            parts.append(_plural(count, unit))
        elif parts:
            break  # "1 day 0 hours 5 minutes" -> "1 day"
        if len(parts) == 2:
            break
    return " ".join(parts)


def _plural(count: int, unit: str) -> str:
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"


def _now(context: Any) -> datetime:
    now = context.get("now") if context is not None else None
    if isinstance(now, datetime):
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.now(UTC)


def make_filters(timezone: str = "UTC") -> dict[str, Callable[..., str]]:
    """The filters, bound to the configured display timezone."""
    from jinja2 import pass_context

    tz = zone(timezone)

    def local(value: Any, name: str) -> datetime | str:
        when = to_datetime(value, name)
        return when.astimezone(tz) if isinstance(when, datetime) else when

    def time(value: Any) -> str:
        when = local(value, "time")
        return when if isinstance(when, str) else f"{when:%H:%M} {when.tzname()}"

    def date(value: Any) -> str:
        when = local(value, "date")
        if isinstance(when, str):
            return when
        return f"{_DAYS[when.weekday()]} {when.day} {_MONTHS[when.month - 1]} {when.year}"

    def datetime_(value: Any) -> str:
        when = local(value, "datetime")
        return when if isinstance(when, str) else f"{date(when)}, {time(when)}"

    @pass_context
    def ago(context: Any, value: Any) -> str:
        when = to_datetime(value, "ago")
        if isinstance(when, str):
            return when
        delta = (_now(context) - when).total_seconds()
        if abs(delta) < 60:
            return "just now"
        text = humanize_seconds(delta)
        return f"{text} ago" if delta > 0 else f"in {text}"

    @pass_context
    def until(context: Any, value: Any) -> str:
        when = to_datetime(value, "until")
        if isinstance(when, str):
            return when
        delta = (when - _now(context)).total_seconds()
        if abs(delta) < 60:
            return "in under a minute" if delta >= 0 else "just now"
        text = humanize_seconds(delta)
        return f"in {text}" if delta > 0 else f"{text} ago"

    def duration(value: Any, end: Any = None) -> str:
        """A timedelta or seconds; or `start | duration(end)` for the time between two moments."""
        return humanize_seconds(_elapsed(value, end, "duration"))

    def timespan(start: Any, end: Any = None) -> str:
        """A window: "Sun 22 Nov 2026, 22:00-23:30 UTC", the date once when both share it."""
        first, last = local(start, "timespan"), local(end, "timespan") if end is not None else None
        if last is None:
            return first if isinstance(first, str) else datetime_(first)
        if isinstance(first, str) or isinstance(last, str):
            return f"{first if isinstance(first, str) else datetime_(first)} to " + (
                last if isinstance(last, str) else datetime_(last)
            )
        if first.date() == last.date():
            return f"{date(first)}, {first:%H:%M}-{time(last)}"
        return f"{datetime_(first)} to {datetime_(last)}"

    spoken = _spoken_filters(local, tz)
    return {
        **spoken,
        "timespan": timespan,
        "time": time,
        "date": date,
        "datetime": datetime_,
        "ago": ago,
        "until": until,
        "in_": until,
        "duration": duration,
    }


def _spoken_filters(
    local: Callable[[Any, str], datetime | str], tz: ZoneInfo
) -> dict[str, Callable[..., str]]:
    """The filters for a voice: times, dates and durations in words, in the same timezone."""
    from jinja2 import pass_context

    def spoken_time(value: Any) -> str:
        """ "two thirty p.m. UTC", "noon Central European Time"."""
        when = local(value, "spoken_time")
        return when if isinstance(when, str) else f"{clock_words(when)} {zone_words(when)}"

    @pass_context
    def spoken_date(context: Any, value: Any) -> str:
        """ "Monday, December seventh"; the year is said only when it is not this year's."""
        when = local(value, "spoken_date")
        if isinstance(when, str):
            return when
        return date_words(when, with_year=when.year != _now(context).astimezone(tz).year)

    @pass_context
    def spoken_datetime(context: Any, value: Any) -> str:
        """ "Monday, December seventh at two thirty p.m. UTC"."""
        when = local(value, "spoken_datetime")
        if isinstance(when, str):
            return when
        return f"{spoken_date(context, when)} at {spoken_time(when)}"

    @pass_context
    def spoken_timespan(context: Any, start: Any, end: Any = None) -> str:
        """A window: "Sunday, November twenty ninth, from ten p.m. to eleven thirty p.m. UTC"."""
        first = local(start, "spoken_timespan")
        last = local(end, "spoken_timespan") if end is not None else None
        if last is None:
            return first if isinstance(first, str) else spoken_datetime(context, first)
        if isinstance(first, str) or isinstance(last, str):
            said_first = first if isinstance(first, str) else spoken_datetime(context, first)
            said_last = last if isinstance(last, str) else spoken_datetime(context, last)
            return f"{said_first} to {said_last}"
        if first.date() != last.date():
            return f"from {spoken_datetime(context, first)} to {spoken_datetime(context, last)}"
        same_zone = zone_words(first) == zone_words(last)  # not across a daylight-saving change
        said_first = clock_words(first) if same_zone else spoken_time(first)
        return f"{spoken_date(context, first)}, from {said_first} to {spoken_time(last)}"

    def spoken_duration(value: Any, end: Any = None) -> str:
        """ "forty five minutes", "two hours and ten minutes"; or `start | spoken_duration(end)`."""
        return duration_words(_elapsed(value, end, "spoken_duration"))

    def spoken_list(value: Any) -> str:
        """ "Payments API, Checkout and Dashboard": a list as said aloud (text passes through)."""
        if isinstance(value, str) or not isinstance(value, Iterable):
            return str(value)
        items = [str(item) for item in value if item not in (None, "")]
        if len(items) < 2:
            return "".join(items)
        return ", ".join(items[:-1]) + " and " + items[-1]

    return {
        "spoken_list": spoken_list,
        "spoken_time": spoken_time,
        "spoken_date": spoken_date,
        "spoken_datetime": spoken_datetime,
        "spoken_timespan": spoken_timespan,
        "spoken_duration": spoken_duration,
    }
