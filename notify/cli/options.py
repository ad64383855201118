"""The options commands share: the global ones (on the group and every command) and an update's."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])


class GlobalOptions:
    """Options accepted before the command and after it (`notify preview x --json`).

    A plain class, not a dataclass: importing dataclasses costs startup time on every command.
    """

    def __init__(self) -> None:
        self.config: str | None = None
        self.journal: str | None = None
        self.json = False
        self.verbose = 0
        self.quiet = False

    def journal_override(self) -> str | None:
        return self.journal or os.environ.get("NOTIFY_JOURNAL") or None


def options_of(ctx: click.Context) -> GlobalOptions:
    """The GlobalOptions shared by the group and the command running in `ctx`."""
    return ctx.ensure_object(GlobalOptions)


def _merge_global(ctx: click.Context, name: str, value: Any) -> Any:
    """Callback storing a global option given after the command into the shared GlobalOptions."""
    opts = ctx.find_object(GlobalOptions)
    if opts is None:
        opts = ctx.ensure_object(GlobalOptions)
    if name in ("json", "quiet"):
        if value:
            setattr(opts, name, True)
    elif name == "verbose":
        opts.verbose += int(value or 0)
    elif value is not None:
        setattr(opts, name, value)
    return value


# (declarations, GlobalOptions attribute, click settings) of each global option.
GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...] = (
    (
        ("--config",),
        "config",
        {
            "metavar": "FILE",
            "help": "channels.yaml (default: $NOTIFY_CONFIG, else ./channels.yaml).",
        },
    ),
    (
        ("--journal",),
        "journal",
        {
            "metavar": "PATH",
            "help": "Journal: a file, or a postgresql:// URL "
            "(default: $NOTIFY_JOURNAL, else the config's).",
        },
    ),
    (("--json",), "json", {"is_flag": True, "help": "Print one JSON document on stdout."}),
    (("-v", "--verbose"), "verbose", {"count": True, "help": "More detail; tracebacks on errors."}),
    (("-q", "--quiet"), "quiet", {"is_flag": True, "help": "Only errors (and --json output)."}),
)


def global_options(func: F) -> F:
    """Add --config/--journal/--json/-v/-q to a command as well as to the group."""
    for decls, attribute, settings in reversed(GLOBAL_OPTIONS):
        func = click.option(
            *decls,
            f"global_{attribute}",
            expose_value=False,
            callback=lambda c, p, v, attribute=attribute: _merge_global(c, attribute, v),
            **settings,
        )(func)
    return func


def update_options(func: F) -> F:
    """The inputs of one update, shared by send and preview (delivery.inputs.build_request's)."""
    options = [
        click.argument("template"),
        click.option(
            "--incident", "incident", metavar="ID", help="The incident this update belongs to."
        ),
        click.option(
            "--title", metavar="TEXT", help="The incident's title (required for a new one)."
        ),
        click.option("--message", metavar="TEXT", help="The update's own words (update.message)."),
        click.option(
            "--message-file",
            metavar="FILE",
            help="Read the message from FILE ('-' for standard input).",
        ),
        click.option(
            "--set",
            "sets",
            metavar="KEY=VALUE",
            multiple=True,
            help="A template variable (repeatable).",
        ),
        click.option(
            "--vars", "vars_file", metavar="FILE", help="Template variables from a YAML file."
        ),
        click.option(
            "--impact",
            metavar="none|minor|major|critical",
            help="The incident's impact.",
        ),
        click.option(
            "--component",
            "components",
            metavar="NAME",
            multiple=True,
            help="An affected component; NAME=STATUS sets its status (repeatable).",
        ),
        click.option(
            "--next-update", metavar="DURATION", help="When the next update is due: 30m, 2h."
        ),
        click.option(
            "--starts",
            metavar="TIME",
            help="Maintenance window start: ISO 8601, 'YYYY-MM-DD HH:MM' (org timezone), or 2h.",
        ),
        click.option("--ends", metavar="TIME", help="Maintenance window end (as --starts)."),
        click.option(
            "--to", "to", metavar="NAME", multiple=True, help="A channel or group (repeatable)."
        ),
        click.option(
            "--tag",
            "tags",
            metavar="TAG",
            multiple=True,
            help="Only recipients with this tag (repeatable: any of them).",
        ),
        click.option("--key", metavar="KEY", help="Idempotency key of this update."),
    ]
    for option in reversed(options):
        func = option(func)
    return func
