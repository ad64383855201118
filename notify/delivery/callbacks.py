"""Call-back requests collected from the support line into the journal, on every send and tick.

An incident is on a voice channel's line from its first update there until it is resolved (the
line's state, notify.channels.voice). Every caller who pressed 1 in a call since then is recorded
once per incident (`Journal.record_callback`); the `resolved` update then texts each of them
through the channel's `callback_sms` (notify.delivery.preflight adds those deliveries).
A failure to read Twilio's records is reported, never fatal: the update still goes out, and the
next send or tick collects what was missed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from notify.channels.voice import LINE_KEY

if TYPE_CHECKING:
    from notify.config.model import ChannelConfig, Config
    from notify.journal.base import Journal


@dataclass
class Collected:
    """What one collection found on one voice channel."""

    channel: str
    incidents: list[str]  # the incidents on its line that were looked at
    new: list[tuple[str, str]] = field(default_factory=list)  # (incident, caller) recorded now
    error: str | None = None  # why Twilio's records could not be read


def voice_channels(config: Config) -> list[ChannelConfig]:
    """The enabled voice channels."""
    return config.enabled_of_type("voice")


def line_incidents(journal: Journal, channel: str) -> dict[str, datetime]:
    """The incidents on a voice channel's line, each with when it went on."""
    line = journal.kv_get(f"{channel}:{LINE_KEY}") or {}
    found: dict[str, datetime] = {}
    for incident, said in (line.get("incidents") or {}).items():
        since = _parse(str((said or {}).get("since") or ""))
        if since is not None:
            found[str(incident)] = since
    return found


def collect_callbacks(
    config: Config, journal: Journal, incidents: Iterable[str] | None = None
) -> list[Collected]:
    """Read each voice channel's calls and record the callers who pressed 1, for the incidents
    on its line (only `incidents`, when given). No network when no incident is on a line."""
    wanted = set(incidents) if incidents is not None else None
    work: list[tuple[ChannelConfig, dict[str, datetime]]] = []
    for channel in voice_channels(config):
        on_line = line_incidents(journal, channel.name)
        chosen = {i: s for i, s in on_line.items() if wanted is None or i in wanted}
        if chosen:
            work.append((channel, chosen))
    if not work:
        return []
    import asyncio

    return asyncio.run(_collect(work, config, journal))


async def _collect(
    work: list[tuple[ChannelConfig, dict[str, datetime]]], config: Config, journal: Journal
) -> list[Collected]:
    import httpx

    from notify.channels.base import DeliveryContext
    from notify.channels.voice_calls import CallsUnreadable, callback_calls
    from notify.delivery.transport import shared_client
    from notify.journal import JournalSessionStore
    from notify.journal.base import CallbackRequest

    results: list[Collected] = []
    async with shared_client() as http:
        for channel, on_line in work:
            report = Collected(channel.name, sorted(on_line))
            results.append(report)
            ctx = DeliveryContext(
                http=http,
                store=JournalSessionStore(journal, channel.name),
                incident={},
                update={},
                org=config.organization,
                delivery_key="",
                journal=journal,
            )
            try:
                calls = await callback_calls(channel.adapter, ctx, min(on_line.values()))  # type: ignore[arg-type]
            except CallsUnreadable as exc:
                report.error = str(exc)
                continue
            except (httpx.TransportError, OSError, TimeoutError) as exc:  # tried again next time
                report.error = f"voice channel {channel.name!r}: {exc or type(exc).__name__}"
                continue
            for incident, since in on_line.items():
                for call in calls:
                    if call.started_at < since:
                        continue
                    request = CallbackRequest(
                        incident_id=incident,
                        channel=channel.name,
                        caller=call.caller,
                        call_sid=call.call_sid,
                        requested_at=call.started_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    )
                    if journal.record_callback(request):
                        report.new.append((incident, call.caller))
    return results


def describe(collected: Iterable[Collected]) -> list[str]:
    """One line per channel that found something new or failed, for a command's notes."""
    lines = []
    for report in collected:
        if report.error:
            lines.append(f"call-backs not collected: {report.error}")
        elif report.new:
            count = len(report.new)
            lines.append(
                f"{report.channel}: {count} new call-back request{'s' if count != 1 else ''}"
            )
    return lines


def _parse(text: str) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
