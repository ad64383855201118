"""Command-line values for one update (send / preview), parsed and validated into an UpdateRequest.

Every problem is an InputError naming the option and how to write it correctly.
"""

from __future__ import annotations

import difflib
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from notify.errors import InputError, Location
from notify.model import COMPONENT_STATUSES

IMPACTS = ("none", "minor", "major", "critical")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|min|s)")
_DURATION_UNITS = {"d": 86400, "h": 3600, "m": 60, "min": 60, "s": 1}


@dataclass
class UpdateRequest:
    """Everything the user asked for one update."""

    template: str
    incident: str | None = None
    title: str | None = None
    message: str = ""
    vars: dict[str, Any] = field(default_factory=dict)
    impact: str | None = None
    components: list[str] = field(default_factory=list)  # names, as --component gave them
    # --component NAME=STATUS: the status set explicitly (the others follow from the update)
    component_statuses: dict[str, str] = field(default_factory=dict)
    next_update: timedelta | None = None
    to: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    key: str | None = None
    dry_run: bool = False
    locale: str | None = None
    # --starts / --ends as given: read as times by the draft (the timezone is the config's)
    starts: str | None = None
    ends: str | None = None
    # Set by `notify tick` on the messages it sends beside an incident's updates (reminders,
    # feedback): {"kind", "slot", "for_update"}. They leave the incident as it is.
    scheduled: dict[str, Any] | None = None
    # A sample rendering (`notify check`): any template stands for an update of a made-up
    # incident, so templates that do not open incidents are checked too.
    sample: bool = False


def build_request(
    *,
    template: str,
    incident: str | None = None,
    title: str | None = None,
    message: str | None = None,
    message_file: str | None = None,
    sets: tuple[str, ...] = (),
    vars_file: str | None = None,
    impact: str | None = None,
    components: tuple[str, ...] = (),
    next_update: str | None = None,
    to: tuple[str, ...] = (),
    tags: tuple[str, ...] = (),
    key: str | None = None,
    dry_run: bool = False,
    locale: str | None = None,
    starts: str | None = None,
    ends: str | None = None,
) -> UpdateRequest:
    variables: dict[str, Any] = {}
    if vars_file:
        variables.update(load_vars_file(vars_file))
    for item in sets:
        set_nested(variables, *parse_set(item))
    if impact is not None and impact not in IMPACTS:
        raise InputError(
            f"--impact {impact!r} is not one of {', '.join(IMPACTS)}",
            hint="Use --impact none, minor, major or critical.",
        )
    if incident is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}", incident):
        raise InputError(
            f"--incident {incident!r} is not a valid incident ID",
            hint="Use letters, digits, '.', '_' and '-' (like 2026-11-22-payments-api).",
        )
    if key is not None and not key.strip():
        raise InputError(
            "--key is empty", hint="Give a non-empty key, like the incident ID and update number."
        )
    names, explicit = parse_components(components)
    return UpdateRequest(
        template=template,
        incident=incident,
        title=title.strip() if title else None,
        message=read_message(message, message_file),
        vars=variables,
        impact=impact,
        components=names,
        component_statuses=explicit,
        next_update=parse_duration(next_update) if next_update else None,
        to=list(to),
        tags=list(tags),
        key=key,
        dry_run=dry_run,
        locale=locale,
        starts=starts,
        ends=ends,
    )


def parse_components(given: tuple[str, ...] | list[str]) -> tuple[list[str], dict[str, str]]:
    """--component values: NAME, or NAME=STATUS with one of Statuspage's component statuses.
    Returns the names in order (each once) and the statuses set explicitly."""
    names: list[str] = []
    explicit: dict[str, str] = {}
    for item in given:
        name, sep, status = item.partition("=")
        name, status = name.strip(), status.strip()
        if not name:
            continue
        if sep:
            if status not in COMPONENT_STATUSES:
                close = difflib.get_close_matches(status, COMPONENT_STATUSES, n=1)
                guess = f"Did you mean {close[0]!r}? " if close else ""
                raise InputError(
                    f"--component {item!r}: {status!r} is not a component status",
                    hint=f"{guess}Use NAME or NAME=STATUS, STATUS one of "
                    f"{', '.join(COMPONENT_STATUSES)}.",
                )
            explicit[name] = status
        if name not in names:
            names.append(name)
    return names, explicit


