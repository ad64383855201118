"""Every problem in a config, collected: `notify check` lists them all, the CLI the first."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from notify import secrets
from notify.config.yamlsource import PathKey, Source, dotted
from notify.errors import ConfigError, Location


class InvalidConfig(ConfigError):
    """The first problem in file order (its `str()` is that one line), carrying all of them."""

    def __init__(self, errors: list[ConfigError]) -> None:
        first = errors[0]
        super().__init__(first.message, where=first.where, hint=first.hint)
        self.errors = errors
        self.problems = [str(error) for error in errors]


def did_you_mean(word: str, options: Iterable[str]) -> str | None:
    """ "did you mean 'token'?" for the nearest option, or None when none is close."""
    close = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f"did you mean '{close[0]}'?" if close else None


def suggest(word: str, options: Iterable[str], what: str) -> str:
    """A hint for an unknown name: the nearest option, else every option."""
    options = list(options)
    return did_you_mean(word, options) or f"valid {what}: {', '.join(options) or '(none)'}"


@dataclass
class Problems:
    """Problems found so far, each tied to a dotted field path and its line."""

    source: Source
    from_env: set[PathKey] = field(default_factory=set)  # values filled in from ${VAR}
    skip: set[PathKey] = field(default_factory=set)  # a ${VAR} failed here: reported already
    found: list[tuple[float, ConfigError]] = field(default_factory=list)

    def add(
        self, path: PathKey, message: str, hint: str | None = None, *, order: float | None = None
    ) -> None:
        """`order` sorts a missing key after the lines near it: a typo'd key there explains more.

        A value whose ${VAR} could not be filled in is reported once, for that, and not again for
        what its unfilled text then looks like.
        """
        if any(path[:n] in self.skip for n in range(1, len(path) + 1)):
            return
        line = self.source.line(path)
        where = Location(file=self.source.name, line=line, field=dotted(path) or None)
        order = order if order is not None else (line or 0)
        self.found.append((order, ConfigError(message, where=where, hint=hint)))

    def after(self, path: PathKey) -> float:
        """An order just after every line of the mapping at `path`."""
        lines = [line for key, line in self.source.lines.items() if key[: len(path)] == path]
        return max(lines, default=0) + 0.5

    def count(self) -> int:
        return len(self.found)

    def raise_if_any(self) -> None:
        if self.found:
            ordered = [error for _, error in sorted(self.found, key=lambda item: item[0])]
            raise InvalidConfig([_redacted(error) for error in ordered])


def _redacted(error: ConfigError) -> ConfigError:
    # Secrets are registered as the file is read; a message built before the last of them was
    # known is scrubbed here, once, at the way out.
    hint = secrets.redact(error.hint) if error.hint else None
    return ConfigError(secrets.redact(error.message), where=error.where, hint=hint)


def fail(error: ConfigError) -> InvalidConfig:
    """A problem that stops reading at once (syntax, unreadable file), as an InvalidConfig."""
    return InvalidConfig([_redacted(error)])
