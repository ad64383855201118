"""channels.yaml -> Config: read, fill in ${VAR}s, validate everything offline, build adapters.

Every problem is collected with its line; the first in file order is raised as an InvalidConfig
(a ConfigError) whose `.problems` lists all of them, for `notify check`.
"""

from __future__ import annotations

import os
import zoneinfo
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notify.config.channelcheck import NAME_HINT, NAME_PATTERN, check_channels
from notify.config.components import check_components
from notify.config.envvars import expand_tree
from notify.config.fields import describe
from notify.config.model import ChannelConfig, Config
from notify.config.problems import Problems, did_you_mean, fail, suggest
from notify.config.schedule import check_schedule
from notify.config.yamlsource import PathKey, parse
from notify.errors import ConfigError, Location
from notify.journal.locations import is_url, shown

TOP_KEYS = (
    "version",
    "organization",
    "journal",
    "templates",
    "timezone",
    "components",
    "channels",
    "groups",
    "schedule",
)
DEFAULT_CONFIG = "channels.yaml"
DEFAULT_JOURNAL = Path(".notify") / "journal.db"
_INIT_HINT = "run `notify init` to write a starter channels.yaml, or pass --config FILE"


def resolve_config_path(option: str | None, env: Mapping[str, str] | None = None) -> Path:
    """--config, else $NOTIFY_CONFIG, else ./channels.yaml (existence is load_config's job)."""
    env = os.environ if env is None else env
    return Path(option or env.get("NOTIFY_CONFIG") or DEFAULT_CONFIG).expanduser()


def load_config(
    path: Path, *, journal: str | None = None, env: Mapping[str, str] | None = None
) -> Config:
    """Read and validate the config file at `path`; raise ConfigError (InvalidConfig)."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(
            ConfigError("no config file here", where=Location(file=name), hint=_INIT_HINT)
        ) from None
    except IsADirectoryError:
        raise fail(
            ConfigError(
                "this is a folder, not a config file",
                where=Location(file=name),
                hint=f"pass the file: --config {path / DEFAULT_CONFIG}",
            )
        ) from None
    except OSError as exc:
        raise fail(
            ConfigError(
                f"cannot read the config: {exc.strerror}",
                where=Location(file=name),
                hint="check the file's permissions",
            )
        ) from None
    config = load_config_text(
        _decode(raw, name), name=name, base_dir=path.parent, journal=journal, env=env
    )
    config.path = path
    return config


def _decode(raw: bytes, name: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise fail(
            ConfigError(
                f"byte 0x{raw[exc.start]:02x} is not UTF-8 text",
                where=Location(file=name, line=line),
                hint="save the file as UTF-8 (your editor's encoding setting)",
            )
        ) from None


def load_config_text(
    text: str,
    *,
    name: str,
    base_dir: Path,
    journal: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Validate config text; `name` is what errors call the file, `base_dir` its folder."""
    env = os.environ if env is None else env
    try:
        source = parse(text, name)
    except ConfigError as exc:
        raise fail(exc) from None
    if source.data is None:
        raise fail(
            ConfigError(
                "the config file is empty", where=Location(file=name, line=1), hint=_INIT_HINT
            )
        )
    if not isinstance(source.data, dict):
        raise fail(
            ConfigError(
                f"the config must be a mapping of settings, got {describe(source.data)}",
                where=Location(file=name, line=source.line(())),
                hint="start with `version: 1` and `channels:` at the left margin",
            )
        )
    expansion = expand_tree(source.data, env)
    problems = Problems(source, from_env=expansion.from_env)
    for path, error in expansion.errors:
        problems.add(path, error.message, error.hint)
        problems.skip.add(path)
    data: dict[str, Any] = expansion.data
    config = _validate(data, problems, base_dir, journal, env)
    problems.raise_if_any()
    return config


