"""Call-back requests read back from Twilio: the calls to the support line, and who pressed 1.

The call script is a static file, so no server of notify's hears the digit: Twilio's Calls list
(`To` the number, started since a moment, page by page through `next_page_uri`) and each call's
Events (every request Twilio made during the call, with its parameters as lower-case snake_case
keys) tell who pressed 1. A finished call never changes, so what it said is remembered in the
channel's session entry `calls` and its events are not read again.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from notify.channels.http import Request, one_line

if TYPE_CHECKING:
    from notify.channels.base import DeliveryContext
    from notify.channels.voice import VoiceChannel

CALLS_KEY = "calls"  # the channel's session entry: finished calls already read, by sid
FINISHED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
REMEMBERED = timedelta(days=30)  # finished calls older than this are forgotten
PAGE_SIZE = 100
MAX_PAGES = 200
# What Twilio puts in `from` when the caller withholds their number (twilio.com/docs/voice:
# "anonymous", and the numbers it uses for restricted, unavailable and blocked callers).
WITHHELD = frozenset(
    {"anonymous", "restricted", "unknown", "unavailable", "blocked", "private", "+266696687",
     "+7378742833", "+8656696", "+2562533", "+86282452253"}
)  # fmt: skip


class CallsUnreadable(Exception):
    """Twilio would not list the calls or their events; the message says why, without secrets."""


@dataclass(frozen=True)
class CallbackCall:
    """A call to the support line in which the caller pressed 1."""

    caller: str  # E.164
    call_sid: str
    started_at: datetime  # UTC


async def callback_calls(
    channel: VoiceChannel, ctx: DeliveryContext, since: datetime
) -> list[CallbackCall]:
    """The calls to the channel's number started at or after `since` in which the caller, not
    withholding their number, pressed 1: oldest first."""
    remembered: MutableMapping[str, Any] = dict(ctx.store.get(CALLS_KEY) or {})
    query = f"To={quote(channel.target(), safe='')}&StartTime%3E={since:%Y-%m-%dT%H:%M:%SZ}"
    url: str | None = f"{channel.account_url}/Calls.json?{query}&PageSize={PAGE_SIZE}"
    found: list[CallbackCall] = []
    pages = 0
    while url and pages < MAX_PAGES:
        page = await _get(channel, ctx, url, "listing the calls to the number")
        pages += 1
        for call in page.get("calls") or ():
            if not isinstance(call, Mapping):
                continue
            started = _when(call.get("start_time") or call.get("date_created"))
            caller = str(call.get("from") or "").strip()
            sid = str(call.get("sid") or "")
            if started is None or started < since or not sid or _withheld(caller):
                continue
            pressed = remembered.get(sid, {}).get("pressed")
            if pressed is None:
                pressed = await _pressed_one(channel, ctx, sid)
                if str(call.get("status") or "") in FINISHED:
                    remembered[sid] = {"pressed": pressed, "at": started.isoformat()}
            if pressed:
                found.append(CallbackCall(caller, sid, started))
        url = _next(channel, page)
    ctx.store.set(CALLS_KEY, _forget_old(remembered))
    found.reverse()  # Twilio lists the newest first: calls of the same second keep their order
    found.sort(key=lambda c: c.started_at)
    return found


async def _pressed_one(channel: VoiceChannel, ctx: DeliveryContext, call_sid: str) -> bool:
    sid = quote(call_sid, safe="")
    url: str | None = f"{channel.account_url}/Calls/{sid}/Events.json?PageSize={PAGE_SIZE}"
    pages = 0
    while url and pages < MAX_PAGES:
        page = await _get(channel, ctx, url, "reading a call's events")
        pages += 1
        for event in page.get("events") or ():
            request = event.get("request") if isinstance(event, Mapping) else None
            parameters = request.get("parameters") if isinstance(request, Mapping) else None
            if isinstance(parameters, Mapping) and str(parameters.get("digits") or "") == "1":
                return True
        url = _next(channel, page)
    return False


async def _get(
    channel: VoiceChannel, ctx: DeliveryContext, url: str, doing: str
) -> Mapping[str, Any]:
    answer = await channel.call(ctx, Request("GET", url, auth=channel.auth()))
    if not answer.ok:
        data = answer.fields
        words = one_line(data.get("message") or answer.snippet(), 200)
        raise CallsUnreadable(
            f"voice channel {channel.name!r}: Twilio error {data.get('code') or answer.status} "
            f"while {doing}: {words}"
        )
    return answer.fields


def _next(channel: VoiceChannel, page: Mapping[str, Any]) -> str | None:
    """The next page's URL: Twilio gives a path from the API's root, or a whole URL."""
    uri = page.get("next_page_uri")
    if not uri or not isinstance(uri, str):
        return None
    return uri if uri.startswith(("https://", "http://")) else f"{channel.base_url}{uri}"


def _when(text: Any) -> datetime | None:
    """Twilio's RFC 2822 dates ("Sun, 06 Dec 2026 13:02:11 +0000"), or ISO 8601."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(str(text))
    except (TypeError, ValueError):
        try:
            moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _withheld(caller: str) -> bool:
    from notify.channels.voice import E164

    return caller.lower() in WITHHELD or not E164.match(caller)


def _forget_old(remembered: Mapping[str, Any]) -> dict[str, Any]:
    horizon = (datetime.now(UTC) - REMEMBERED).isoformat()
    return {sid: seen for sid, seen in remembered.items() if str(seen.get("at", "")) >= horizon}
