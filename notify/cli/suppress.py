"""`notify suppress add|remove|list`: the opt-out list, kept in the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notify.cli.app import App, open_journal_at
from notify.cli.report import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from pathlib import Path

    from notify.cli import GlobalOptions


def _journal_path(options: GlobalOptions) -> Path:
    from pathlib import Path

    override = options.journal_override()
    return Path(override) if override else App.load(options).config.journal_path


def run_suppress(
    options: GlobalOptions,
    action: str,
    recipients: list[str],
    *,
    channel: str | None,
    reason: str = "",
) -> int:
    out = Output(options)
    if channel and channel != "*" and not options.journal_override():
        config = App.load(options).config
        if channel not in config.channels:
            raise InputError(
                f"--channel {channel!r} is not a configured channel",
                hint=f"Use one of: {', '.join(config.channels)}, or * for every channel.",
            )
    journal = open_journal_at(_journal_path(options))
    if action == "add":
        for r in recipients:
            journal.suppress(channel or "*", r.strip(), reason)
        out.note(f"suppressed {len(recipients)} recipient(s) on {channel or '*'}.")
    elif action == "remove":
        removed = sum(1 for r in recipients if journal.unsuppress(channel or "*", r.strip()))
        out.note(f"removed {removed} of {len(recipients)} from the list on {channel or '*'}.")
    rows = journal.suppressed(channel if action == "list" else None)
    if options.json:
        out.json(
            {
                "suppressed": [
                    {"channel": c, "recipient": r, "reason": why, "since": at}
                    for c, r, why, at in rows
                ]
            }
        )
    elif action == "list":
        from rich.table import Table

        table = Table(show_edge=False)
        for col in ("channel", "recipient", "reason", "since"):
            table.add_column(col)
        for row in rows:
            table.add_row(*row)
        out.out.print(table)
    return int(ExitCode.OK)
