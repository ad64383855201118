"""YAML text -> plain Python values, remembering the line every key and list item came from.

PyYAML's constructors drop positions, so we compose the node graph (SafeLoader rules) and build
the values ourselves. Mapping keys are kept as the text the user typed: `on:` or `1:` stay
strings instead of YAML 1.1's booleans and numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from notify.errors import ConfigError, Location
from notify.yamlbounds import AliasBudgetExceeded, check_aliases, may_alias

PathKey = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"
_STR_TAG = "tag:yaml.org,2002:str"

# The parser's wording for the usual mistakes, said plainly, with how to fix each.
_PLAIN_WORDS: tuple[tuple[str, str, str], ...] = (
    (
        "cannot start any token",
        "a tab or a character YAML does not allow here",
        "indent with spaces, never tabs; quote values that start with @, ` or %",
    ),
    (
        "mapping values are not allowed here",
        "a ':' where YAML did not expect one",
        "quote values that contain ': ', and check the indentation of this line",
    ),
    (
        "could not find expected ':'",
        "a line that is not `key: value`",
        "add the ':' after the key, or check the indentation",
    ),
    (
        "expected <block end>",
        "this line's indentation does not match the lines above",
        "line keys of one mapping up in the same column, using spaces",
    ),
    (
        "but got '{'",
        "a '{' inside [ ] or { } (is it a ${VAR}?)",
        'quote that value: ["${VAR}"]',
    ),
    (
        "<stream end>",
        "a bracket opened here is never closed",
        "close the bracket this value opens",
    ),
    (
        "found unexpected end of stream",
        "a quote opened here is never closed",
        "close the quote this value opens",
    ),
    (
        "expected a single document",
        "more than one YAML document ('---')",
        "keep one document in channels.yaml",
    ),
)


@dataclass
class Source:
    """A parsed file: its values and where each came from."""

    name: str
    data: Any
    lines: dict[PathKey, int] = field(default_factory=dict)

    def line(self, path: PathKey) -> int | None:
        """The line of `path`, or of its nearest parent that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def dotted(path: PathKey) -> str:
    """('channels', 'ops-slack', 'to', 0) -> 'channels.ops-slack.to[0]'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# libyaml's loader composes the same nodes, with the same marks, about ten times faster.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_LOADER)
    except yaml.YAMLError:
        if _LOADER is yaml.SafeLoader:
            raise
        # Errors are rare: parse again in pure Python, whose messages we translate to plain words.
        return yaml.compose(text, Loader=yaml.SafeLoader)


def parse(text: str, name: str) -> Source:
    """Parse `text`; a syntax error is a ConfigError at file:line:column. None for empty text."""
    try:
        node = _compose(text)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, name) from None
    except yaml.YAMLError as exc:  # ReaderError: a control character YAML refuses
        raise ConfigError(
            f"YAML cannot read this file: {exc}",
            where=Location(file=name),
            hint="remove control characters; save the file as UTF-8 text",
        ) from None
    try:
        if may_alias(text):
            check_aliases(node)
    except AliasBudgetExceeded as exc:
        raise ConfigError(
            str(exc), where=Location(file=name, line=exc.line), hint=exc.hint
        ) from None
    source = Source(name=name, data=None)
    if node is not None:
        source.lines[()] = node.start_mark.line + 1
        source.data = _Builder(source).build(node, ())
    return source


def _syntax_error(exc: yaml.MarkedYAMLError, name: str) -> ConfigError:
    problem = exc.problem or exc.context or "invalid YAML"
    # At the end of the file, the place that opened the unclosed bracket or quote is the news.
    at_end = "stream end" in problem or "end of stream" in problem
    mark = (exc.context_mark if at_end else None) or exc.problem_mark or exc.context_mark
    where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark else name
    for needle, words, hint in _PLAIN_WORDS:
        if needle in problem:
            return ConfigError(f"YAML syntax error: {words}", where=where, hint=hint)
    return ConfigError(
        f"YAML syntax error: {problem}",
        where=where,
        hint="check this line's indentation (spaces, not tabs) and quoting",
    )


class _Builder:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.constructor = yaml.constructor.SafeConstructor()
        self.active: set[int] = set()  # nodes being built: a recursive alias would never end

    def fail(self, node: yaml.Node, message: str, hint: str, path: PathKey = ()) -> ConfigError:
        line = node.start_mark.line + 1
        where = Location(file=self.source.name, line=line, field=dotted(path) or None)
        return ConfigError(message, where=where, hint=hint)

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        if node.tag == _STR_TAG and isinstance(node, yaml.ScalarNode):
            return node.value  # as the constructor reads it: most values, 10,000 recipients
        if id(node) in self.active:
            raise self.fail(node, "an alias refers to itself", "remove the recursive alias")
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            if isinstance(node, yaml.SequenceNode):
                return self._sequence(node, path)
            return self.constructor.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            raise self.fail(node, f"YAML value error: {exc.problem}", "quote it", path) from None
        except ValueError as exc:  # 2024-13-45 looks like a date to YAML but is none
            raise self.fail(
                node, f"YAML cannot read this value ({exc})", "quote it", path
            ) from None
        finally:
            self.active.discard(id(node))

    def _sequence(self, node: yaml.SequenceNode, path: PathKey) -> list[Any]:
        items = []
        for index, item in enumerate(node.value):
            self.source.lines[(*path, index)] = item.start_mark.line + 1
            items.append(self.build(item, (*path, index)))
        return items

    def _mapping(self, node: yaml.MappingNode, path: PathKey) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: list[yaml.MappingNode] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merged.extend(self._merge_sources(value_node))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "a key must be plain text", "write `name: value`", path)
            key = str(key_node.value)
            if key in result:
                first = self.source.lines[(*path, key)]
                raise self.fail(
                    key_node,
                    f"duplicate key '{key}' (first on line {first})",
                    "keep one of them: YAML would silently use the last",
                    (*path, key),
                )
            self.source.lines[(*path, key)] = key_node.start_mark.line + 1
            result[key] = self.build(value_node, (*path, key))
        # `<<: *defaults` fills in what the mapping does not set itself.
        for source_node in merged:
            for key, value in self._mapping(source_node, (*path, "<<")).items():
                if key not in result:
                    self.source.lines[(*path, key)] = self.source.lines[(*path, "<<", key)]
                    result[key] = value
        return result

    def _merge_sources(self, node: yaml.Node) -> list[yaml.MappingNode]:
        nodes = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if not all(isinstance(n, yaml.MappingNode) for n in nodes):
            raise self.fail(node, "'<<' must merge a mapping", "write `<<: *anchor-of-a-mapping`")
        return list(nodes)
