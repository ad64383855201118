"""YAML within bounds: aliases may not expand a small file into a huge one ("billion laughs").

An alias makes a node appear again wherever it is used. PyYAML shares the object, so loading
costs nothing, but whatever walks the value afterwards (building config values with their lines,
writing --vars into the journal as JSON, a template looping over it) pays for every copy: a few
hundred bytes of nested aliases become 10**9 values. Every YAML notify reads is composed first
and its expanded size counted on the node graph (each node once, memoised), and refused past
MAX_ALIAS_EXPANSION values more than the file itself holds.
"""

from __future__ import annotations

from typing import Any

import yaml

# Values that aliases may add beyond the nodes written in the file: `<<: *defaults` in a few
# dozen channels is a few hundred; a laugh bomb is billions.
MAX_ALIAS_EXPANSION = 10_000


class AliasBudgetExceeded(Exception):
    """Aliases expand the YAML past the budget (or into themselves); `line` is where (1-based)."""

    hint = "write the values out, or use fewer and less nested aliases (&anchor / *alias)"

    def __init__(self, line: int, *, recursive: bool = False) -> None:
        self.line = line
        self.recursive = recursive
        if recursive:
            message = "a YAML alias refers to itself, so its value never ends"
        else:
            message = (
                f"YAML aliases expand this to more than {MAX_ALIAS_EXPANSION:,} values "
                "beyond those written"
            )
        super().__init__(message)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def may_alias(text: str) -> bool:
    """Whether YAML `text` can hold an alias at all: one needs an anchor (`&name`) and a use of
    it (`*name`). Without both, check_aliases has nothing to find, and a 10,000-recipient
    channels.yaml skips a walk of every node (~50 ms)."""
    return "&" in text and "*" in text


def check_aliases(root: yaml.Node | None, budget: int = MAX_ALIAS_EXPANSION) -> None:
    """Raise AliasBudgetExceeded when `root` expands to more than its distinct nodes + `budget`.

    Iterative and memoised: a node shared by a thousand aliases is sized once, so the check
    costs one pass over the nodes actually written, however large the expansion.
    """
    if root is None:
        return
    distinct = _distinct_nodes(root)
    limit = distinct + budget
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        key = id(node)
        if finished:
            on_path.discard(key)
            size = 1 + sum(sizes[id(child)] for child in _children(node))
            if size > limit:
                raise AliasBudgetExceeded(node.start_mark.line + 1)
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise AliasBudgetExceeded(node.start_mark.line + 1, recursive=True)
        on_path.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in on_path:
                raise AliasBudgetExceeded(child.start_mark.line + 1, recursive=True)
            if id(child) not in sizes:
                stack.append((child, False))


def _distinct_nodes(root: yaml.Node) -> int:
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.extend(_children(node))
    return len(seen)


def safe_load(text: str) -> Any:
    """yaml.safe_load, refusing alias bombs (AliasBudgetExceeded) before building anything.
    (PyYAML's own loader, as yaml.safe_load: its error marks are the ones users are shown.)"""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if may_alias(text):
            check_aliases(node)
        return loader.construct_document(node)
    finally:
        loader.dispose()
