"""The command line: parse options, call one function per command, and turn every known error
into one line on stderr and an exit code. This is the only module that knows about exit codes
of errors; everything below it raises notify.errors.NotifyError subclasses.

Heavy libraries (httpx, rich, jinja2) are imported inside the commands that use them, so that
`notify --help` and `notify --version` start fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import click

from notify import __version__
from notify.exitcodes import ExitCode

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
_GLOBAL_OPTIONS: tuple[tuple[tuple[str, ...], str, dict[str, Any]], ...] = (
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
            "help": "Journal database (default: $NOTIFY_JOURNAL, else the config's).",
        },
    ),
    (("--json",), "json", {"is_flag": True, "help": "Print one JSON document on stdout."}),
    (("-v", "--verbose"), "verbose", {"count": True, "help": "More detail; tracebacks on errors."}),
    (("-q", "--quiet"), "quiet", {"is_flag": True, "help": "Only errors (and --json output)."}),
)


def global_options(func: F) -> F:
    """Add --config/--journal/--json/-v/-q to a command as well as to the group."""
    for decls, attribute, settings in reversed(_GLOBAL_OPTIONS):
        func = click.option(
            *decls,
            f"global_{attribute}",
            expose_value=False,
            callback=lambda c, p, v, attribute=attribute: _merge_global(c, attribute, v),
            **settings,
        )(func)
    return func


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="notify", message="%(prog)s %(version)s")
@global_options
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Render one incident update from templates and deliver it on every channel, once.

    \b
    Start here:
      notify init            write a starter channels.yaml and templates/
      notify check           validate config, templates and recipients offline
      notify preview investigating --title "Checkout errors" --message "..."
      notify send investigating --title "Checkout errors" --message "..."
      notify demo            a full incident through every adapter into a local sandbox
    """
    ctx.ensure_object(GlobalOptions)


def _opts(ctx: click.Context) -> GlobalOptions:
    return ctx.ensure_object(GlobalOptions)


# --- update inputs shared by send and preview ------------------------------------------------


