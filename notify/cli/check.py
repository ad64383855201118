"""`notify check`: everything validated offline, and with --online, each channel's credentials."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import click

from notify.audience import skipped_rows, skipped_summary
from notify.cli.app import App
from notify.cli.options import global_options, options_of
from notify.cli.output import Output, printable
from notify.delivery.inputs import UpdateRequest
from notify.errors import (
    ConfigError,
    JournalError,
    JournalFailed,
    PreflightError,
    TemplateError,
)
from notify.exitcodes import ExitCode
from notify.secrets import redact

if TYPE_CHECKING:
    from pathlib import Path

    from notify.cli.options import GlobalOptions
    from notify.config.model import ChannelConfig, Config
    from notify.journal.base import Journal

SAMPLE_TITLE = "Example incident"
SAMPLE_MESSAGE = "We are looking into reports of errors when customers check out."


@click.command()
@click.option(
    "--online", is_flag=True, help="Also prove each channel's credentials (sends nothing)."
)
@global_options
@click.pass_context
def check(ctx: click.Context, online: bool) -> None:
    """Validate config, templates, secrets and recipients."""
    ctx.exit(run_check(options_of(ctx), online=online))


def run_check(options: GlobalOptions, *, online: bool) -> int:
    from notify.delivery.service import send_update

    out = Output(options)
    try:
        app = App.load(options)  # config problems: exit 2, each with file, line and fix
    except ConfigError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        if len(problems) == 1:
            raise
        for problem in problems:  # a check lists every problem, not only the first
            click.echo(f"notify: error: {printable(redact(problem))}", err=True)
        raise ConfigError(
            f"{len(problems)} problems in the config (above); fix them and check again"
        ) from None
    config = app.config
    findings: list[dict[str, Any]] = []

    def ok(what: str, detail: str) -> None:
        findings.append({"check": what, "ok": True, "detail": detail})

    enabled = [c for c in config.channels.values() if c.enabled]
    ok(
        "config",
        f"{config.path}: {len(config.channels)} channel(s), {len(enabled)} enabled, "
        f"{len(config.groups)} group(s)",
    )
    recipients = sum(len(c.adapter.recipients()) for c in config.channels.values())
    skipped = [s for c in config.channels.values() for s in skipped_rows(c.adapter.settings)]
    valid = (
        f"{recipients} valid recipient(s)" if skipped else f"{recipients} recipient(s), all valid"
    )
    ok("recipients", "; ".join([valid, *skipped_summary(skipped)]))
    names = app.templates.names()
    ok("templates", f"{len(names)} template(s): {', '.join(names)}")

    # Every template renders for every channel with nothing but a title and a message.
    for name in names:
        request = UpdateRequest(
            template=name, title=SAMPLE_TITLE, message=SAMPLE_MESSAGE, dry_run=True, sample=True
        )
        try:
            send_update(request, config, app.templates, None)  # a dry run: preflight only
        except (TemplateError, PreflightError) as exc:
            raise type(exc)(f"template {name!r} with a sample update: {exc}") from None
    ok(
        "rendering",
        "every template renders for every channel within its limits "
        f"({len(names)} x {len(config.channels)})",
    )
    try:
        journal = app.existing_journal()  # a file is never created here; a server's is opened
    except JournalFailed as exc:  # damaged: a failed check, not the end of one
        journal = None
        findings.append({"check": "journal", "ok": False, "detail": redact(str(exc))})
    else:
        findings.append(_journal_finding(journal, config.journal_path))
        findings += _support_line_findings(config, journal)

    if online:
        for name, result, verdict in asyncio.run(_online(list(config.channels.values()), journal)):
            # verdict None: nothing wrong found, but nothing proven either (not a ✓).
            findings.append(
                {
                    "check": f"online: {name}",
                    "ok": verdict is not False,
                    "verified": verdict is True,
                    "detail": result,
                }
            )
    failed = [f["check"] for f in findings if not f["ok"]]
    unverified = [f["check"] for f in findings if f.get("verified") is False and f["ok"]]

    from rich.markup import escape

    if options.json:
        out.json({"ok": not failed, "checks": findings})
    else:
        for f in findings:
            mark = "[green]✓[/]" if f["ok"] else "[red]✗[/]"
            detail = str(f["detail"])
            if f.get("verified") is False and f["ok"]:
                mark, detail = "[yellow]?[/]", f"not verified: {detail}"
            out.line(f"{mark} {escape(f['check'])}: {escape(detail)}")
        if not failed and not online:
            out.note(
                "everything checks out offline; `notify check --online` also proves credentials."
            )
        elif not failed and unverified:
            out.note(
                f"everything checks out, but {len(unverified)} channel(s) cannot be verified "
                "without sending (marked ?)."
            )
        elif not failed:
            out.note("everything checks out.")
    if failed:
        # The checklist is on stdout (perhaps a pipe or a JSON document): a person or a cron
        # mail still sees one line saying what failed.
        click.echo(f"notify: error: check failed: {', '.join(failed)}", err=True)
        return int(ExitCode.INVALID_INPUT)
    return int(ExitCode.OK)


def _support_line_findings(config: Config, journal: Journal | None) -> list[dict[str, Any]]:
    """Each support line: which incidents' script its number plays. One still playing a
    resolved incident's script (a run that died before putting the number back) fails."""
    from notify.channels.voice import CLOSING_STATUSES
    from notify.delivery.callbacks import line_incidents

    findings = []
    for channel in config.enabled_of_type("voice"):
        number = channel.adapter.target()
        on_line = line_incidents(journal, channel.name) if journal is not None else {}
        incidents = [journal.get_incident(i) for i in on_line] if journal is not None else []
        closed = [i.id for i in incidents if i is not None and i.status in CLOSING_STATUSES]
        if closed:
            detail = (
                f"{number} still plays the script of resolved incident {closed[0]}: "
                "`notify retry` puts its own voice URL back"
            )
        elif on_line:
            detail = f"{number} plays the script of open incident(s) {', '.join(on_line)}"
        else:
            detail = f"{number}: no incident on the line"
        findings.append(
            {"check": f"support line: {channel.name}", "ok": not closed, "detail": detail}
        )
    return findings


