"""`notify tick`: do what the schedule says is due now, once, then exit (run it every minute).

The work is notify.delivery.tick's (imported when the command runs); this module parses the
options and reports: one line per action, or `tick --json`'s document (CONTRACT.md).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App
from notify.cli.options import global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from notify.delivery.schedule import Due
    from notify.delivery.tick import ActionOutcome, TickReport

_NOW_HINT = "Write it like 2026-11-22T14:30:00Z, 2026-11-22T15:30+01:00 or 2026-11-22 14:30 (UTC)."


@click.command()
@click.option("--dry-run", is_flag=True, help="List what is due and what comes next; do nothing.")
@click.option("--now", "now_text", metavar="TIME", help="Judge as if it were TIME (rehearsals).")
@global_options
@click.pass_context
def tick(ctx: click.Context, dry_run: bool, now_text: str | None) -> None:
    """Do what is due now (reminders, maintenance, feedback, call-backs), once; for cron."""
    now = parse_now(now_text) if now_text is not None else None
    ctx.exit(run(options_of(ctx), now=now, dry_run=dry_run))


def parse_now(text: str) -> datetime:
    """--now: ISO 8601 (an offset, or UTC when none is given)."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"--now {text!r} is not a time", hint=_NOW_HINT) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def run(options: Any, *, now: datetime | None, dry_run: bool) -> int:
    from notify.delivery.tick import run_tick

    app = App.load(options)
    out = Output(options)
    if app.config.schedule is None and not app.config.enabled_of_type("voice"):
        out.note("no `schedule:` in channels.yaml: nothing is ever due.")
    journal = app.existing_journal() if dry_run else app.open_journal()
    if journal is None:  # a dry run before anything was sent: nothing can be due
        report_empty = _empty(now)
        _report(report_empty, out, dry_run)
        return int(ExitCode.OK)
    try:
        show = None if options.json or options.quiet else (lambda a: _line(a, out))
        report = run_tick(
            app.config, lambda: app.templates, journal, now=now, dry_run=dry_run, on_action=show
        )
    finally:
        journal.close()
    _report(report, out, dry_run)
    return int(ExitCode.DELIVERY_FAILED) if report.failed else int(ExitCode.OK)


def _empty(now: datetime | None) -> TickReport:
    from notify.delivery.tick import TickReport

    return TickReport((now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0))


def _line(action: ActionOutcome, out: Output) -> None:
    due = action.due
    why = f" ({action.reason})" if action.reason else ""
    out.out.print(
        f"{action.status:<8} {due.kind:<22} {due.incident_id}  due {_iso(due.due_at)}{why}",
        markup=False,
        highlight=False,
    )


def _report(report: TickReport, out: Output, dry_run: bool) -> None:
    if out.options.json:
        out.json(tick_document(report))
        return
    from rich.markup import escape

    from notify.delivery.callbacks import describe

    for line in describe(report.callbacks):  # said on stderr: cron mails only what matters
        out.note(escape(line))
    if out.options.quiet:
        return
    if dry_run:  # an idle tick says nothing: cron mails whatever a job prints
        if not report.actions:
            out.note(f"nothing due at {_iso(report.now)}.")
        for due in report.upcoming[:20]:
            out.out.print(
                f"next     {due.kind:<22} {due.incident_id}  due {_iso(due.due_at)}",
                markup=False,
                highlight=False,
            )
        out.note("[cyan]dry run:[/] nothing sent, nothing recorded.")


def tick_document(report: TickReport) -> dict[str, Any]:
    """`tick --json` (CONTRACT.md): now, the actions taken, and what comes next."""
    from notify.cli.documents import outcome_json

    return {
        "now": _iso(report.now),
        "actions": [
            {
                "kind": a.due.kind,
                "incident": a.due.incident_id,
                "due_at": _iso(a.due.due_at),
                "status": a.status,
                "reason": a.reason,
                "key": a.due.key,
                "deliveries": [outcome_json(o) for o in a.result.outcomes] if a.result else [],
            }
            for a in report.actions
        ],
        "next": [_next(d) for d in report.upcoming],
        "callbacks": [
            {"channel": c.channel, "incident": incident, "caller": caller}
            for c in report.callbacks
            for incident, caller in c.new
        ],
        "callback_errors": [c.error for c in report.callbacks if c.error],
    }


def _next(due: Due) -> dict[str, Any]:
    return {"kind": due.kind, "incident": due.incident_id, "due_at": _iso(due.due_at)}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