def update_options(func: F) -> F:
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
            "--set", "sets", metavar="KEY=VALUE", multiple=True, help="A template variable."
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
            "--component", "components", metavar="NAME", multiple=True, help="Affected component."
        ),
        click.option(
            "--next-update", metavar="DURATION", help="When the next update is due: 30m, 2h."
        ),
        click.option(
            "--to", "to", metavar="NAME", multiple=True, help="A channel or group (repeatable)."
        ),
        click.option(
            "--tag", "tags", metavar="TAG", multiple=True, help="Only recipients with this tag."
        ),
        click.option("--key", metavar="KEY", help="Idempotency key of this update."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _update_request(
    kwargs: dict[str, Any], *, dry_run: bool = False, locale: str | None = None
) -> Any:
    from notify.delivery.inputs import build_request

    return build_request(**kwargs, dry_run=dry_run, locale=locale)


@cli.command()
@update_options
@click.option(
    "--dry-run", is_flag=True, help="Plan and render everything; send and record nothing."
)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@global_options
@click.pass_context
def send(ctx: click.Context, dry_run: bool, yes: bool, **kwargs: Any) -> None:
    """Render one update of an incident and deliver it on every selected channel."""
    from notify.cli.send import run_send

    request = _update_request(kwargs, dry_run=dry_run)
    ctx.exit(run_send(_opts(ctx), request, assume_yes=yes))


@cli.command()
@update_options
@click.option(
    "--locale", metavar="LOCALE", help="Show the rendering for recipients of this locale."
)
@global_options
@click.pass_context
def preview(ctx: click.Context, locale: str | None, **kwargs: Any) -> None:
    """Render every channel and show it; send and record nothing."""
    from notify.cli.preview import run_preview

    ctx.exit(run_preview(_opts(ctx), _update_request(kwargs, dry_run=True, locale=locale)))


@cli.command()
@click.option(
    "--online", is_flag=True, help="Also prove each channel's credentials (sends nothing)."
)
@global_options
@click.pass_context
def check(ctx: click.Context, online: bool) -> None:
    """Validate config, templates, secrets and recipients."""
    from notify.cli.check import run_check

    ctx.exit(run_check(_opts(ctx), online=online))


@cli.command()
@click.option("--incident", metavar="ID", help="Only this incident's updates.")
@click.option("--key", metavar="KEY", help="Only the update with this key.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@global_options
@click.pass_context
def retry(ctx: click.Context, incident: str | None, key: str | None, yes: bool) -> None:
    """Deliver again what an earlier send left failed, pending or unknown."""
    from notify.cli.send import run_retry

    ctx.exit(run_retry(_opts(ctx), incident=incident, key=key, assume_yes=yes))


@cli.command()
@click.option("--all", "show_all", is_flag=True, help="Resolved incidents too.")
@global_options
@click.pass_context
def incidents(ctx: click.Context, show_all: bool) -> None:
    """List incidents (open ones unless --all)."""
    from notify.cli.history import run_incidents

    ctx.exit(run_incidents(_opts(ctx), show_all=show_all))


@cli.command()
@click.argument("incident")
@global_options
@click.pass_context
def show(ctx: click.Context, incident: str) -> None:
    """One incident's timeline: updates, and each delivery with its status."""
    from notify.cli.history import run_show

    ctx.exit(run_show(_opts(ctx), incident))


@cli.command()
@click.option("--incident", metavar="ID", help="Only this incident.")
@click.option("--failed", is_flag=True, help="Only deliveries that failed (or are unknown).")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@global_options
@click.pass_context
def log(ctx: click.Context, incident: str | None, failed: bool, limit: int) -> None:
    """Deliveries, newest first."""
    from notify.cli.history import run_log

    ctx.exit(run_log(_opts(ctx), incident=incident, failed=failed, limit=limit))


@cli.command()
@click.option(
    "--types", "list_types", is_flag=True, help="Every installed channel type, plugins too."
)
@global_options
@click.pass_context
def channels(ctx: click.Context, list_types: bool) -> None:
    """Configured channels (or, with --types, every installed channel type)."""
    from notify.cli.listing import run_channels

    ctx.exit(run_channels(_opts(ctx), list_types=list_types))


@cli.command()
@global_options
@click.pass_context
def templates(ctx: click.Context) -> None:
    """Templates found, with the status each sets."""
    from notify.cli.listing import run_templates

    ctx.exit(run_templates(_opts(ctx)))


@cli.command()
@click.argument("directory", default=".", metavar="[DIR]")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@global_options
@click.pass_context
def init(ctx: click.Context, directory: str, force: bool) -> None:
    """Write a starter channels.yaml and templates/ into DIR."""
    from notify.cli.init import run_init

    ctx.exit(run_init(_opts(ctx), directory, force=force))


@cli.group()
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
    from notify.cli.suppress import run_suppress

    ctx.exit(run_suppress(_opts(ctx), "add", list(recipients), channel=channel, reason=reason))


@suppress.command("remove")
@click.argument("recipients", nargs=-1, required=True)
@click.option("--channel", default="*", show_default=True, help="A channel name, or * for all.")
@global_options
@click.pass_context
def suppress_remove(ctx: click.Context, recipients: tuple[str, ...], channel: str) -> None:
    """Send to these recipients again."""
    from notify.cli.suppress import run_suppress

    ctx.exit(run_suppress(_opts(ctx), "remove", list(recipients), channel=channel))


@suppress.command("list")
@click.option("--channel", default=None, help="Only this channel's entries.")
@global_options
@click.pass_context
def suppress_list(ctx: click.Context, channel: str | None) -> None:
    """The suppression list."""
    from notify.cli.suppress import run_suppress

    ctx.exit(run_suppress(_opts(ctx), "list", [], channel=channel))


@cli.command()
@click.option(
    "--keep", "keep_dir", metavar="DIR", help="Keep the demo's config and journal in DIR."
)
@global_options
@click.pass_context
def demo(ctx: click.Context, keep_dir: str | None) -> None:
    """Send a sample incident through every adapter into an in-process sandbox."""
    from notify.cli.demo import run_demo

    ctx.exit(run_demo(_opts(ctx), keep_dir=keep_dir))


def _add_sandbox_command() -> None:
    """`notify sandbox` lives with the sandbox; its module is imported only when it runs."""

    @cli.command(
        "sandbox",
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )
    @click.pass_context
    def sandbox(ctx: click.Context) -> None:
        """Local stand-ins of every provider API and an SMTP server."""
        from notify.sandbox.cli import sandbox_command

        sandbox_command.main(args=ctx.args, prog_name="notify sandbox", standalone_mode=False)


_add_sandbox_command()


# --- the error boundary -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every known error becomes one line and an exit code."""
    warnings.showwarning = _show_warning
    code = run(argv)
    sys.exit(code)


def run(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = any(a == "--verbose" or (a.startswith("-v") and set(a[1:]) == {"v"}) for a in args)
    try:
        result = cli.main(args=args, prog_name="notify", standalone_mode=False)
        return int(result or 0)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("notify: aborted, nothing sent.", err=True)
        return int(ExitCode.INTERRUPTED)
    except click.UsageError as exc:
        # One line like every other error (click's own show() prints usage over four lines).
        command = exc.ctx.command_path if exc.ctx is not None else "notify"
        message = _one_line(exc.format_message())
        click.echo(f"notify: error: {message} See `{command} --help`.", err=True)
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return int(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(
            "notify: interrupted. The journal says what went out; "
            "`notify retry` finishes the rest.",
            err=True,
        )
        return int(ExitCode.INTERRUPTED)
    except Exception as exc:
        # Imported here, not at the top: `notify --help` should not pay for them.
        from notify.errors import NotifyError
        from notify.secrets import redact

        if verbose:
            _print_traceback()
        if isinstance(exc, NotifyError):
            click.echo(f"notify: error: {_one_line(redact(str(exc)))}", err=True)
            return int(exc.exit_code)
        message = _one_line(redact(f"{type(exc).__name__}: {exc}"))
        click.echo(
            f"notify: internal error: {message} (this is a bug; run with -v for the traceback)",
            err=True,
        )
        return int(ExitCode.INTERNAL_ERROR)


def _one_line(text: str) -> str:
    """Errors are one line on stderr: a message from a library may carry newlines."""
    return " ".join(text.split())


_default_showwarning = warnings.showwarning


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Any = None,
    line: str | None = None,
) -> None:
    """A warning meant for users (a channel plugin that failed to load) as one line, like errors;
    others (a library's deprecation) as Python shows them."""
    from notify.channels.registry import PluginWarning

    if issubclass(category, PluginWarning):
        click.echo(f"notify: warning: {message}", err=True)
    else:
        _default_showwarning(message, category, filename, lineno, file, line)


def _print_traceback() -> None:
    import traceback

    from notify.secrets import redact

    click.echo(redact(traceback.format_exc()), err=True)
