"""One `channels:` entry -> a validated ChannelConfig with its adapter built."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from notify import secrets
from notify.audience import address_column, is_audience_path, load_audience
from notify.channels.base import Channel, Field, Recipient, Settings, register_values
from notify.channels.registry import ChannelType, channel_types_for
from notify.config.fields import FieldProblem, coerce, describe
from notify.config.model import ChannelConfig, RateLimit
from notify.config.problems import Problems, suggest
from notify.config.yamlsource import PathKey

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
NAME_HINT = "use letters, digits, '-', '_' and '.', starting with a letter or digit"

# Keys that hold credentials in every provider we know: when a channel's type is unknown we
# cannot read its declaration, so these are treated as secret to keep them out of messages.
_SECRET_LOOKING = re.compile(r"token|secret|password|passwd|key|sid|credential", re.I)

# Lower bounds on the common numeric settings: (minimum, whether the minimum itself is allowed).
_BOUNDS: dict[str, tuple[float, bool, str]] = {
    "concurrency": (1, True, "at least 1"),
    "timeout": (0, False, "more than 0 seconds"),
    "retries": (0, True, "0 or more"),
}


def check_channels(
    data: dict[str, Any], problems: Problems, base_dir: Path | None = None
) -> dict[str, ChannelConfig]:
    """Validate `channels:`; every channel that has no problem comes back, in file order.

    `base_dir` is the config's folder: audience files named by `to:` are relative to it.
    """
    folder = base_dir if base_dir is not None else Path(problems.source.name).parent
    path: PathKey = ("channels",)
    raw = data.get("channels")
    if raw is None:
        problems.add(
            path,
            "no channels are configured",
            "add a `channels:` mapping with at least one channel (`notify init` writes a starter)",
            order=float("inf"),
        )
        return {}
    if not isinstance(raw, dict):
        problems.add(path, f"expected a mapping of channel names, got {describe(raw)}", _SHAPE)
        return {}
    if not raw:
        problems.add(path, "no channels are configured", "add at least one channel under it")
    types = channel_types_for(b.get("type") for b in raw.values() if isinstance(b, dict))
    result: dict[str, ChannelConfig] = {}
    for name, body in raw.items():
        config = _check_channel(name, body, types, problems, folder)
        if config is not None:
            result[name] = config
    return result


_RATE_HINT = "write it like 10/s, 600/min or 1000/h"
_SHAPE = "write each channel as `name:` with `type: ...` and its settings indented under it"


def _check_channel(
    name: str, body: Any, types: dict[str, ChannelType], problems: Problems, folder: Path
) -> ChannelConfig | None:
    path: PathKey = ("channels", name)
    before = problems.count()
    if not NAME_PATTERN.match(name):
        problems.add(path, f"'{name}' is not a valid channel name", NAME_HINT)
    if not isinstance(body, dict):
        problems.add(path, f"expected the channel's settings, got {describe(body)}", _SHAPE)
        return None
    for value in body.values():  # the password inside any URL
        if isinstance(value, str):
            secrets.register_url(value)
    kind = _channel_type(body, path, types, problems)
    if kind is None:
        for key, value in body.items():
            if _SECRET_LOOKING.search(key):
                register_values(value)
        return None
    fields = kind.cls.spec.declared_fields()
    for key, declared in fields.items():  # before any problem is worded
        if declared.secret and key in body:
            register_values(body[key])
    for key in body:
        if key not in fields:
            problems.add(
                (*path, key),
                f"unknown key '{key}' for a {kind.name} channel",
                suggest(key, fields, "keys"),
            )
    given = {key: _value(declared, body, path, problems) for key, declared in fields.items()}
    for key, declared in fields.items():  # `path` settings are relative to channels.yaml
        if declared.kind == "path" and isinstance(given.get(key), str) and given[key].strip():
            given[key] = os.path.abspath(folder / Path(given[key].strip()).expanduser())
    settings = Settings.build(fields.values(), given)  # defaults filled in, here only
    common = _common(settings, path, problems)
    if problems.count() > before:
        return None  # the adapter would only repeat what is already reported
    channel = _build(name, kind, settings, path, problems, folder)
    if channel is None or problems.count() > before:
        return None
    return ChannelConfig(
        name=name,
        type=kind.name,
        adapter=channel,
        line=problems.source.line(path),
        source=kind.source,
        **common,
    )


def _channel_type(
    body: dict[str, Any], path: PathKey, types: dict[str, ChannelType], problems: Problems
) -> ChannelType | None:
    value = body.get("type")
    names = sorted(types)
    if value is None:
        problems.add(
            (*path, "type"),
            "missing required key 'type'",
            f"add `type: ...`, one of: {', '.join(names)}",
            order=problems.after(path),
        )
        return None
    if not isinstance(value, str):
        problems.add((*path, "type"), f"expected a type name, got {describe(value)}", None)
        return None
    if value not in types:
        problems.add(
            (*path, "type"),
            f"unknown channel type '{value}'",
            suggest(value, names, "types (`notify channels --types`)"),
        )
        return None
    return types[value]


def _value(declared: Field, body: dict[str, Any], path: PathKey, problems: Problems) -> Any:
    """The value given for `declared`, typed; None when it is missing (its default then holds)
    or wrong (reported)."""
    field_path = (*path, declared.name)
    value = body.get(declared.name)
    if value == "" and declared.required:
        hint = "export the variable with a value" if field_path in problems.from_env else None
        problems.add(field_path, f"'{declared.name}' is empty", hint or _add(declared))
        return None
    if value is None:
        if declared.required:
            order = problems.after(path)
            message = f"missing required key '{declared.name}'"
            problems.add(field_path, message, _add(declared), order=order)
        return None
    if declared.name == "rate_limit" and not isinstance(value, str):
        problems.add(field_path, f"expected a rate, got {describe(value)}", _RATE_HINT)
        return None
    try:
        return coerce(declared, value, from_env=field_path in problems.from_env)
    except FieldProblem as problem:
        at = field_path if problem.index is None else (*field_path, problem.index)
        problems.add(at, problem.message, problem.hint)
        return None


def _add(declared: Field) -> str:
    text = f"add `{declared.name}: ...`"
    return f"{text} ({declared.help})" if declared.help else text


def _common(settings: Settings, path: PathKey, problems: Problems) -> dict[str, Any]:
    """The settings the dispatcher reads, typed for ChannelConfig."""
    common: dict[str, Any] = {}
    for key, (minimum, inclusive, words) in _BOUNDS.items():
        value = settings.get(key)
        if value is None or value == "auto":  # `concurrency: auto`: ChannelConfig's None
            continue
        if value < minimum or (value == minimum and not inclusive):
            problems.add((*path, key), f"{key} must be {words}, got {value}", f"set {key}: {words}")
        common[key] = value
    rate = settings.get("rate_limit")
    if isinstance(rate, str):
        try:
            common["rate_limit"] = RateLimit.parse(rate)
        except ValueError as exc:
            problems.add((*path, "rate_limit"), str(exc), _RATE_HINT)
    for key in ("enabled", "fallback", "description", "overflow"):
        if settings.get(key) is not None:
            common[key] = settings[key]
    return common


def _build(
    name: str,
    kind: ChannelType,
    settings: Settings,
    path: PathKey,
    problems: Problems,
    folder: Path,
) -> Channel | None:
    try:
        channel = kind.cls(name, settings)
    except ValueError as exc:
        problems.add(path, f"the {kind.name} channel rejects its settings: {exc}", None)
        return None
    for key, message in channel.validate():
        problems.add((*path, key), message)
    to = settings.get("to")
    if not channel.spec.per_recipient:
        return channel
    if is_audience_path(to):
        _audience(channel, str(to), path, problems, folder)
    elif isinstance(to, list | str):
        for index, address in enumerate([to] if isinstance(to, str) else to):
            problem = channel.validate_recipient(Recipient(address=str(address)))
            if problem:
                problems.add(
                    (*path, "to", index) if isinstance(to, list) else (*path, "to"), problem
                )
    return channel


def _audience(channel: Channel, to: str, path: PathKey, problems: Problems, folder: Path) -> None:
    """Check every row of the audience file `to` names, streaming; the channel's `to` becomes an
    Audience that reads the file again, row by row, whenever the channel lists its recipients."""

    def check(address: str, row: dict[str, Any]) -> str | None:
        return channel.validate_recipient(Recipient(address=address, fields=row))

    file = folder / Path(to.strip()).expanduser()
    if not file.is_file():
        problems.add(
            (*path, "to"),
            f"audience file '{to}' not found (looked for {file.resolve()})",
            "fix the path: it is relative to this config file",
        )
        return
    audience, errors = load_audience(
        file,
        str(file),
        channel=channel.name,
        column=address_column(channel.spec.type),
        check=check,
        skip_invalid=channel.settings.skip_invalid,
    )
    order = problems.source.line((*path, "to")) or 0
    for error in errors:  # they name the audience file, row and column, not the config's line
        problems.found.append((order, error))
    channel.settings = channel.settings.replace(to=audience)
