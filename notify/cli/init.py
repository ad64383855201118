"""`notify init [DIR]`: a starter channels.yaml and the shipped templates, ready to edit."""

from __future__ import annotations

import shutil
from pathlib import Path

import click

from notify.cli.options import GlobalOptions, global_options, options_of
from notify.cli.output import Output
from notify.errors import InputError
from notify.exitcodes import ExitCode


@click.command()
@click.argument("directory", default=".", metavar="[DIR]")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
@global_options
@click.pass_context
def init(ctx: click.Context, directory: str, force: bool) -> None:
    """Write a starter channels.yaml and templates/ into DIR."""
    ctx.exit(run_init(options_of(ctx), directory, force=force))


def shipped_config() -> Path:
    """The sample channels.yaml: inside the wheel, or at the repository root in a checkout."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_shipped" / "channels.yaml", here.parent / "channels.yaml"):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("the sample channels.yaml is missing from this installation")


def run_init(options: GlobalOptions, directory: str, *, force: bool) -> int:
    from notify.render.templates import shipped_templates_dir

    out = Output(options)
    target = Path(directory)
    target.mkdir(parents=True, exist_ok=True)
    config_path = target / "channels.yaml"
    templates_dir = target / "templates"
    shipped = sorted(shipped_templates_dir().glob("*.j2"))
    clashes = [p for p in [config_path, *(templates_dir / s.name for s in shipped)] if p.exists()]
    if clashes and not force:
        raise InputError(
            f"{clashes[0]} already exists",
            hint="Pass --force to overwrite, or choose another DIR.",
        )
    shutil.copyfile(shipped_config(), config_path)
    templates_dir.mkdir(exist_ok=True)
    for source in shipped:
        shutil.copyfile(source, templates_dir / source.name)
    written = [str(config_path), f"{templates_dir}/ ({len(shipped)} templates)"]
    if options.json:
        out.json({"written": [str(config_path), *(str(templates_dir / s.name) for s in shipped)]})
    else:
        for line in written:
            out.note(f"wrote {line}")  # progress for people: stderr, silenced by -q
        out.note(
            "next: edit channels.yaml (set the ${VARS} it names), then `notify check` and "
            '`notify preview investigating --title "..." --message "..."`.'
        )
    return int(ExitCode.OK)
