"""`notify incidents`, `notify show`, `notify log`: what the journal knows."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App, journal_for_history, journal_if_sent
from notify.cli.options import GlobalOptions, global_options, options_of
from notify.cli.output import Output
from notify.cli.views import ID, SHORT, STATUS_STYLE, WRAP, listing
from notify.errors import NotifyError
from notify.exitcodes import ExitCode
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from notify.journal.base import Delivery, Journal


@click.command()
@click.option("--all", "show_all", is_flag=True, help="Resolved incidents too.")
@global_options
@click.pass_context
def incidents(ctx: click.Context, show_all: bool) -> None:
    """List incidents (open ones unless --all)."""
    ctx.exit(run_incidents(options_of(ctx), show_all=show_all))


def run_incidents(options: GlobalOptions, *, show_all: bool) -> int:
    journal = journal_if_sent(options)
    out = Output(options)
    if journal is None:
        return _nothing_sent(out, "incidents")
    rows = journal.list_incidents(include_resolved=show_all)
    due = _next_actions(options, journal, rows)
    if options.json:
        out.json(
            {
                "incidents": [
                    asdict(i) | {"updates": len(journal.updates(i.id))} | due.get(i.id, {})
                    for i in rows
                ]
            }
        )
        return int(ExitCode.OK)
    if not rows:
        out.note("no open incidents." if not show_all else "no incidents yet.")
        return int(ExitCode.OK)
    from rich.markup import escape

    columns = [("incident", ID), ("title", WRAP), ("status", SHORT), ("impact", SHORT)]
    columns += [("started", WRAP), ("updates", SHORT), *([("next due", WRAP)] if due else [])]
    cells = [
        [
            escape(i.id),
            escape(i.title),
            i.status,
            i.impact or "",
            i.started_at,
            str(len(journal.updates(i.id))),
            *([_shown(due.get(i.id, {}))] if due else []),
        ]
        for i in rows
    ]
    out.out.print(listing(columns, cells, out.out.width))
    return int(ExitCode.OK)


def _nothing_sent(out: Output, listed: str) -> int:
    """A config that has sent nothing yet has an empty history: an empty list, exit 0."""
    if out.options.json:
        out.json({listed: []})
    else:
        out.note(f"no {listed} yet: nothing has been sent with this config.")
    return int(ExitCode.OK)


def _next_actions(
    options: GlobalOptions, journal: Any, rows: list[Any]
) -> dict[str, dict[str, Any]]:
    """With a `schedule:`, each open incident's next due action (`notify tick`'s), by id; {}
    without one (the listing then stays as it was)."""
    try:
        schedule = App.load(options).config.schedule
    except NotifyError:
        return {}
    if schedule is None:
        return {}
    from notify.delivery.schedule import next_action

    found: dict[str, dict[str, Any]] = {}
    for incident in rows:
        action = next_action(schedule, journal, incident)
        when = action.due_at.strftime("%Y-%m-%dT%H:%M:%SZ") if action else None
        found[incident.id] = {
            "next_action": {"kind": action.kind, "due_at": when} if action else None
        }
    return found


def _shown(entry: dict[str, Any]) -> str:
    action = entry.get("next_action")
    return f"{action['kind']} {action['due_at']}" if action else ""


@click.command()
@click.argument("incident")
@global_options
@click.pass_context
def show(ctx: click.Context, incident: str) -> None:
    """One incident's timeline: updates, and each delivery with its status."""
    ctx.exit(run_show(options_of(ctx), incident))


