"""Loading what a command needs (config, templates, journal) from the global options, once."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from notify.errors import ConfigError, JournalError

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions
    from notify.config.model import Config
    from notify.journal.base import Journal
    from notify.render.templates import TemplateSet


@dataclass
class App:
    """The loaded pieces a command works with."""

    options: GlobalOptions
    config: Config
    _templates: TemplateSet | None = None

    @classmethod
    def load(cls, options: GlobalOptions) -> App:
        from notify.config import load_config, resolve_config_path

        path = resolve_config_path(options.config)
        named_by = (
            "--config" if options.config else "$NOTIFY_CONFIG" if os.environ.get("NOTIFY_CONFIG")
            else None
        )  # fmt: skip
        if not path.exists() and named_by:
            # The user named this file: say it is missing, not that a channels.yaml is.
            raise ConfigError(
                f"the config file named by {named_by} does not exist",
                where=str(path),
                hint="Check the path, or run `notify init DIR` to write a starter one.",
            )
        if not path.exists():
            raise ConfigError(
                "no channels.yaml found",
                where=str(path),
                hint="Run `notify init` to write a starter one, or pass --config FILE "
                "(or set $NOTIFY_CONFIG).",
            )
        return cls(options=options, config=load_config(path, journal=options.journal_override()))

    @property
    def templates(self) -> TemplateSet:
        if self._templates is None:
            from notify.render.templates import TemplateSet

            self._templates = TemplateSet.load(
                self.config.template_dirs, timezone=self.config.timezone
            )
        return self._templates

    def open_journal(self) -> Journal:
        return open_journal_at(self.config.journal_path)

    def existing_journal(self) -> Journal | None:
        """The journal if it exists; None otherwise (preview and check never create a file). A
        journal on a server (postgresql://) always exists: it is opened."""
        if not _exists(self.config.journal_path):
            return None
        return self.open_journal()

    def history_journal(self) -> Journal:
        """journal_for_history's journal, for a command that has loaded the config already."""
        override = self.options.journal_override()
        return _recorded_journal(
            journal_location(override) if override else self.config.journal_path
        )


def journal_location(given: str) -> Path | str:
    """A journal given as --journal or $NOTIFY_JOURNAL: a file path, or a URL kept as written."""
    from notify.journal import is_url

    return given if is_url(given) else Path(given)


def open_journal_at(path: Path | str) -> Journal:
    """The journal at `path`, closed when the command that opened it ends (SQLite folds its WAL
    into the file then; a server sees a clean goodbye), not left to the process's teardown."""
    import click

    from notify.journal import open_journal, shown_location

    try:
        journal = open_journal(path)
    except OSError as exc:
        raise JournalError(
            f"cannot open the journal: {exc.strerror or exc}",
            where=shown_location(path),
            hint="Check the folder is writable, or pass --journal PATH.",
        ) from None
    command = click.get_current_context(silent=True)
    if command is not None:
        command.call_on_close(journal.close)
    return journal


def journal_for_history(options: GlobalOptions) -> Journal:
    """The journal for read-mostly commands: --journal / $NOTIFY_JOURNAL, else the config's."""
    override = options.journal_override()
    if override:
        return _recorded_journal(journal_location(override))
    return App.load(options).history_journal()


def journal_if_sent(options: GlobalOptions) -> Journal | None:
    """The journal for `incidents` and `log`; None when the config's journal is not created yet
    (nothing sent with it: an empty history, not an error). A journal named by --journal or
    $NOTIFY_JOURNAL must exist: a path that is not there is more likely a typo."""
    override = options.journal_override()
    if override:
        return _recorded_journal(journal_location(override))
    app = App.load(options)
    return app.history_journal() if _exists(app.config.journal_path) else None


def _exists(location: Path | str) -> bool:
    """Whether a journal file is there; a journal on a server always is."""
    from notify.journal import journal_file

    file = journal_file(location)
    return file is None or file.exists()


def _recorded_journal(path: Path | str) -> Journal:
    """The journal at `path`, which must exist: these commands read what was sent."""
    if not _exists(path):
        raise JournalError(
            "no journal yet: nothing has been sent with this config",
            where=str(path),
            hint="Send an update first, or pass --journal PATH to the journal you mean.",
        )
    return open_journal_at(path)


def is_interactive() -> bool:
    """A person at a terminal (stdin and stderr are TTYs, and not CI)."""
    import sys

    if os.environ.get("CI"):
        return False
    return sys.stdin.isatty() and sys.stderr.isatty()
