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

from notify.errors import ConfigError, Location

SUFFIXES = (".csv", ".yaml", ".yml")
# The column holding a recipient's address, per channel type; other per-recipient types (plugins)
# read `address`.
ADDRESS_COLUMNS = {"sms": "phone", "email": "email"}
DEFAULT_ADDRESS_COLUMN = "address"
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


def row_error(row: Row, problem: RowProblem, shown: str, hint: str | None = None) -> ConfigError:
    return ConfigError(
        problem.message, where=row.at(shown, problem.column), hint=hint or problem.hint
    )


# --- loading and checking ----------------------------------------------------------------------


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


def read_rows(path: Path, shown: str, *, column: str | None = None) -> Iterator[Row]:
    """Each non-blank row of the file, streamed; a row that cannot be read carries its `problem`.
    File problems (missing, no header, no `column` in a CSV header, not a YAML list) raise."""
    try:
        # surrogateescape: a stray non-UTF-8 byte is reported with its row, not at some read
        # buffer's boundary rows away.
        handle = path.open("r", encoding="utf-8-sig", errors="surrogateescape", newline="")
    except FileNotFoundError:
        raise ConfigError(
            "audience file not found",
            where=Location(file=shown),
            hint=f"looked for {path.resolve()}; the path is relative to the config file",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"cannot read the audience file: {exc.strerror}",
            where=Location(file=shown),
            hint="check the file's permissions",
        ) from None
    with handle:
        if path.suffix.lower() == ".csv":
            yield from _csv_rows(handle, shown, column)
        else:
            yield from _yaml_rows(handle, shown)


def _bad_bytes(text: str) -> str | None:
    """The first byte that was not UTF-8 (read with surrogateescape), as 0x.., or None."""
    for ch in text:
        if "\udc80" <= ch <= "\udcff":
            return f"0x{ord(ch) - 0xDC00:02x}"
    return None


_UTF8_HINT = "save the file as UTF-8 (in Excel: CSV UTF-8)"


def _csv_rows(handle: Any, shown: str, column: str | None) -> Iterator[Row]:
    import csv

    reader = csv.reader(handle)
    number = 1
    try:
        header = next(reader, None)
        if header is None or not any(h.strip() for h in header):
            raise ConfigError(
                "the first row must name the columns",
                where=RowLocation(file=shown, line=1),
                hint=f"start the file with a header row like {column or 'phone'},name,locale,tags",
            )
        columns = [h.strip().lower() for h in header]
        _check_header(columns, shown, column)
        repeats = _Repeats()
        for values in reader:
            number += 1
            if values and any(values):
                fields, problem = _csv_fields(columns, values, repeats)
                yield Row(number, number, fields, problem=problem)
    except csv.Error as exc:
        raise ConfigError(
            f"not readable as CSV: {exc}",
            where=RowLocation(file=shown, line=number + 1),
            hint='check the quoting on this row: a value with a comma or quote needs "..."',
        ) from None


def _check_header(columns: list[str], shown: str, column: str | None) -> None:
    for index, name in enumerate(columns):
        bad = _bad_bytes(name)
        if bad:
            raise ConfigError(
                f"byte {bad} is not UTF-8 text",
                where=RowLocation(file=shown, line=1),
                hint=_UTF8_HINT,
            )
        if name and name in columns[:index]:
            raise ConfigError(
                f"column {name!r} appears twice",
                where=RowLocation(file=shown, line=1, field=name),
                hint="rename or remove one of them",
            )
    if column is not None and column not in columns:
        found = ", ".join(c for c in columns if c) or "none"
        raise ConfigError(
            f"no {column} column (columns found: {found})",
            where=RowLocation(file=shown, line=1),
            hint=f"add a {column} column with each recipient's address to the header row",
        )


def _csv_fields(
    columns: list[str], values: list[str], repeats: _Repeats
) -> tuple[dict[str, Any], RowProblem | None]:
    width = len(columns)
    if len(values) != width:
        if len(values) > width and any(v.strip() for v in values[width:]):
            return {}, RowProblem(
                None,
                f"{len(values)} values but the header names {width} columns",
                'quote values that contain a comma: "Smith, Ann"',
            )
        # Spreadsheets drop trailing empty cells; empty extra cells are nothing.
        values = values[:width] + [""] * (width - len(values))
    if not all(map(str.isascii, values)):
        for name, value in zip(columns, values, strict=True):
            bad = _bad_bytes(value)
            if bad and name:
                return {}, RowProblem(name, f"byte {bad} is not UTF-8 text", _UTF8_HINT)
    fields: dict[str, Any] = dict(zip(columns, map(str.strip, values), strict=True))
    fields.pop("", None)  # a column without a header (a trailing comma): nothing to call it by
    return repeats.fill(fields), None


