"""`notify callbacks INCIDENT`: the callers who asked the support line for a call-back.

Each caller once per voice channel (the journal keeps the first call in which they pressed 1),
oldest call first, with whether the call-back text went out: the deliveries to that caller on
the voice channel's `callback_sms` channel, of updates made after the call (a caller who is also
a subscriber got the earlier updates anyway: those are not the call-back). As a table, one JSON
document (--json), or CSV for the agents who phone people back (--csv).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App, journal_for_history
from notify.cli.options import global_options, options_of
from notify.cli.output import Output, RedactingStream, printable
from notify.cli.views import ID, SHORT, STATUS_STYLE, WRAP, listing
from notify.errors import InputError, NotifyError
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from datetime import datetime

    from notify.cli.options import GlobalOptions
    from notify.config.model import Config
    from notify.journal.base import CallbackRequest, Delivery, Journal, Update

CSV_HEADER = ("caller", "requested_at", "channel", "call_sid", "texted")
# A number as Twilio gives it: its leading + is a number's, not a spreadsheet formula's.
_E164 = re.compile(r"\+[0-9]{1,15}")
# What a spreadsheet reads as a formula at the start of a cell (OWASP's list: tab and CR too).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@click.command()
@click.argument("incident")
@click.option(
    "--csv",
    "as_csv",
    is_flag=True,
    help="CSV on stdout (caller,requested_at,channel,call_sid,texted), for phoning back.",
)
@global_options
@click.pass_context
def callbacks(ctx: click.Context, incident: str, as_csv: bool) -> None:
    """The callers who asked the support line for a call-back.

    One row per caller and voice channel: when they called (in the organization's timezone), the
    line they called, and whether the call-back text went out on its `callback_sms` channel
    (sent, failed, pending; "-" when the voice channel is no longer configured).
    """
    options = options_of(ctx)
    if as_csv and options.json:
        raise click.UsageError("--csv and --json each print the whole list: give one of them.")
    ctx.exit(run_callbacks(options, incident, as_csv=as_csv))


def run_callbacks(options: GlobalOptions, incident_id: str, *, as_csv: bool) -> int:
    config = _config_or_none(options)
    journal = App(options, config).history_journal() if config else journal_for_history(options)
    try:
        if journal.get_incident(incident_id) is None:
            raise _unknown_incident(journal, incident_id)
        rows = _rows(journal, config, incident_id)
    finally:
        journal.close()
    out = Output(options)
    if options.json:
        out.json({"incident": incident_id, "callbacks": rows})
    elif as_csv:
        _write_csv(rows)
    else:
        _print_table(out, incident_id, rows, config.timezone if config else "UTC")
    return int(ExitCode.OK)


def _unknown_incident(journal: Journal, incident_id: str) -> InputError:
    """Exit 2 naming the nearest incident id. Unlike `notify show`'s guess (among the open
    incidents), every incident counts: call-backs are looked at once an incident is resolved."""
    import difflib

    ids = [i.id for i in journal.list_incidents(include_resolved=True)]
    close = difflib.get_close_matches(incident_id, ids, n=1, cutoff=0.0)
    return InputError(
        f"no incident {incident_id!r} in the journal",
        hint=f"Did you mean `notify callbacks {close[0]}`?" if close else "No incident yet.",
    )


def _config_or_none(options: GlobalOptions) -> Config | None:
    """The config when it loads; without it (only --journal given, say) every texted is "-"
    and times are shown in UTC. Without --journal its error is the command's: see
    journal_for_history."""
    try:
        return App.load(options).config
    except NotifyError:
        return None


def _rows(journal: Journal, config: Config | None, incident_id: str) -> list[dict[str, Any]]:
    requests = journal.callbacks(incident_id)
    if not requests:
        return []
    updates = {u.id: u for u in journal.updates(incident_id)}
    deliveries = journal.deliveries(incident_id=incident_id)
    return [
        {
            "caller": r.caller,
            "channel": r.channel,
            "call_sid": r.call_sid,
            "requested_at": r.requested_at,
            "texted": _texted(r, _callback_sms(config, r.channel), deliveries, updates),
        }
        for r in requests
    ]


def _callback_sms(config: Config | None, voice_channel: str) -> str | None:
    """The channel the voice channel texts call-backs through; None when it is not configured
    (removed since, or not a voice channel with callback_sms any more)."""
    channel = config.channels.get(voice_channel) if config else None
    if channel is None or channel.type != "voice":
        return None
    name = channel.adapter.settings.get("callback_sms")
    return str(name) if name else None


def _texted(
    request: CallbackRequest,
    sms_channel: str | None,
    deliveries: list[Delivery],
    updates: dict[int, Update],
) -> str | None:
    """sent, failed or pending (no text yet: the incident is open, or the run is unfinished);
    None when there is no callback_sms channel to look on. A text skipped for an opt-out did
    not reach the caller, so it reads as failed: phone them."""
    if sms_channel is None:
        return None
    called = _parsed(request.requested_at)
    statuses: set[str] = set()
    for d in deliveries:
        if d.channel != sms_channel or d.recipient != request.caller:
            continue
        update = updates.get(d.update_id)
        made = _parsed(update.created_at) if update else None
        if called is not None and made is not None and made < called:
            continue  # an update from before the call: the caller's subscription, not this
        statuses.add(d.status)
    if "sent" in statuses:
        return "sent"
    if statuses & {"pending", "unknown"} or not statuses:
        return "pending"
    return "failed"


def _print_table(out: Output, incident_id: str, rows: list[dict[str, Any]], zone: str) -> None:
    from rich.markup import escape

    if not rows:
        out.line(escape(f"no call-back requests for {incident_id}."))
        return
    columns = [("caller", ID), ("called", WRAP), ("line", ID), ("texted", SHORT)]
    cells = []
    for row in rows:
        texted = row["texted"]
        style = STATUS_STYLE.get(texted or "", "")
        cells.append(
            [
                escape(row["caller"]),
                escape(_local(row["requested_at"], zone)),
                escape(row["channel"]),
                f"[{style}]{texted}[/]" if texted else "-",
            ]
        )
    out.out.print(listing(columns, cells, out.out.width))


def _local(moment: str, zone: str) -> str:
    """An ISO 8601 UTC time as people read it in `zone`: "2026-11-22 15:03 CET"."""
    from zoneinfo import ZoneInfo

    parsed = _parsed(moment)
    try:
        local = parsed.astimezone(ZoneInfo(zone)) if parsed else None
    except (ValueError, KeyError, OSError):
        local = None
    return f"{local:%Y-%m-%d %H:%M %Z}" if local else moment  # else as stored


def _parsed(moment: str) -> datetime | None:
    """An ISO 8601 time with its offset ("Z" too); None for anything else."""
    from datetime import datetime

    try:
        parsed = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def _write_csv(rows: list[dict[str, Any]]) -> None:
    import csv
    import sys

    stream = RedactingStream(sys.stdout)
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for row in rows:
        writer.writerow(
            [
                row["caller"] if _E164.fullmatch(row["caller"]) else _cell(row["caller"]),
                *(_cell(row[name] or "") for name in CSV_HEADER[1:]),
            ]
        )
    stream.flush()


def _cell(value: str) -> str:
    """A value a spreadsheet shows as text: one that would start a formula gets a leading
    quote (CSV injection), and control characters are shown, not kept."""
    value = printable(value)
    return "'" + value if value.startswith(_FORMULA_START) else value
