"""`notify send` and `notify retry`."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App, is_interactive
from notify.cli.options import global_options, options_of, update_options
from notify.cli.report import (
    Output,
    plan_document,
    plan_table,
    preview_panels,
    result_document,
    results_table,
    skipped_notes,
    summary_line,
    totals,
)
from notify.delivery.inputs import UpdateRequest
from notify.delivery.prepare import prepare
from notify.errors import Interrupted
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions
    from notify.delivery.execute import Result
    from notify.delivery.prepare import Prepared
    from notify.journal.base import Journal


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
    from notify.delivery.inputs import build_request

    request = build_request(**kwargs, dry_run=dry_run, locale=None)
    ctx.exit(run_send(options_of(ctx), request, assume_yes=yes))


def run_send(options: GlobalOptions, request: UpdateRequest, *, assume_yes: bool) -> int:
    app = App.load(options)
    out = Output(options)
    journal = app.existing_journal()  # preflight reads it; nothing is written before it passes
    prepared = prepare(request, app.config, app.templates, journal)
    for line in skipped_notes(prepared):
        out.note(line)

    if request.dry_run:
        if options.json:
            out.json(plan_document(prepared, with_content=True))
        else:
            out.out.print(plan_table(prepared))
            for panel in preview_panels(prepared):
                out.out.print(panel)
            out.note("[cyan]dry run:[/] nothing sent, nothing recorded.")
        return int(ExitCode.OK)

    if prepared.existing is not None:
        out.note(f"update key {prepared.key!r} is already recorded: finishing what it left undone.")
    if not assume_yes and not options.json and is_interactive():
        out.err.print(plan_table(prepared))
        count = len([r for r in prepared.deliveries if not r.skip_reason])
        channels = len({r.channel.name for r in prepared.deliveries})
        if not click.confirm(f"Send to {count} recipient(s) on {channels} channel(s)?", err=True):
            out.note("nothing sent.")
            return int(ExitCode.OK)
    if journal is None:
        journal = app.open_journal()
    result = deliver(prepared, app, journal, out)
    return report_result(result, out)


def deliver(prepared: Prepared, app: App, journal: Journal, out: Output) -> Result:
    from notify.delivery.execute import execute
    from notify.journal import run_owner

    try:
        with _progress(out) as progress, _sigterm_as_interrupt():
            return execute(
                prepared,
                app.config,
                journal,
                owner=run_owner(),
                on_planned=progress.planned,
                on_done=progress.done,
            )
    except KeyboardInterrupt:
        raise Interrupted(
            f"interrupted during update {prepared.key!r}",
            hint="The journal says what went out (`notify log`); `notify retry` finishes the rest "
            "without sending anything twice.",
        ) from None


def report_result(result: Result, out: Output) -> int:
    if out.options.json:
        out.json(result_document(result.prepared, result.update_number, result.outcomes))
    elif not out.options.quiet:
        out.out.print(results_table(result.outcomes))
        out.out.print(
            f"{result.prepared.incident.id} update {result.update_number}: "
            f"{summary_line(result.outcomes)}"
        )
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
    from notify.cli.app import journal_for_history
    from notify.journal.base import RETRYABLE_STATUSES

    app = App.load(options)
    out = Output(options)
    journal = journal_for_history(options)
    rows = journal.deliveries(incident_id=incident, statuses=RETRYABLE_STATUSES)
    update_ids = {r.update_id for r in rows}
    updates = sorted(
        (
            u
            for incident_id in {r.incident_id for r in rows}  # one query per incident
            for u in journal.updates(incident_id)
            if u.id in update_ids and (key is None or u.key == key)
        ),
        key=lambda u: u.id,  # oldest first, as they were sent
    )
    if not updates:
        if options.json:
            out.json({"updates": [], "totals": totals([])})
        else:
            out.note("nothing to retry: every delivery is sent or skipped.")
        return int(ExitCode.OK)
    if not assume_yes and not options.json and is_interactive():
        pending = [r for r in rows if r.update_id in {u.id for u in updates}]
        if not click.confirm(
            f"Retry {len(pending)} delivery(ies) from {len(updates)} update(s)?", err=True
        ):
            out.note("nothing sent.")
            return int(ExitCode.OK)
    results = []
    for update in updates:
        request = UpdateRequest(
            template=update.template, incident=update.incident_id, key=update.key
        )
        prepared = prepare(request, app.config, app.templates, journal)
        results.append(deliver(prepared, app, journal, out))
    if len(results) == 1:
        return report_result(results[0], out)
    return _report_many(results, out)


def _report_many(results: list[Result], out: Output) -> int:
    failed = any(r.undelivered for r in results)
    if out.options.json:
        docs = [result_document(r.prepared, r.update_number, r.outcomes) for r in results]
        out.json({"updates": docs, "totals": totals(o.status for r in results for o in r.outcomes)})
    else:
        for r in results:
            out.out.print(results_table(r.outcomes))
            out.out.print(
                f"{r.prepared.incident.id} update {r.update_number}: {summary_line(r.outcomes)}"
            )
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
    if out.options.quiet or not out.err.is_terminal:
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


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled) stops like Ctrl-C: in-flight stays unknown, the rest pending."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
