"""`${VAR}` and `${VAR:-default}` in channels.yaml string values; `$${` is a literal `${`.

A value taken from the environment is not a secret for coming from there (`enabled: ${SLACK_ON}`
is just `true`): what is secret is declared by the field it fills (notify.secrets).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from notify.config.yamlsource import PathKey

# `$${` (escape), or `${NAME}` / `${NAME:-default}`, or a `${` that is neither (malformed).
_TOKEN = re.compile(r"\$\$\{|\$\{(?:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\})?")


class EnvVarError(ValueError):
    """A `${...}` that cannot be filled in; `hint` says how to fix it."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


@dataclass
class Expanded:
    text: str
    used_env: bool  # some part of `text` came from the environment (or a default standing in)


def expand(text: str, env: Mapping[str, str]) -> Expanded:
    """Fill in `text`; raise EnvVarError for a missing variable without default or bad syntax."""
    if "$" not in text:
        return Expanded(text, used_env=False)
    out: list[str] = []
    used = False
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        if match.group(0) == "$${":
            out.append("${")
            continue
        name, default = match.group(1), match.group(2)
        if name is None:
            raise EnvVarError(
                "a '${' that is not ${NAME} or ${NAME:-default}",
                "write ${NAME} or ${NAME:-default} (letters, digits, _), or $${ for a literal ${",
            )
        used = True
        value = env.get(name)
        if value is not None and (value != "" or default is None):
            out.append(value)
        elif default is not None:
            out.append(default)  # like the shell's ${NAME:-default}: unset or empty
        else:
            raise EnvVarError(
                f"environment variable {name} is not set",
                f"export {name}=... or write ${{{name}:-default}}",
            )
    out.append(text[position:])
    return Expanded("".join(out), used_env=used)


@dataclass
class TreeExpansion:
    data: Any
    from_env: set[PathKey] = field(default_factory=set)  # paths whose value was filled in
    errors: list[tuple[PathKey, EnvVarError]] = field(default_factory=list)


def expand_tree(data: Any, env: Mapping[str, str]) -> TreeExpansion:
    """Expand every string value (not keys) in parsed YAML; collect errors instead of raising.

    A value that fails keeps its text as written, and its path is in `errors`.
    """
    result = TreeExpansion(data=None)
    result.data = _walk(data, (), env, result)
    return result


def _walk(value: Any, path: PathKey, env: Mapping[str, str], result: TreeExpansion) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, (*path, k), env, result) for k, v in value.items()}
    if isinstance(value, list):
        return [  # a long list of plain text (an audience) is kept as it is, item by item
            v if isinstance(v, str) and "$" not in v else _walk(v, (*path, i), env, result)
            for i, v in enumerate(value)
        ]
    if not isinstance(value, str):
        return value
    try:
        expanded = expand(value, env)
    except EnvVarError as exc:
        result.errors.append((path, exc))
        return value
    if expanded.used_env:
        result.from_env.add(path)
    return expanded.text