def _validate(
    data: dict[str, Any],
    problems: Problems,
    base_dir: Path,
    journal: str | None,
    env: Mapping[str, str],
) -> Config:
    for key in data:
        if key not in TOP_KEYS:
            problems.add((key,), f"unknown key '{key}'", suggest(key, TOP_KEYS, "top-level keys"))
    _check_version(data, problems)
    channels = check_channels(data, problems, base_dir)
    names = list(data["channels"]) if isinstance(data.get("channels"), dict) else []
    _check_fallbacks(channels, names, problems)
    _check_references(channels, names, problems)
    return Config(
        path=None,
        organization=_organization(data, problems),
        journal_path=_journal(data, problems, base_dir, journal, env),
        template_dirs=_template_dirs(data, problems, base_dir),
        channels=channels,
        groups=_groups(data, names, problems),
        timezone=_timezone(data, problems),
        version=1,
        components=check_components(data, problems),
        schedule=check_schedule(data, problems, names, _group_names(data)),
    )


def _group_names(data: dict[str, Any]) -> list[str]:
    groups = data.get("groups")
    return [str(name) for name in groups] if isinstance(groups, dict) else []


def _text(data: dict[str, Any], key: str, problems: Problems, path: PathKey = ()) -> str | None:
    """data[key] when it is text; None (reported if present) otherwise."""
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    problems.add((*path, key), f"expected text, got {describe(value)}", "quote the value")
    return None


def _check_version(data: dict[str, Any], problems: Problems) -> None:
    version = data.get("version", 1)
    if version != 1 or isinstance(version, bool):
        problems.add(
            ("version",),
            f"version {version!r} is not supported: this notify reads version 1",
            "write `version: 1` (or upgrade notify if the file was written for a newer one)",
        )


def _organization(data: dict[str, Any], problems: Problems) -> dict[str, Any]:
    org = data.get("organization")
    if org is None:
        return {}
    if not isinstance(org, dict):
        problems.add(
            ("organization",),
            f"expected a mapping, got {describe(org)}",
            "write `name: ...` and `status_url: ...` indented under it",
        )
        return {}
    path: PathKey = ("organization",)
    _text(org, "name", problems, path)
    url = _text(org, "status_url", problems, path)
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.add(
                (*path, "status_url"),
                f"'{url}' is not an http(s) URL",
                "write the full address, like https://status.example.com",
            )
    return dict(org)


def _timezone(data: dict[str, Any], problems: Problems) -> str:
    name = _text(data, "timezone", problems)
    if name is None:
        return "UTC"
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        hint = did_you_mean(name, zoneinfo.available_timezones())
        problems.add(
            ("timezone",),
            f"unknown time zone '{name}'",
            hint or "use an IANA name like UTC, Europe/Paris or America/New_York",
        )
        return "UTC"
    return name


def _template_dirs(data: dict[str, Any], problems: Problems, base_dir: Path) -> list[Path]:
    setting = _text(data, "templates", problems)
    if setting is None:
        default = base_dir / "templates"
        return [default] if default.is_dir() else []
    folder = base_dir / Path(setting).expanduser()
    if not folder.is_dir():
        problems.add(
            ("templates",),
            f"templates folder '{setting}' does not exist (looked in {folder.resolve()})",
            "create it, fix the path (relative to this file), or remove `templates:` "
            "to use the shipped templates",
        )
        return []
    return [folder]


def _journal(
    data: dict[str, Any],
    problems: Problems,
    base_dir: Path,
    override: str | None,
    env: Mapping[str, str],
) -> Path | str:
    """The journal's location: a file path (relative to the config), or a URL such as
    postgresql://user:password@host/db, kept as written (a Path would mangle its //)."""
    setting = _text(data, "journal", problems)  # checked even when overridden
    chosen = override or env.get("NOTIFY_JOURNAL")
    if chosen:
        return _journal_url(chosen) or Path(chosen).expanduser()
    if not setting:
        return base_dir / DEFAULT_JOURNAL
    return _journal_url(setting) or base_dir / Path(setting).expanduser()


def _journal_url(location: str) -> str | None:
    """`location` if it is a `scheme://` URL, its password registered as a secret; else None."""
    if not is_url(location):
        return None
    shown(location)  # registers the password: no output may show it from now on
    return location


