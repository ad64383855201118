"""Twilio's error JSON, list pages (PageSize, Page, PageToken, next_page_uri), date filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from notify.sandbox.core.emulator import Request, Response

__all__ = ["keep_time", "page", "time_bounds", "twilio_error"]


def twilio_error(status: int, code: int, message: str) -> Response:
    """An error in Twilio's JSON shape."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(status, body)


def page(req: Request, items: list[dict[str, Any]], path: str, key: str) -> Response:
    """One page of `items` in Twilio's list envelope, links keeping the request's filters."""
    query = {k: v[-1] for k, v in req.query.items()}
    try:
        size = int(query.get("PageSize", "50"))
        index = int(query.get("Page", "0"))
    except ValueError:
        return twilio_error(400, 20001, "PageSize and Page must be integers")
    if not 1 <= size <= 1000 or index < 0:
        return twilio_error(400, 20001, "PageSize must be 1 to 1000, and Page 0 or more")
    start = index * size
    token = query.get("PageToken", "")
    if token[2:].isdigit():  # PA<n>: the page starts after item n; PB<n>: it ends before it
        start = int(token[2:]) + 1 if token.startswith("PA") else max(0, int(token[2:]) - size)
    shown = items[start : start + size]
    filters = {k: v for k, v in query.items() if k not in ("Page", "PageSize", "PageToken")}

    def link(number: int, token: str | None = None) -> str:
        extra = {"PageSize": size, "Page": number, **({"PageToken": token} if token else {})}
        return f"{path}?{urlencode({**filters, **extra})}"

    more = start + size < len(items)
    return Response(
        200,
        {
            key: shown,
            "end": start + max(len(shown) - 1, 0),
            "first_page_uri": link(0),
            "next_page_uri": link(index + 1, f"PA{start + size - 1}") if more else None,
            "page": index,
            "page_size": size,
            "previous_page_uri": link(index - 1, f"PB{start}") if index > 0 else None,
            "start": start,
            "uri": f"{path}?{urlencode(query)}" if query else path,
        },
    )


def time_bounds(value: str) -> tuple[float, float, bool] | None:
    """(first instant, last instant, whether a whole day) of a StartTime value."""
    try:
        if len(value) == 10:
            day = datetime.combine(date.fromisoformat(value), datetime.min.time(), UTC)
            return day.timestamp(), (day + timedelta(days=1)).timestamp(), True
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.timestamp(), moment.timestamp(), False


def keep_time(name: str, started: float, bounds: tuple[float, float, bool]) -> bool:
    first, end, whole_day = bounds
    if name.endswith(">") or name.endswith(">="):
        return started >= first  # Twilio: "on or after"
    if name.endswith("<="):
        return started < end if whole_day else started <= first
    if name.endswith("<"):
        return started < first
    return first <= started < end if whole_day else int(started) == int(first)
