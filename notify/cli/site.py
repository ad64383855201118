"""`notify site build`: re-render every `site` channel's folder from the journal, sending nothing.

For after a change of the page templates (templates/site/) or of `components:`, to publish a
fresh copy on another host, or to put a status page up before the first incident.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App
from notify.cli.options import global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions
    from notify.config.model import ChannelConfig


@click.group("site")
def site() -> None:
    """The status site: re-render every site channel's folder from the journal."""


@site.command("build")
@click.option(
    "--to", "names", metavar="NAME", multiple=True, help="Only this site channel (repeatable)."
)
@global_options
@click.pass_context
def build(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Re-render every site channel's folder from the journal, sending nothing."""
    ctx.exit(run_build(options_of(ctx), list(names)))


def site_channels(app: App, names: list[str]) -> list[ChannelConfig]:
    """The site channels asked for (all of them, enabled or not, when none are named)."""
    sites = [c for c in app.config.channels.values() if c.type == "site"]
    if not sites:
        raise InputError(
            "no site channel in channels.yaml",
            hint="Add one: a channel with `type: site`, `dir:` and `url:` (README, the website).",
        )
    by_name = {c.name: c for c in sites}
    for name in names:
        if name not in by_name:
            close = difflib.get_close_matches(name, list(by_name), n=1)
            guess = f"Did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"--to {name!r} is not a site channel",
                hint=f"{guess}Site channels: {', '.join(by_name)}.",
            )
    return [by_name[n] for n in dict.fromkeys(names)] if names else sites


def run_build(options: GlobalOptions, names: list[str]) -> int:
    from notify.channels.site import SiteChannel, site_lock
    from notify.site.build import build_site, render_site
    from notify.site.history import empty_history

    app = App.load(options)
    out = Output(options)
    chosen = site_channels(app, names)
    for channel in chosen:  # all or nothing: check every folder before writing any
        problem = channel.adapter.preflight()
        if problem:
            raise InputError(problem)
    journal = app.existing_journal()  # none yet: a page with every component operational
    workspace = app.config.workspace()
    documents: list[dict[str, Any]] = []
    for channel in chosen:
        adapter = channel.adapter
        assert isinstance(adapter, SiteChannel)
        settings = adapter.options()
        with site_lock(settings.dir):
            if journal is None:
                history = empty_history(workspace.components)
                report = render_site(history, settings, workspace, full=True)
            else:  # every page rendered again: a template may have changed
                report = build_site(journal, settings, workspace, full=True)
        documents.append({"channel": channel.name, **report.to_json()})
        if not options.json:
            written = len(report.written.changed)
            out.note(
                f"{channel.name}: {written} file(s) written, {report.written.unchanged} unchanged, "
                f"{report.incidents} incident(s) → {settings.dir} (served at {settings.url})"
            )
    if options.json:
        out.json({"sites": documents})
    return int(ExitCode.OK)
