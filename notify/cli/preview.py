"""`notify preview`: render every channel and show it; send and record nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App
from notify.cli.documents import plan_document
from notify.cli.options import global_options, options_of, update_options
from notify.cli.output import Output
from notify.cli.views import preview_headline, preview_panels, skipped_notes
from notify.delivery.inputs import UpdateRequest, build_request
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions


@click.command()
@update_options
@click.option(
    "--locale", metavar="LOCALE", help="Show the rendering for recipients of this locale."
)
@global_options
@click.pass_context
def preview(ctx: click.Context, locale: str | None, **kwargs: Any) -> None:
    """Render every channel and show it; send and record nothing."""
    request = build_request(**kwargs, dry_run=True, locale=locale)
    ctx.exit(run_preview(options_of(ctx), request))


def run_preview(options: GlobalOptions, request: UpdateRequest) -> int:
    from notify.delivery.preflight import preflight  # not for `notify preview --help`

    app = App.load(options)
    out = Output(options)
    checked = preflight(request, app.config, app.templates, app.existing_journal())
    for line in skipped_notes(checked):
        out.note(line)
    if options.json:
        out.json(plan_document(checked, with_content=True))
        return int(ExitCode.OK)
    out.out.print(preview_headline(checked))
    for panel in preview_panels(checked):
        out.out.print(panel)
    recipients = len(checked.deliveries)
    channels = len({r.channel.name for r in checked.deliveries})
    out.note(
        f"preview only: {recipients} delivery(ies) on {channels} channel(s); "
        "nothing sent or recorded."
    )
    return int(ExitCode.OK)
