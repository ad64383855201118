"""`components:` in channels.yaml: what status pages list, and the names --component takes.

A list of mappings, each with a `name` and optionally a `group` (the heading it is listed under)
and a `description`. Names are unique; an unknown key is an error naming the nearest valid one.
"""

from __future__ import annotations

from typing import Any

from notify.config.fields import describe
from notify.config.problems import Problems, suggest
from notify.config.yamlsource import PathKey
from notify.model import Component

COMPONENT_KEYS = ("name", "group", "description")
_SHAPE = "write each component as `- name: Payments API` (optional `group:` and `description:`)"


def check_components(data: dict[str, Any], problems: Problems) -> list[Component]:
    """The declared components, in file order; each problem reported with its line."""
    raw = data.get("components")
    if raw is None:
        return []
    if not isinstance(raw, list):
        problems.add(("components",), f"expected a list, got {describe(raw)}", _SHAPE)
        return []
    found: list[Component] = []
    seen: set[str] = set()
    for index, item in enumerate(raw):
        component = _component(("components", index), item, problems)
        if component is None:
            continue
        if component.name in seen:
            problems.add(
                ("components", index, "name"),
                f"component '{component.name}' is declared twice",
                "give each component its own name",
            )
            continue
        seen.add(component.name)
        found.append(component)
    return found


def _component(path: PathKey, item: Any, problems: Problems) -> Component | None:
    if isinstance(item, str):  # `- Website`: a name alone is a component too
        item = {"name": item}
    if not isinstance(item, dict):
        problems.add(path, f"expected a component, got {describe(item)}", _SHAPE)
        return None
    before = problems.count()
    for key in item:
        if key not in COMPONENT_KEYS:
            problems.add(
                (*path, key),
                f"unknown key '{key}' for a component",
                suggest(str(key), COMPONENT_KEYS, "keys"),
            )
    values: dict[str, str | None] = {}
    for key in COMPONENT_KEYS:
        value = item.get(key)
        if value is None:
            values[key] = None
        elif isinstance(value, str) and value.strip():
            values[key] = value.strip()
        else:
            values[key] = None
            problems.add(
                (*path, key),
                f"'{key}' must be text, got {describe(value) if value != '' else 'nothing'}",
                "quote it, or remove the line" if key != "name" else "give the component a name",
            )
    if values["name"] is None and "name" in item:
        return None
    if values["name"] is None:
        problems.add(path, "a component needs a name", "add `name: ...`")
        return None
    if problems.count() > before:
        return None
    return Component(
        name=values["name"], group=values["group"], description=values["description"] or ""
    )
