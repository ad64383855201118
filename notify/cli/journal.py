"""`notify journal copy SRC DST`: move a journal between SQLite and PostgreSQL, threads intact."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from notify.cli.app import journal_location, open_journal_at
from notify.cli.options import global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError, JournalError
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from pathlib import Path

    from notify.cli.options import GlobalOptions

# How each count is named in the summary line (singular, plural).
_NOUNS = {
    "incidents": ("incident", "incidents"),
    "updates": ("update", "updates"),
    "deliveries": ("delivery", "deliveries"),
    "sessions": ("provider session", "provider sessions"),
    "suppressions": ("opt-out", "opt-outs"),
    "actions": ("scheduled action", "scheduled actions"),
    "callbacks": ("call-back request", "call-back requests"),
}


@click.group()
def journal() -> None:
    """The journal as a whole: copy it to another backend."""


@journal.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DST")
@click.option(
    "--force", is_flag=True, help="Replace what DST holds (by default DST must be empty)."
)
@global_options
@click.pass_context
def journal_copy(ctx: click.Context, source: str, destination: str, force: bool) -> None:
    """Copy the journal SRC into the journal DST, each a file or a postgresql:// URL.

    Every incident, update, delivery (with its thread references), provider session, opt-out,
    scheduled action and call-back request: later updates thread under the copied ones. DST is
    created if it is a new file; it must be empty unless --force is given.
    """
    ctx.exit(run_copy(options_of(ctx), source, destination, force=force))


def run_copy(options: GlobalOptions, source: str, destination: str, *, force: bool) -> int:
    from notify.journal import journal_file, shown_location

    out = Output(options)
    src_location, dst_location = journal_location(source), journal_location(destination)
    src_shown, dst_shown = shown_location(src_location), shown_location(dst_location)
    src_file, dst_file = journal_file(src_location), journal_file(dst_location)
    if src_file is not None and not src_file.exists():
        raise JournalError(
            "no journal to copy from here", where=src_shown, hint="Check the SRC path"
        )
    if src_file is not None and dst_file is not None and _same_file(src_file, dst_file):
        raise InputError(f"SRC and DST are the same journal ({src_shown})")
    if src_file is None and source == destination:
        raise InputError(f"SRC and DST are the same journal ({src_shown})")

    src = open_journal_at(src_location)
    try:
        dst = open_journal_at(dst_location)
        try:
            if not force and not dst.is_empty():
                raise JournalError(
                    "the destination journal is not empty",
                    where=dst_shown,
                    hint="Copy into a new file or an empty database, or give --force to replace "
                    "what it holds",
                )
            contents = src.export_contents()
            dst.import_contents(contents, replace=force)
        finally:
            dst.close()
    finally:
        src.close()

    counts = contents.counts()
    if options.json:
        out.json(
            {"source": src_shown, "destination": dst_shown, "copied": counts, "replaced": force}
        )
    elif not options.quiet:
        from rich.markup import escape

        what = ", ".join(
            f"{n} {_NOUNS[name][0] if n == 1 else _NOUNS[name][1]}" for name, n in counts.items()
        )
        out.out.print(escape(f"copied {what} from {src_shown} to {dst_shown}."), soft_wrap=True)
    return int(ExitCode.OK)


def _same_file(first: Path, second: Path) -> bool:
    try:
        return second.exists() and first.samefile(second)
    except OSError:
        return False