def read_message(message: str | None, message_file: str | None) -> str:
    if message is not None and message_file is not None:
        raise InputError("--message and --message-file both given", hint="Use one of them.")
    if message == "-" or message_file == "-":
        return sys.stdin.read().strip()
    if message_file is not None:
        path = Path(message_file)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(
                f"cannot read --message-file: {exc.strerror}",
                where=Location(file=message_file),
                hint="Check the path.",
            ) from None
        try:
            return data.decode("utf-8").strip()
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise InputError(
                "the message file is not UTF-8 text",
                where=Location(file=message_file, line=line),
                hint="Save it as UTF-8.",
            ) from None
    return (message or "").strip()


def parse_set(item: str) -> tuple[str, str]:
    """`KEY=VALUE` (KEY may be dotted: window.start=...)."""
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep or not _KEY.match(name):
        raise InputError(
            f"--set {item!r} is not KEY=VALUE",
            hint="Write it like --set workaround='Use the mobile app' "
            "(KEY: letters, digits, _ and dots).",
        )
    return name, value


def set_nested(target: dict[str, Any], dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = target
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value


def load_vars_file(path_text: str) -> dict[str, Any]:
    import yaml

    from notify.yamlbounds import AliasBudgetExceeded, safe_load

    path = Path(path_text)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise InputError(
            f"cannot read --vars file: {exc.strerror}",
            where=Location(file=path_text),
            hint="Check the path.",
        ) from None
    except UnicodeDecodeError as exc:
        bad_line = exc.object[: exc.start].count(b"\n") + 1
        raise InputError(
            "the --vars file is not UTF-8 text",
            where=Location(file=path_text, line=bad_line),
            hint="Save it as UTF-8.",
        ) from None
    try:
        data = safe_load(text)
    except AliasBudgetExceeded as exc:
        raise InputError(
            str(exc), where=Location(file=path_text, line=exc.line), hint=exc.hint
        ) from None
    except yaml.YAMLError as exc:
        # At the end of the file, the line that opened the unclosed bracket or quote is the news.
        problem_text = str(getattr(exc, "problem", "") or "")
        at_end = "stream end" in problem_text or "end of stream" in problem_text
        mark = (getattr(exc, "context_mark", None) if at_end else None) or getattr(
            exc, "problem_mark", None
        )
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InputError(
            f"YAML syntax error: {problem}",
            where=Location(file=path_text, line=line),
            hint="Fix the YAML (a mapping of variable names to values).",
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(
            "the --vars file must be a mapping of names to values",
            where=Location(file=path_text, line=1),
            hint="Write it like `workaround: Use the mobile app`.",
        )
    return {str(k): v for k, v in data.items()}


def parse_duration(text: str) -> timedelta:
    """`30m`, `2h`, `1h30m`, `45s`, `1d`. A number without a unit is refused: `30` read as
    minutes by one person is seconds or hours to the next, and the customers see the result."""
    raw = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", raw):
        raise InputError(
            f"--next-update {text!r} has no unit",
            hint=f"Write {raw}m for minutes or {raw}h for hours.",
        )
    pos = 0
    seconds = 0.0
    for match in _DURATION_PART.finditer(raw):
        if raw[pos : match.start()].strip():
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(raw) or seconds <= 0:
        raise InputError(
            f"--next-update {text!r} is not a duration",
            hint="Write it like 30m, 2h, 1h30m or 45s.",
        )
    return timedelta(seconds=seconds)
