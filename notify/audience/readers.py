"""Reading audience files as a stream of rows: CSV with a header row, or a YAML list of mappings."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from notify.audience.rows import ADDRESS_COLUMNS, Row, RowLocation, RowProblem
from notify.errors import ConfigError, Location


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

    from notify.yamlbounds import AliasBudgetExceeded, check_aliases

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
            check_aliases(node)  # anchors live on across items: each item is sized whole
            number += 1
            fields, problem = _yaml_fields(loader, node, repeats)
            yield Row(number, node.start_mark.line + 1, fields, yaml=True, problem=problem)
    except AliasBudgetExceeded as exc:
        raise ConfigError(
            str(exc), where=Location(file=shown, line=exc.line), hint=exc.hint
        ) from None
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
