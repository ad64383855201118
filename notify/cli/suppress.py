"""`notify suppress add|remove|list`: the opt-out list, kept in the journal."""

from __future__ import annotations

import click

from notify.cli.app import App, journal_location, open_journal_at
from notify.cli.options import GlobalOptions, global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode


@click.group()
def suppress() -> None:
    """The opt-out list: recipients never sent to."""


@suppress.command("add")
@click.argument("recipients", nargs=-1, required=True)
@click.option("--channel", default="*", show_default=True, help="A channel name, or * for all.")
@click.option("--reason", default="", help="Why (shown by `suppress list`).")
@global_options
@click.pass_context
def suppress_add(
    ctx: click.Context, recipients: tuple[str, ...], channel: str, reason: str
) -> None:
    """Never send to these recipients."""
    ctx.exit(run_suppress(options_of(ctx), "add", list(recipients), channel=channel, reason=reason))


@suppress.command("remove")
@click.argument("recipients", nargs=-1, required=True)
@click.option("--channel", default="*", show_default=True, help="A channel name, or * for all.")
@global_options
@click.pass_context
def suppress_remove(ctx: click.Context, recipients: tuple[str, ...], channel: str) -> None:
    """Send to these recipients again."""
    ctx.exit(run_suppress(options_of(ctx), "remove", list(recipients), channel=channel))


@suppress.command("list")
@click.option("--channel", default=None, help="Only this channel's entries.")
@global_options
@click.pass_context
def suppress_list(ctx: click.Context, channel: str | None) -> None:
    """The suppression list."""
    ctx.exit(run_suppress(options_of(ctx), "list", [], channel=channel))


def run_suppress(
    options: GlobalOptions,
    action: str,
    recipients: list[str],
    *,
    channel: str | None,
    reason: str = "",
) -> int:
    out = Output(options)
    override = options.journal_override()
    if override:  # the journal given: the config is neither needed nor read
        journal = open_journal_at(journal_location(override))
    else:
        config = App.load(options).config
        if channel and channel != "*" and channel not in config.channels:
            raise InputError(
                f"--channel {channel!r} is not a configured channel",
                hint=f"Use one of: {', '.join(config.channels)}, or * for every channel.",
            )
        journal = open_journal_at(config.journal_path)
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
