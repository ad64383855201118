"""`notify send` and `notify retry`: one update out on every selected channel, or what is left.

The delivery stages are imported when a command runs, not when this module is: `notify send
--help` reads only the options below.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App, is_interactive
from notify.cli.documents import plan_document, result_document, totals
from notify.cli.options import global_options, options_of, update_options
from notify.cli.output import Output, printable
from notify.cli.views import (
    plan_summary,
    plan_table,
    preview_panels,
    result_line,
    results_table,
    skipped_notes,
)
from notify.delivery.inputs import UpdateRequest, build_request
from notify.exitcodes import ExitCode
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions
    from notify.delivery.preflight import CheckedUpdate
    from notify.delivery.service import UpdateResult


@click.command()
@update_options
@click.option(
    "--dry-run", is_flag=True, help="Plan and render everything; send and record nothing."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@global_options
@click.pass_context
def send(ctx: click.Context, dry_run: bool, yes: bool, **kwargs: Any) -> None:
    """Render one update of an incident and deliver it on every selected channel."""
    request = build_request(**kwargs, dry_run=dry_run, locale=None)
    ctx.exit(run_send(options_of(ctx), request, assume_yes=yes))


def run_send(options: GlobalOptions, request: UpdateRequest, *, assume_yes: bool) -> int:
    from notify.delivery.service import send_update

    app = App.load(options)
    out = Output(options)

    def proceed(checked: CheckedUpdate) -> bool:
        """Shown what preflight checked: the dry run's output, or the prompt."""
        for line in skipped_notes(checked):
            out.note(line)
        if request.dry_run:
            if options.json:
                out.json(plan_document(checked, with_content=True))
            elif options.quiet:  # the plan in one line, for a script to log
                out.out.print(plan_summary(checked), markup=False, soft_wrap=True)
            else:
                out.out.print(plan_table(checked))
                for panel in preview_panels(checked):
                    out.out.print(panel)
                out.note("[cyan]dry run:[/] nothing sent, nothing recorded.")
            return False
        if checked.draft.existing is not None:
            out.note(
                f"update key {checked.key!r} is already recorded: finishing what it left undone."
            )
        if assume_yes or options.json or not is_interactive():
            return True
        out.err.print(plan_table(checked))
        count = len([r for r in checked.deliveries if not r.skip_reason])
        channels = len({r.channel.name for r in checked.deliveries})
        if click.confirm(f"Send to {count} recipient(s) on {channels} channel(s)?", err=True):
            return True
        out.note("nothing sent.")
        return False

    result = send_update(
        request,
        app.config,
        app.templates,
        app.existing_journal(),  # preflight reads it; nothing is written before it passes
        open_journal=app.open_journal,
        proceed=proceed,
        progress=lambda: _progress(out),
    )
    return int(ExitCode.OK) if result is None else report_result(result, out)


def report_result(result: UpdateResult, out: Output) -> int:
    if out.options.json:
        out.json(result_document(result.checked, result.update_number, result.outcomes))
    elif not out.options.quiet:
        out.out.print(results_table(result.outcomes))
        out.line(result_line(result))
    elif result.checked.draft.is_new_incident:
        # Even -q prints the id of an incident it opened: the next update needs it.
        out.out.print(result.checked.draft.incident.id, markup=False, soft_wrap=True)
    if result.journal_failure is not None:
        return journal_failed(result)
    if result.undelivered:
        out.note(
            f"[red]{len(result.undelivered)} delivery(ies) did not go out.[/] "
            "Fix the cause, then `notify retry` sends only those."
        )
        return int(ExitCode.DELIVERY_FAILED)
    return int(ExitCode.OK)


@click.command()
@click.option("--incident", metavar="ID", help="Only this incident's updates.")
@click.option("--key", metavar="KEY", help="Only the update with this key.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@global_options
@click.pass_context
def retry(ctx: click.Context, incident: str | None, key: str | None, yes: bool) -> None:
    """Deliver again what an earlier send left failed, pending or unknown."""
    ctx.exit(run_retry(options_of(ctx), incident=incident, key=key, assume_yes=yes))


def run_retry(
    options: GlobalOptions, *, incident: str | None, key: str | None, assume_yes: bool
) -> int:
    from notify.delivery.service import retry_update, unfinished_updates

    app = App.load(options)
    out = Output(options)
    journal = app.history_journal()  # the config is loaded once, here
    if incident and journal.get_incident(incident) is None:
        from notify.delivery.incident import unknown_incident

        raise unknown_incident(journal, incident)
    unfinished = unfinished_updates(journal, incident=incident, key=key)
    if not unfinished:
        if options.json:
            out.json({"updates": [], "totals": totals([])})
        else:
            out.note("nothing to retry: every delivery is sent or skipped.")
        return int(ExitCode.OK)
    if not assume_yes and not options.json and is_interactive():
        count = sum(left for _, left in unfinished)
        if not click.confirm(
            f"Retry {count} delivery(ies) from {len(unfinished)} update(s)?", err=True
        ):
            out.note("nothing sent.")
            return int(ExitCode.OK)
    results = []
    for update, _ in unfinished:
        results.append(
            retry_update(
                update, app.config, app.templates, journal, progress=lambda: _progress(out)
            )
        )
        if results[-1].journal_failure is not None:
            break  # the journal failed: what is left waits until it is fixed
    if len(results) == 1:
        return report_result(results[0], out)
    return _report_many(results, out)


def journal_failed(result: UpdateResult) -> int:
    """One line on stderr for a run the journal stopped (exit 4), after the result so far."""
    from notify.secrets import redact

    sent = sum(1 for o in result.outcomes if o.status == DeliveryStatus.SENT)
    click.echo(
        f"notify: error: {printable(redact(str(result.journal_failure)))}. The run stopped: "
        f"{sent} delivery(ies) went out, which the journal may not show; once it is fixed, "
        "`notify retry` finishes the rest (and may repeat those).",
        err=True,
    )
    return int(ExitCode.JOURNAL_FAILED)


def _report_many(results: list[UpdateResult], out: Output) -> int:
    failed = any(r.undelivered for r in results)
    if out.options.json:
        docs = [result_document(r.checked, r.update_number, r.outcomes) for r in results]
        out.json({"updates": docs, "totals": totals(o.status for r in results for o in r.outcomes)})
    else:
        for r in results:
            out.out.print(results_table(r.outcomes))
            out.line(result_line(r))
    stopped = next((r for r in results if r.journal_failure is not None), None)
    if stopped is not None:
        return journal_failed(stopped)
    return int(ExitCode.DELIVERY_FAILED if failed else ExitCode.OK)


class _Progress:
    def __init__(self, bar: Any) -> None:
        self._bar = bar
        self._task: Any = None
        self._total = 0

    def planned(self, count: int) -> None:
        self._total = count
        if self._bar is not None:
            self._task = self._bar.add_task("delivering", total=max(count, 1))

    def done(self, outcome: Any) -> None:
        if self._bar is None or self._task is None:
            return
        task = self._bar.tasks[0]
        if task.completed + 1 > (task.total or 0):
            self._bar.update(self._task, total=task.completed + 1)
        self._bar.advance(self._task)


@contextmanager
def _progress(out: Output) -> Iterator[_Progress]:
    """A progress bar on stderr for people at a terminal; nothing for scripts."""
    if out.options.quiet or not out.err_is_terminal():
        yield _Progress(None)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out.err,
        transient=True,
    )
    with bar:
        yield _Progress(bar)
