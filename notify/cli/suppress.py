"""`notify suppress add|remove|list`: the opt-out list, kept in the journal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from notify.cli.app import App, journal_location, open_journal_at
from notify.cli.options import GlobalOptions, global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode
from notify.phones import optout_address

if TYPE_CHECKING:
    from notify.config.model import Config


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
    region: str | None = None
    if override:  # the journal given: the config is neither needed nor read
        location = journal_location(override)
    else:
        config = App.load(options).config
        if channel and channel != "*" and channel not in config.channels:
            raise InputError(
                f"--channel {channel!r} is not a configured channel",
                hint=f"Use one of: {', '.join(config.channels)}, or * for every channel.",
            )
        region = _region(config, channel)
        location = config.journal_path
    # Normalised as recipients are (E.164, email lower-cased), or an opt-out would never match.
    addresses = [_address(r, region) for r in recipients] if action == "add" else []
    journal = open_journal_at(location)
    if action == "add":
        for address in addresses:
            journal.suppress(channel or "*", address, reason)
        out.note(f"suppressed {len(recipients)} recipient(s) on {channel or '*'}.")
    elif action == "remove":
        removed = sum(
            1
            for r in recipients
            if journal.unsuppress(channel or "*", optout_address(r, region) or r.strip())
            or journal.unsuppress(channel or "*", r.strip())  # an entry kept as written
        )
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


def _region(config: Config, channel: str | None) -> str | None:
    """The region national numbers are read in: the SMS channel's `default_region`, or for
    every channel the one all SMS channels share (none when they differ)."""
    chosen = [config.channels[channel]] if channel and channel != "*" else config.channels.values()
    regions = {
        str(c.adapter.settings.get("default_region") or "").upper()
        for c in chosen
        if c.type == "sms"
    }
    return regions.pop() or None if len(regions) == 1 else None


def _address(text: str, region: str | None) -> str:
    address = optout_address(text, region)
    if address is None:
        raise InputError(
            f"{text.strip()!r} is not a valid email address or phone number",
            hint="Write a number in international format (+14155550100) or an address like "
            "name@example.com; nothing was added.",
        )
    return address
