"""The command line's root: the click group, its lazy command table and the one error boundary.

Each command lives in its own module (its options and its body together) and is imported only
when it runs: `notify --help` lists them from the table below, so it imports no command module
and none of the heavy libraries (httpx, rich, jinja2) they use. This is the only module that
turns errors into exit codes; everything below it raises notify.errors.NotifyError subclasses.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from typing import Any, NoReturn

import click

from notify import __version__
from notify.cli.options import GlobalOptions, global_options
from notify.exitcodes import ExitCode

# name -> (module defining a click command of that name, its help's first sentence). The
# sentence is what `notify --help` lists without importing the module; a test checks that it is
# still the command's own.
COMMANDS: dict[str, tuple[str, str]] = {
    "send": (
        "notify.cli.send",
        "Render one update of an incident and deliver it on every selected channel.",
    ),
    "preview": ("notify.cli.preview", "Render every channel and show it; send and record nothing."),
    "check": ("notify.cli.check", "Validate config, templates, secrets and recipients."),
    "retry": (
        "notify.cli.send",
        "Deliver again what an earlier send left failed, pending or unknown.",
    ),
    "incidents": ("notify.cli.history", "List incidents (open ones unless --all)."),
    "show": (
        "notify.cli.history",
        "One incident's timeline: updates, and each delivery with its status.",
    ),
    "log": ("notify.cli.history", "Deliveries, newest first."),
    "channels": (
        "notify.cli.listing",
        "Configured channels (or, with --types, every installed channel type).",
    ),
    "templates": ("notify.cli.listing", "Templates found, with the status each sets."),
    "init": ("notify.cli.init", "Write a starter channels.yaml and templates/ into DIR."),
    "suppress": ("notify.cli.suppress", "The opt-out list: recipients never sent to."),
    "site": (
        "notify.cli.site",
        "The status site: re-render every site channel's folder from the journal.",
    ),
    "journal": ("notify.cli.journal", "The journal as a whole: copy it to another backend."),
    "callbacks": (
        "notify.cli.callbacks",
        "The callers who asked the support line for a call-back.",
    ),
    "demo": (
        "notify.cli.demo",
        "Send a sample incident through every adapter into an in-process sandbox.",
    ),
    "tick": (
        "notify.cli.tick",
        "Do what is due now (reminders, maintenance, feedback, call-backs), once; for cron.",
    ),
}


class LazyGroup(click.Group):
    """A group whose commands are imported by name from COMMANDS when one runs (click's
    documented lazy-loading pattern), and listed in help from the table without importing."""

    def __init__(self, *args: Any, lazy_commands: dict[str, tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module_name, _ = self.lazy_commands[cmd_name]
        command = getattr(importlib.import_module(module_name), cmd_name)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module_name}.{cmd_name} is not a click command")
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError as exc:
            # click (8.4 and later) suggests close names from the commands it holds, which are
            # not the lazy ones: suggest from every command, as before they became lazy.
            no_such_command: Any = getattr(click.exceptions, "NoSuchCommand", None)
            if no_such_command and isinstance(exc, no_such_command) and not exc.possibilities:
                raise no_such_command(
                    exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
                ) from None
            raise

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """As click lists commands, with a lazy command's help taken from the table."""
        rows: list[tuple[str, click.Command]] = []
        for name in self.list_commands(ctx):
            if name in self.commands:
                command = self.commands[name]
            else:
                # A stand-in carrying the help sentence: click shortens it as it would the
                # command's own.
                command = click.Command(name, help=self.lazy_commands[name][1])
            if not command.hidden:
                rows.append((name, command))
        if rows:
            limit = formatter.width - 6 - max(len(name) for name, _ in rows)
            with formatter.section("Commands"):
                formatter.write_dl([(name, c.get_short_help_str(limit)) for name, c in rows])


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
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


@cli.command(
    "sandbox",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def sandbox(ctx: click.Context) -> None:
    """Local stand-ins of every provider API and an SMTP server."""
    # `notify sandbox` lives with the sandbox, which parses its own options.
    from notify.sandbox.cli import sandbox_command

    sandbox_command.main(args=ctx.args, prog_name="notify sandbox", standalone_mode=False)


# --- the error boundary -----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI; every known error becomes one line and an exit code."""
    warnings.showwarning = _show_warning
    code = run(argv)
    _end_process(code)


def _end_process(code: int) -> NoReturn:
    """Exit with `code`, without CPython's teardown of every loaded module: after a send that
    loaded httpx, aiohttp, jinja2 and rich, freeing them took ~75 ms between the last request's
    answer and the shell's prompt. Whatever that teardown does that matters is done first:
    the command has closed its journal (open_journal_at), other threads are waited for, exit
    handlers run (logging's flush among them) and both streams are flushed. Under `python -X dev`
    the process ends as usual, so leak warnings still show."""
    if sys.flags.dev_mode:
        sys.exit(code)
    import atexit
    import contextlib
    import os
    import threading

    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A closed pipe or stream: nothing more can be said.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI on `argv` and return its exit code; print one line on stderr for an error."""
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
    """Errors are one line on stderr: a message from a library may carry newlines, one quoting a
    file or a provider control characters, shown and not obeyed."""
    from notify.cli.output import printable

    return printable(" ".join(text.split()))


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
