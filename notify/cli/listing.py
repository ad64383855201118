"""`notify channels` and `notify templates`."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App
from notify.cli.options import GlobalOptions, global_options, options_of
from notify.cli.output import Output
from notify.exitcodes import ExitCode

if TYPE_CHECKING:
    from notify.channels.registry import ChannelType


@click.command()
@click.option(
    "--types", "list_types", is_flag=True, help="Every installed channel type, plugins too."
)
@global_options
@click.pass_context
def channels(ctx: click.Context, list_types: bool) -> None:
    """Configured channels (or, with --types, every installed channel type)."""
    ctx.exit(run_channels(options_of(ctx), list_types=list_types))


def run_channels(options: GlobalOptions, *, list_types: bool) -> int:
    out = Output(options)
    if list_types:
        return _types(options, out)
    app = App.load(options)
    rows: list[dict[str, Any]] = []
    for c in app.config.channels.values():
        recipients = c.adapter.recipients()
        rows.append(
            {
                "name": c.name,
                "type": c.type,
                "enabled": c.enabled,
                "recipients": len(recipients),
                "target": recipients[0].address
                if len(recipients) == 1
                else f"{len(recipients)} recipients",
                "rate_limit": c.rate_limit.text if c.rate_limit else None,
                "fallback": c.fallback,
                "groups": [g for g, members in app.config.groups.items() if c.name in members],
                "description": c.description,
            }
        )
    if options.json:
        out.json({"channels": rows, "groups": app.config.groups})
        return int(ExitCode.OK)
    from rich.markup import escape

    from notify.cli.views import ID, SHORT, WRAP, listing

    # Channel names stay whole (a fallback is one too); targets and groups wrap.
    columns = [("channel", ID), ("type", SHORT), ("to", WRAP), ("rate limit", SHORT)]
    columns += [("fallback", SHORT), ("groups", WRAP), ("enabled", SHORT)]
    cells = [
        [
            escape(r["name"]),
            escape(r["type"]),
            escape(r["target"]),
            escape(r["rate_limit"] or ""),
            escape(r["fallback"] or ""),
            escape(", ".join(r["groups"])),
            "yes" if r["enabled"] else "[yellow]no[/]",
        ]
        for r in rows
    ]
    out.out.print(listing(columns, cells, out.out.width))
    return int(ExitCode.OK)


def _types(options: GlobalOptions, out: Output) -> int:
    from notify.channels import registry

    # Load failures are shown below, once, instead of as Python warnings on the way.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", registry.PluginWarning)
        types = registry.channel_types()
    problems = registry.problems()
    rows = [_type_row(t) for _, t in sorted(types.items())]
    if options.json:
        out.json({"types": rows, "problems": [p.to_json() for p in problems]})
    else:
        from rich.table import Table

        table = Table(show_edge=False)
        table.add_column("type", no_wrap=True)
        table.add_column("from", no_wrap=True)
        for col in ("delivers", "threading", "fields (* required, 🔒 secret)"):
            table.add_column(col, overflow="fold")
        for r in rows:
            fields = ", ".join(
                f["name"] + ("*" if f["required"] else "") + (" 🔒" if f["secret"] else "")
                for f in r["fields"]
            )
            table.add_row(r["type"], r["source"], r["summary"], r["threading"], fields)
        out.out.print(table)
        if problems:
            out.out.print("\nproblems (these types are not available):")
            for p in problems:
                out.out.print(f"  {p.type} from {p.source}: {p.error}", markup=False)
    for p in problems:
        out.err.print(f"notify: warning: {p.message}", markup=False, soft_wrap=True)
    return int(ExitCode.OK)


def _type_row(t: ChannelType) -> dict[str, Any]:
    spec = t.cls.spec
    return {
        "type": t.name,
        "source": t.source,
        "part": spec.part,
        "per_recipient": spec.per_recipient,
        "threading": spec.threading,
        "summary": spec.summary,
        "fields": [
            {
                "name": f.name,
                "required": f.required,
                "secret": f.secret,
                "kind": f.kind,
                "help": f.help,
            }
            for f in spec.fields
        ],
    }


@click.command()
@global_options
@click.pass_context
def templates(ctx: click.Context) -> None:
    """Templates found, with the status each sets."""
    ctx.exit(run_templates(options_of(ctx)))


def run_templates(options: GlobalOptions) -> int:
    out = Output(options)
    app = App.load(options)
    rows = []
    for name in app.templates.names():
        t = app.templates.get(name)
        rows.append(
            {"name": name, "status": t.status, "description": t.description, "source": t.source}
        )
    if options.json:
        out.json({"templates": rows})
        return int(ExitCode.OK)
    from rich.table import Table

    table = Table(show_edge=False)
    for col in ("template", "sets status", "description", "from"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(r["name"], r["status"] or "(unchanged)", r["description"], r["source"])
    out.out.print(table)
    return int(ExitCode.OK)
