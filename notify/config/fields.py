"""One channel setting's value checked against its `Field` declaration, typed on the way.

Messages never include the value of a secret field; YAML's own typing mistakes (an unquoted
phone number read as a number, `no` read as false) get a hint to quote the value.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from notify.channels.base import Field

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


class FieldProblem(ValueError):
    """What is wrong with a value and how to fix it; `index` points into a list value."""

    def __init__(self, message: str, hint: str, index: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.index = index


def describe(value: Any) -> str:
    """What YAML made of a value, in words ("a number", "true/false", ...)."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__  # dates and timestamps


def coerce(spec: Field, value: Any, *, from_env: bool = False) -> Any:
    """`value` typed per `spec.kind`, or FieldProblem.

    Values filled in from the environment are always text, so for them "8080" is accepted where
    a number is expected (and "true" where a flag is).
    """
    kind = spec.kind
    if kind in ("str", "url", "path"):
        text = _text(spec, value)
        if kind == "url":
            _check_url(spec, text)
        return _choice(spec, text)
    if kind == "str_or_list":
        if isinstance(value, list):
            return [_text(spec, item, index=i) for i, item in enumerate(value)]
        return _text(spec, value)
    if kind == "int":
        return _number(spec, value, int, "a whole number", from_env)
    if kind == "int_or_auto":
        return _int_or_auto(spec, value, from_env)
    if kind == "float":
        return float(_number(spec, value, float, "a number", from_env))
    if kind == "bool":
        return _flag(spec, value, from_env)
    if kind == "list":
        if not isinstance(value, list):
            raise FieldProblem(f"expected a list, got {describe(value)}", _example(spec, "[a, b]"))
        return list(value)
    if kind == "dict":
        if not isinstance(value, dict):
            raise FieldProblem(
                f"expected a mapping, got {describe(value)}", "write `key: value` lines under it"
            )
        return dict(value)
    return value  # an unknown kind from a plugin: passed through unchecked


def _example(spec: Field, shape: str) -> str:
    return f"write it like {spec.name}: {shape}" + (f" ({spec.help})" if spec.help else "")


def _text(spec: Field, value: Any, index: int | None = None) -> str:
    if isinstance(value, str):
        return value
    got = describe(value)
    if isinstance(value, bool):
        hint = "quote it: YAML reads yes/no/on/off/true/false unquoted as true/false"
    elif isinstance(value, int | float):
        hint = f'quote it ({spec.name}: "..."): YAML reads bare digits as a number, dropping a +'
    elif value is None:
        hint = "give it a value, or remove the line"
    else:
        hint = _example(spec, '"text"')
    raise FieldProblem(f"expected text, got {got}", hint, index)


def _choice(spec: Field, text: str) -> str:
    if spec.choices and text not in spec.choices:
        shown = "this value" if spec.secret else f"'{text}'"
        raise FieldProblem(
            f"{shown} is not one of {', '.join(spec.choices)}",
            f"use one of: {', '.join(spec.choices)}",
        )
    return text


def _check_url(spec: Field, text: str) -> None:
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and parts.netloc:
        return
    shown = "this value" if spec.secret else f"'{text}'"
    raise FieldProblem(
        f"{shown} is not an http(s) URL", "write the full URL, starting with https://"
    )


def _number(spec: Field, value: Any, kind: type, words: str, from_env: bool) -> Any:
    if from_env and isinstance(value, str):
        try:
            return kind(value.strip())
        except ValueError:
            raise FieldProblem(
                f"expected {words}, got text from the environment",
                f"set the variable to {words}",
            ) from None
    ok = isinstance(value, int) or (kind is float and isinstance(value, float))
    if isinstance(value, bool) or not ok:
        hint = "remove the quotes" if _parses(kind, value) else _example(spec, "3")
        raise FieldProblem(f"expected {words}, got {describe(value)}", hint)
    return value


def _int_or_auto(spec: Field, value: Any, from_env: bool) -> int | str:
    """A whole number, or the word `auto` (any case)."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return "auto"
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if from_env and isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    got = "text from the environment" if from_env else describe(value)
    hint = (
        "remove the quotes"
        if _parses(int, value) and not from_env
        else f"write it like {spec.name}: auto, or a whole number like {spec.name}: 8"
    )
    raise FieldProblem(f"expected a whole number or auto, got {got}", hint)


def _parses(kind: type, value: Any) -> bool:
    """Quoted digits ("587"): the fix is to drop the quotes; other text needs a number."""
    if not isinstance(value, str):
        return False
    try:
        kind(value.strip())
    except ValueError:
        return False
    return True


def _flag(spec: Field, value: Any, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise FieldProblem(f"expected true or false, got {describe(value)}", "write true or false")