def run_show(options: GlobalOptions, incident_id: str) -> int:
    journal = journal_for_history(options)
    out = Output(options)
    incident = journal.get_incident(incident_id)
    if incident is None:
        from notify.delivery.incident import unknown_incident

        raise unknown_incident(journal, incident_id)
    updates = journal.updates(incident.id)
    deliveries = journal.deliveries(incident_id=incident.id)
    lines = _support_lines(journal, incident.id, deliveries)
    if options.json:
        out.json(
            {
                "incident": asdict(incident),
                "updates": [
                    asdict(u)
                    | {"deliveries": [asdict(d) for d in deliveries if d.update_id == u.id]}
                    for u in updates
                ],
                "support_lines": lines,
            }
        )
        return int(ExitCode.OK)
    from rich.markup import escape
    from rich.tree import Tree

    tree = Tree(
        f"[bold]{escape(incident.id)}[/] — {escape(incident.title)} · {incident.status} "
        f"(impact {incident.impact or 'n/a'})"
    )
    for u in updates:
        branch = tree.add(
            f"#{u.number} {u.created_at} [cyan]{escape(u.status)}[/] ({escape(u.template)}) "
            + escape(u.message[:80])
        )
        for d in (d for d in deliveries if d.update_id == u.id):
            style = STATUS_STYLE.get(d.status, "")
            extra = f" id={d.provider_message_id}" if d.provider_message_id else ""
            extra += f" — {d.error}" if d.error else ""
            extra += f" (fallback for #{d.fallback_for})" if d.fallback_for else ""
            who = escape(f"{d.channel} → {d.recipient}")
            branch.add(f"{who}: [{style}]{d.status}[/]{escape(extra)}")
    out.out.print(tree)
    from notify.channels.voice import CLOSING_STATUSES

    for line in lines:
        words = (
            f"support line {line['channel']} ({line['number']}) still plays this incident's script"
        )
        if incident.status in CLOSING_STATUSES:
            out.note(f"[yellow]{escape(words)}[/]: `notify retry` puts its own voice URL back.")
        else:
            out.line(escape(words) + " (until the incident is resolved).")
    return int(ExitCode.OK)


def _support_lines(
    journal: Journal, incident_id: str, deliveries: list[Delivery]
) -> list[dict[str, str]]:
    """The voice channels whose number still points at this incident's call script."""
    from notify.delivery.callbacks import line_incidents

    found = []
    channels = {(d.channel, d.recipient) for d in deliveries if d.type == "voice"}
    for channel, number in sorted(channels):
        if incident_id in line_incidents(journal, channel):
            found.append({"channel": channel, "number": number})
    return found


@click.command()
@click.option("--incident", metavar="ID", help="Only this incident.")
@click.option("--failed", is_flag=True, help="Only deliveries that failed (or are unknown).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@global_options
@click.pass_context
def log(ctx: click.Context, incident: str | None, failed: bool, limit: int) -> None:
    """Deliveries, newest first."""
    ctx.exit(run_log(options_of(ctx), incident=incident, failed=failed, limit=limit))


def run_log(options: GlobalOptions, *, incident: str | None, failed: bool, limit: int) -> int:
    journal = journal_if_sent(options)
    out = Output(options)
    if journal is None:
        return _nothing_sent(out, "deliveries")
    if incident and journal.get_incident(incident) is None:
        from notify.delivery.incident import unknown_incident

        raise unknown_incident(journal, incident)
    statuses = (DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN) if failed else None
    rows = journal.deliveries(
        incident_id=incident, statuses=statuses, limit=limit, newest_first=True
    )
    if options.json:
        out.json({"deliveries": [asdict(d) for d in rows]})
        return int(ExitCode.OK)
    from rich.markup import escape

    # Ids and names stay whole; addresses, provider ids and errors wrap.
    columns = [("when", WRAP), ("incident", ID), ("channel", ID), ("recipient", WRAP)]
    columns += [("status", ID), ("attempts", SHORT), ("provider id", WRAP), ("error", WRAP)]
    cells: list[list[str]] = []
    for d in rows:
        style = STATUS_STYLE.get(d.status, "")
        cells.append(
            [
                d.updated_at,
                escape(d.incident_id),
                escape(d.channel),
                escape(d.recipient),
                f"[{style}]{d.status}[/]",
                str(d.attempts),
                escape(d.provider_message_id or ""),
                escape(d.error or ""),
            ]
        )
    out.out.print(listing(columns, cells, out.out.width))
    return int(ExitCode.OK)
