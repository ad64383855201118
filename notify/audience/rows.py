"""One row of an audience file: where it is, its columns, and what may be wrong with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notify.errors import ConfigError, Location

SUFFIXES = (".csv", ".yaml", ".yml")
# The column holding a recipient's address, per channel type; other per-recipient types (plugins)
# read `address`.
ADDRESS_COLUMNS = {"sms": "phone", "email": "email"}
DEFAULT_ADDRESS_COLUMN = "address"


@dataclass(frozen=True)
class RowLocation(Location):
    """A place in an audience file. CSV: `line` is the spreadsheet row (header = 1). YAML: `line`
    is the file's line and `item` the position in the list. `field` is the column."""

    item: int | None = None

    @property
    def row(self) -> int:
        return self.item if self.item is not None else (self.line or 0)

    def __str__(self) -> str:
        where = f"row {self.line}" if self.item is None else f"item {self.item} (line {self.line})"
        text = f"{self.file}: {where}"
        return f"{text}, column {self.field}" if self.field else text


@dataclass(frozen=True)
class RowProblem:
    """What is wrong with one row, and in which column: with `skip_invalid`, the row is skipped."""

    column: str | None
    message: str
    hint: str | None = None


@dataclass(slots=True)
class Row:
    """One recipient as read: where it is, and its columns (what templates get as recipient.*)."""

    number: int  # CSV: spreadsheet row; YAML: position in the list (1-based)
    line: int
    fields: dict[str, Any]
    yaml: bool = False
    problem: RowProblem | None = None  # the row could not be read (bad bytes, not a mapping)

    def at(self, file: str, column: str | None = None) -> RowLocation:
        if self.yaml:
            return RowLocation(file=file, line=self.line, field=column, item=self.number)
        return RowLocation(file=file, line=self.number, field=column)


@dataclass(frozen=True)
class SkippedRow:
    """An invalid row left out because the channel sets `skip_invalid: true`."""

    channel: str
    where: RowLocation
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "file": self.where.file,
            "row": self.where.row,
            "line": self.where.line,
            "column": self.where.field,
            "error": self.reason,
        }


def row_error(row: Row, problem: RowProblem, shown: str, hint: str | None = None) -> ConfigError:
    return ConfigError(
        problem.message, where=row.at(shown, problem.column), hint=hint or problem.hint
    )


# --- loading and checking ----------------------------------------------------------------------