def _groups(data: dict[str, Any], channels: list[str], problems: Problems) -> dict[str, list[str]]:
    raw = data.get("groups")
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(
            ("groups",),
            f"expected a mapping, got {describe(raw)}",
            "write `name: [channel, channel]` lines under it",
        )
        return {}
    groups: dict[str, list[str]] = {}
    for name, members in raw.items():
        path: PathKey = ("groups", name)
        if not NAME_PATTERN.match(name):
            problems.add(path, f"'{name}' is not a valid group name", NAME_HINT)
        if name in channels:
            problems.add(
                path,
                f"group '{name}' has the same name as a channel",
                "rename the group or the channel, so `--to` means one thing",
            )
        if not isinstance(members, list) or not members:
            problems.add(
                path, f"group '{name}' needs a list of channels", f"write {name}: [channel, ...]"
            )
            continue
        groups[name] = [m for i, m in enumerate(members) if _member(name, i, m, channels, problems)]
    return groups


def _member(group: str, index: int, member: Any, channels: list[str], problems: Problems) -> bool:
    path: PathKey = ("groups", group, index)
    if member in channels:
        return True
    shown = member if isinstance(member, str) else describe(member)
    problems.add(
        path,
        f"group '{group}' lists '{shown}', which is not a channel",
        suggest(str(member), channels, "channels"),
    )
    return False


def _check_fallbacks(
    channels: dict[str, ChannelConfig], names: list[str], problems: Problems
) -> None:
    for name, config in channels.items():
        target = config.fallback
        path: PathKey = ("channels", name, "fallback")
        if target is None:
            continue
        if target == name:
            problems.add(
                path,
                f"channel '{name}' falls back to itself",
                "name another channel, or remove `fallback:`",
            )
        elif target not in names:
            problems.add(
                path,
                f"fallback '{target}' is not a channel",
                suggest(target, [n for n in names if n != name], "channels"),
            )
    _check_cycles(channels, problems)


def _check_references(
    channels: dict[str, ChannelConfig], names: list[str], problems: Problems
) -> None:
    """Settings that name another channel (`refers_to`: a voice channel's `site`) name one of
    the declared type; the adapter is then handed those channels (`Channel.link`)."""
    for name, config in channels.items():
        adapter = config.adapter
        referenced = {}
        for spec_field in adapter.spec.fields:
            wanted, target = spec_field.refers_to, adapter.settings.get(spec_field.name)
            if wanted is None or not target:
                continue
            path: PathKey = ("channels", name, spec_field.name)
            other = channels.get(str(target))
            if other is None:
                if str(target) not in names:  # a channel with errors of its own is reported there
                    problems.add(
                        path,
                        f"{spec_field.name} '{target}' is not a channel",
                        suggest(str(target), [n for n in names if n != name], "channels"),
                    )
            elif other.type != wanted:
                of_type = [n for n, c in channels.items() if c.type == wanted]
                problems.add(
                    path,
                    f"{spec_field.name} '{target}' is a {other.type} channel, not a {wanted} one",
                    f"name a {wanted} channel"
                    + (f": {', '.join(of_type)}" if of_type else f" (add one with type: {wanted})"),
                )
            else:
                referenced[spec_field.name] = other.adapter
        for field_name, problem in adapter.link(referenced):
            problems.add(("channels", name, field_name), problem)


def _check_cycles(channels: dict[str, ChannelConfig], problems: Problems) -> None:
    # Each cycle is reported once, at its member that comes first in the file.
    reported: set[frozenset[str]] = set()
    for start in channels:
        chain = [start]
        current = channels[start].fallback
        while current in channels and current not in chain and current != start:
            chain.append(current)
            current = channels[current].fallback
        if current != start or len(chain) < 2 or frozenset(chain) in reported:
            continue
        reported.add(frozenset(chain))
        problems.add(
            ("channels", start, "fallback"),
            f"fallback cycle: {' -> '.join([*chain, start])}",
            "a failed delivery would go round forever; remove one of these fallbacks",
        )