def split_tags(value: Any) -> tuple[str, ...]:
    """`eu; vip|beta` -> ("eu", "vip", "beta"); a YAML list is taken item by item."""
    if not value:
        return ()
    if isinstance(value, str) and ";" not in value and "|" not in value:
        return (value.strip(),)
    if isinstance(value, list | tuple):
        items = [str(item) for item in value]
    else:
        items = str(value).replace("|", ";").split(";")
    return tuple(text for text in map(str.strip, items) if text)


class _Repeats:
    """One shared object per distinct locale and tag set: 100,000 rows carry a handful of each,
    and a copy per row would be most of their memory. Bounded, in case a column is all unique."""

    LIMIT = 4096

    def __init__(self) -> None:
        self._locales: dict[str, str] = {}
        self._tags: dict[Any, tuple[str, ...]] = {}

    def fill(self, fields: dict[str, Any]) -> dict[str, Any]:
        locale = fields.get("locale")
        if isinstance(locale, str):
            fields["locale"] = self._shared(self._locales, locale, locale)
        raw = fields.get("tags")
        if raw is not None:
            key = tuple(raw) if isinstance(raw, list) else raw
            tags = self._tags.get(key) if isinstance(key, str | tuple) else None
            if tags is None:
                tags = split_tags(raw)
                if isinstance(key, str | tuple):
                    self._shared(self._tags, key, tags)
            fields["tags"] = tags
        return fields

    def _shared(self, cache: dict[Any, Any], key: Any, value: Any) -> Any:
        found = cache.get(key)
        if found is None:
            found = value
            if len(cache) < self.LIMIT:
                cache[key] = value
        return found


def _yaml_rows(handle: Any, shown: str) -> Iterator[Row]:
    """A YAML list of mappings, one item at a time: libyaml's events, composed item by item."""
    import yaml

    loader = _item_loader()(handle)
    try:
        loader.get_event()  # stream start
        if loader.check_event(yaml.StreamEndEvent):
            raise _not_a_list(shown, 1, "the file is empty")
        loader.get_event()  # document start
        if not loader.check_event(yaml.SequenceStartEvent):
            line = loader.peek_event().start_mark.line + 1
            raise _not_a_list(shown, line, "the file is not a list")
        loader.get_event()
        number = 0
        repeats = _Repeats()
        while not loader.check_event(yaml.SequenceEndEvent):
            node = loader.compose_node(None, None)
            number += 1
            fields, problem = _yaml_fields(loader, node, repeats)
            yield Row(number, node.start_mark.line + 1, fields, yaml=True, problem=problem)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"YAML syntax error: {exc.problem or exc.context}",
            where=Location(file=shown, line=mark.line + 1 if mark else None),
            hint="check this line's indentation (spaces, not tabs) and quoting",
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(
            f"YAML cannot read this file: {exc}",
            where=Location(file=shown),
            hint="save it as UTF-8 text without control characters",
        ) from None
    finally:
        loader.dispose()


def _not_a_list(shown: str, line: int, what: str) -> ConfigError:
    return ConfigError(
        f"{what}: an audience file is a list of recipients",
        where=Location(file=shown, line=line),
        hint='write one "- phone: ..." (or email) item per recipient, with name, locale, tags',
    )


def _yaml_fields(
    loader: Any, node: Any, repeats: _Repeats
) -> tuple[dict[str, Any], RowProblem | None]:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        return {}, RowProblem(None, "expected a mapping like {phone: ..., name: ...}")
    try:
        data = loader.construct_document(node)
    except (yaml.YAMLError, ValueError) as exc:
        return {}, RowProblem(None, f"YAML cannot read this item ({exc})", "quote its values")
    fields: dict[str, Any] = {}
    for key, value in data.items():
        name = str(key).strip().lower()
        if isinstance(value, str):
            value = value.strip()
        elif name in ADDRESS_COLUMNS.values() and isinstance(value, int | float):
            # YAML reads +14155550100 as the number 14155550100: the + would be lost.
            return {}, RowProblem(name, "expected text, got a number", f'quote it: "+{value}"')
        fields[name] = value
    for name in ("name", "locale"):
        if fields.get(name) is not None and not isinstance(fields[name], str):
            fields[name] = str(fields[name])
    return repeats.fill(fields), None


def _item_loader() -> type:
    """libyaml's parser (fast) under PyYAML's composer, so items are composed one at a time."""
    import yaml
    from yaml.composer import Composer
    from yaml.constructor import SafeConstructor
    from yaml.resolver import Resolver

    c_parser: Any = getattr(yaml, "CParser", None)
    if c_parser is not None:

        class CItemLoader(c_parser, Composer, SafeConstructor, Resolver):
            def __init__(self, stream: Any) -> None:
                c_parser.__init__(self, stream)
                Composer.__init__(self)
                SafeConstructor.__init__(self)
                Resolver.__init__(self)

        return CItemLoader

    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class ItemLoader(Reader, Scanner, Parser, Composer, SafeConstructor, Resolver):
        def __init__(self, stream: Any) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)

    return ItemLoader