def _journal_finding(journal: Journal | None, location: Path | str) -> dict[str, Any]:
    """The journal's backend, location (password masked) and schema step."""
    from notify.journal import shown_location

    if journal is None:
        info: dict[str, Any] = {
            "backend": "SQLite",
            "location": shown_location(location),
            "schema": None,
        }
        detail = f"SQLite {info['location']} (not created yet: the first send creates it)"
    else:
        try:
            described = journal.describe()
            problems = journal.verify()  # every page, index and constraint (SQLite)
        except JournalError as exc:
            return {"check": "journal", "ok": False, "detail": redact(str(exc))}
        if problems:
            detail = (
                f"{shown_location(location)} is damaged: {problems[0]}"
                + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
                + "; restore it from a backup, or move it aside to start a new one"
            )
            return {"check": "journal", "ok": False, "detail": redact(detail)}
        info = {
            "backend": described.backend,
            "location": described.location,
            "schema": described.schema,
        }
        detail = f"{described.backend} {described.location}, schema step {described.schema}"
    return {"check": "journal", "ok": True, "detail": detail, **info}


async def _online(
    channels: list[ChannelConfig], journal: Journal | None
) -> list[tuple[str, str, bool | None]]:
    """(channel, what was found, verdict) for each enabled channel: True proven, False wrong,
    None not verifiable without sending."""
    import httpx

    from notify.channels.base import ChannelCheckError, ChannelNotVerified, DeliveryContext
    from notify.journal import JournalSessionStore

    class _MemoryStore:
        def __init__(self) -> None:
            self.data: dict[str, dict[str, Any]] = {}

        def get(self, key: str) -> dict[str, Any] | None:
            return self.data.get(key)

        def set(self, key: str, value: dict[str, Any]) -> None:
            self.data[key] = value

    async with httpx.AsyncClient() as http:

        async def one(channel: ChannelConfig) -> tuple[str, str, bool | None]:
            ctx = DeliveryContext(
                http=http,
                # A journal that exists already keeps provider sessions (Bluesky logins are
                # rate-limited per day); a check never creates one.
                store=JournalSessionStore(journal, channel.name) if journal else _MemoryStore(),
                incident={},
                update={},
                org={},
                delivery_key="check",
            )
            try:
                detail = await channel.adapter.check_online(ctx)
                return channel.name, redact(detail), True
            except ChannelNotVerified as exc:
                return channel.name, redact(str(exc)), None
            except ChannelCheckError as exc:
                return channel.name, redact(str(exc)), False
            except (httpx.HTTPError, OSError) as exc:
                return (
                    channel.name,
                    redact(f"cannot reach the provider: {type(exc).__name__}: {exc}"),
                    False,
                )
            finally:
                await channel.adapter.close()

        return list(await asyncio.gather(*(one(c) for c in channels if c.enabled)))
