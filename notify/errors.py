"""The exception tree. Modules raise these; only the CLI turns them into one line and an exit code.

Every message says what is wrong, where (file and line, or field) and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass

from notify.exitcodes import ExitCode


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file (and line), and/or a dotted field path."""

    file: str | None = None
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.field:
            parts.append(self.field)
        return ": ".join(parts)


class NotifyError(Exception):
    """A problem the user can fix. `str()` is the one line the CLI prints."""

    exit_code: ExitCode = ExitCode.INVALID_INPUT

    def __init__(
        self, message: str, *, where: Location | str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        where = str(self.where) if self.where else ""
        text = f"{where}: {self.message}" if where else self.message
        if self.hint:
            text = f"{text.rstrip('.')}. {self.hint}"
        return text


class ConfigError(NotifyError):
    """channels.yaml (or an audience / suppression file) is invalid."""


class TemplateError(NotifyError):
    """A template is missing, does not parse, or uses an undefined variable."""


class InputError(NotifyError):
    """A command-line value is invalid: --set, --impact, --next-update, --to, ..."""


class PreflightError(NotifyError):
    """A rendered message breaks a channel's rules (length, recipients) before anything is sent."""


class JournalError(NotifyError):
    """The journal cannot be opened, or does not hold what was asked for (unknown incident)."""


class JournalFailed(JournalError):
    """The journal failed while it was read or written: damaged, disk full, an I/O error."""

    exit_code = ExitCode.JOURNAL_FAILED


class Interrupted(NotifyError):
    """Ctrl-C or SIGTERM during delivery: what went out is journaled; `notify retry` finishes."""

    exit_code = ExitCode.INTERRUPTED
