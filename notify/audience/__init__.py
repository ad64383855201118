"""Audience files: a channel's `to:` naming a CSV or YAML list of recipients, read as a stream.

A customer list has thousands of rows, so it is never held whole: `notify` reads it once when the
config is loaded, to check every row (an invalid one stops everything, or with `skip_invalid` is
left out and reported), and again, row by row, when a channel lists its recipients. Nothing here
knows a provider: the channel's own `validate_recipient` says whether an address is good, and its
`recipients()` normalises and de-duplicates the rows it is given.

CSV: a header row naming the columns (any case, spaces trimmed), one recipient a row; a UTF-8 BOM
is fine. YAML: a list of mappings. Columns: the address (`phone` for SMS, `email` for email),
optional `name`, `locale`, `tags` (`;` or `|` between them, or a YAML list), and any others; all
reach templates as `recipient.*`. Rows are numbered as a spreadsheet shows them (header = row 1);
YAML items by their position in the list, with their line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from notify.audience.readers import read_rows, split_tags
from notify.audience.rows import (
    ADDRESS_COLUMNS,
    DEFAULT_ADDRESS_COLUMN,
    SUFFIXES,
    Row,
    RowLocation,
    RowProblem,
    SkippedRow,
    row_error,
)
from notify.errors import ConfigError, Location

__all__ = [
    "ADDRESS_COLUMNS",
    "DEFAULT_ADDRESS_COLUMN",
    "SUFFIXES",
    "Audience",
    "Row",
    "RowLocation",
    "RowProblem",
    "SkippedRow",
    "address_column",
    "is_audience_path",
    "load_audience",
    "read_rows",
    "row_error",
    "skipped_rows",
    "skipped_summary",
    "split_tags",
]

# How many invalid rows are reported one by one before the rest are counted in one line.
SHOWN_PROBLEMS = 20

_LOCALE = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")
_SKIP_HINT = "or set `skip_invalid: true` on the channel to send to the valid rows only"

Check = Callable[[str, dict[str, Any]], str | None]
"""(address, row) -> None when the row's address is good for the channel, else what is wrong."""


def is_audience_path(value: object) -> bool:
    """Whether a `to:` value names an audience file rather than one address."""
    return isinstance(value, str) and value.strip().lower().endswith(SUFFIXES)


def address_column(channel_type: str) -> str:
    return ADDRESS_COLUMNS.get(channel_type, DEFAULT_ADDRESS_COLUMN)


@dataclass
class Audience:
    """A channel's audience file. Iterating it reads the file again and yields each valid row's
    columns, so the rows are never all in memory at once (the channel keeps its Recipients)."""

    path: Path
    shown: str  # the file as messages name it
    column: str  # the address column
    channel: str = ""
    rows: int = 0  # valid rows found when the config was loaded
    skipped: list[SkippedRow] = field(default_factory=list)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        left_out = {s.where.row for s in self.skipped}
        for row in read_rows(self.path, self.shown):
            if row.number in left_out:
                continue
            if row.problem is not None:  # the file changed since it was checked
                raise row_error(row, row.problem, self.shown)
            yield row.fields

    def __str__(self) -> str:
        return self.shown


def load_audience(
    path: Path,
    shown: str,
    *,
    channel: str,
    column: str,
    check: Check,
    skip_invalid: bool,
) -> tuple[Audience, list[ConfigError]]:
    """Read every row once and check it. Returns the audience and the problems to report: file
    problems always; row problems unless `skip_invalid` (then the rows are recorded as skipped)."""
    audience = Audience(path=path, shown=shown, column=column, channel=channel)
    errors: list[ConfigError] = []
    invalid = 0
    try:
        for row in read_rows(path, shown, column=column):
            problem = row.problem or _check_row(row.fields, column, check)
            if problem is None:
                audience.rows += 1
            elif skip_invalid:
                audience.skipped.append(
                    SkippedRow(channel, row.at(shown, problem.column), problem.message)
                )
            else:
                invalid += 1
                if invalid <= SHOWN_PROBLEMS:
                    hint = f"{problem.hint}; {_SKIP_HINT}" if problem.hint else _SKIP_HINT
                    errors.append(row_error(row, problem, shown, hint[0].upper() + hint[1:]))
    except ConfigError as exc:
        errors.append(exc)
    if invalid > SHOWN_PROBLEMS:
        errors.append(
            ConfigError(
                f"{invalid - SHOWN_PROBLEMS} more invalid rows ({invalid} in all)",
                where=Location(file=shown),
                hint=f"Fix them, {_SKIP_HINT}",
            )
        )
    return audience, errors


def _check_row(fields: dict[str, Any], column: str, check: Check) -> RowProblem | None:
    address = fields.get(column)
    if address is None or address == "":
        return RowProblem(column, f"no {column}", "fill it in or delete the row")
    if not isinstance(address, str):
        return RowProblem(column, f"expected text, got {address!r}", f'quote it: "{address}"')
    problem = check(address, fields)
    if problem:
        return RowProblem(column, problem)
    locale = fields.get("locale")
    if locale and not _LOCALE.match(locale):
        return RowProblem("locale", f"{locale!r} is not a locale", "write it like en, de or pt-BR")
    return None


def skipped_rows(settings: Mapping[str, Any]) -> list[SkippedRow]:
    """The rows `skip_invalid` left out of a channel's audience file (none without one)."""
    to = settings.get("to")
    return list(to.skipped) if isinstance(to, Audience) else []


def skipped_summary(skipped: list[SkippedRow], *, shown_rows: int = 10) -> list[str]:
    """One line per file: "skipped 3 invalid rows in customers.csv (rows 4, 9, 17)"."""
    by_file: dict[str, list[int]] = {}
    for s in skipped:
        by_file.setdefault(str(s.where.file), []).append(s.where.row)
    lines = []
    for file, rows in by_file.items():
        listed = ", ".join(str(n) for n in rows[:shown_rows])
        more = f" and {len(rows) - shown_rows} more" if len(rows) > shown_rows else ""
        word = "row" if len(rows) == 1 else "rows"
        item = "item" if file.lower().endswith((".yaml", ".yml")) else "row"
        items = item if len(rows) == 1 else f"{item}s"
        lines.append(f"skipped {len(rows)} invalid {word} in {file} ({items} {listed}{more})")
    return lines


# --- reading -----------------------------------------------------------------------------------
