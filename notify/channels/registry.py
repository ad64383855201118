"""Channel types, found through the `notify.channels` entry point group.

The built-in types register there too (pyproject.toml). When notify runs from a source tree that
was never installed, the built-ins are still found through BUILTIN_TYPES. Nothing is imported until
a config is loaded or `channels --types` asks, so `notify --help` stays fast.

A plugin that cannot be used (it fails to import, is not a Channel subclass, or claims a name that
is taken) is skipped with one PluginWarning naming it and its package, and recorded in
`problems()`: one broken plugin must not stop an incident update going out on every other channel.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from notify.channels.base import Channel, ChannelSpec

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "notify.channels"
BUILTIN = "built-in"
OWN_DISTRIBUTION = "notify"  # whose entry points are the built-ins

BUILTIN_TYPES: dict[str, str] = {
    "email": "notify.channels.email:EmailChannel",
    "sms": "notify.channels.sms:SmsChannel",
    "slack": "notify.channels.slack:SlackChannel",
    "teams": "notify.channels.teams:TeamsChannel",
    "discord": "notify.channels.discord:DiscordChannel",
    "telegram": "notify.channels.telegram:TelegramChannel",
    "mastodon": "notify.channels.mastodon:MastodonChannel",
    "bluesky": "notify.channels.bluesky:BlueskyChannel",
    "x": "notify.channels.x:XChannel",
    "webhook": "notify.channels.webhook:WebhookChannel",
    "site": "notify.channels.site:SiteChannel",
    "statuspage": "notify.channels.statuspage:StatuspageChannel",
    "voice": "notify.channels.voice:VoiceChannel",
}


class PluginWarning(UserWarning):
    """A plugin failed to load; the other types still work."""


@dataclass(frozen=True)
class ChannelType:
    name: str
    cls: type[Channel]
    source: str  # "built-in", or the distribution that registered it ("notify-pagerduty 0.1.0")


@dataclass(frozen=True)
class LoadProblem:
    """A channel type that could not be used, and why."""

    type: str  # the name it was registered under
    source: str  # "notify-broken 0.3.0", or "built-in"
    error: str  # what went wrong, one line ("ImportError: No module named 'pdpyras'")

    @property
    def message(self) -> str:
        what = "built-in channel type" if self.source == BUILTIN else "channel plugin"
        origin = "" if self.source == BUILTIN else f" from {self.source}"
        return f"{what} {self.type!r}{origin} failed to load: {self.error} (the other types work)"

    def to_json(self) -> dict[str, str]:
        return {"type": self.type, "source": self.source, "error": self.error}


class _Unusable(Exception):
    """Raised inside the loader for a plugin that imported but cannot serve as its type."""


_cache: dict[str, ChannelType] | None = None
_builtin_cache: dict[str, ChannelType] = {}  # built-ins imported one by one (channel_types_for)
_problems: list[LoadProblem] = []


def channel_types() -> dict[str, ChannelType]:
    """Every usable channel type by name. Each unusable plugin is skipped with one PluginWarning
    naming it and its package (and recorded in `problems()`), so one broken plugin breaks nothing.
    """
    global _cache
    if _cache is not None:
        return _cache
    found: dict[str, ChannelType] = {}
    for name, target in BUILTIN_TYPES.items():
        try:
            found[name] = ChannelType(name, _checked(name, _import(target)), BUILTIN)
        except Exception as exc:  # a broken built-in is a bug, but report it like a plugin
            _report(LoadProblem(name, BUILTIN, _describe(exc)))
    for ep in entry_points(group=GROUP):
        dist_name, source = _source(ep)
        if dist_name == OWN_DISTRIBUTION and ep.name in BUILTIN_TYPES:
            continue  # a built-in, already loaded (or reported) from BUILTIN_TYPES
        if ep.name in found:
            taken = found[ep.name].source
            error = f"the name is taken by {taken}: register the type under another name"
            _report(LoadProblem(ep.name, source, error))
            continue
        try:
            cls = _checked(ep.name, ep.load())
        except Exception as exc:  # anything a plugin's import can raise
            _report(LoadProblem(ep.name, source, _describe(exc)))
            continue
        found[ep.name] = ChannelType(
            ep.name, cls, BUILTIN if dist_name == OWN_DISTRIBUTION else source
        )
    _cache = found
    return found


def entry_points(group: str) -> list[EntryPoint]:
    """The installed entry points of `group`. importlib.metadata is imported here, not at the
    top: it costs ~18 ms, which a config of built-in types never needs."""
    from importlib.metadata import entry_points as installed

    return list(installed(group=group))


def channel_types_for(names: Iterable[object]) -> dict[str, ChannelType]:
    """The types a config names. When every name is a built-in, only those adapters are imported
    and no package metadata is read (a per-minute `notify tick` pays for nothing else); any other
    name (a plugin, a typo that wants suggestions) loads them all, as `channel_types()`."""
    wanted = {n for n in names if isinstance(n, str)}
    if _cache is not None or not wanted <= BUILTIN_TYPES.keys():
        return channel_types()
    found: dict[str, ChannelType] = {}
    for name in sorted(wanted):
        if name not in _builtin_cache:
            try:
                cls = _checked(name, _import(BUILTIN_TYPES[name]))
            except Exception:  # reported, like a plugin, by the full load
                return channel_types()
            _builtin_cache[name] = ChannelType(name, cls, BUILTIN)
        found[name] = _builtin_cache[name]
    return found


def _import(target: str) -> object:
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def _checked(name: str, obj: object) -> type[Channel]:
    """`obj` when it is a Channel subclass declaring the type `name`, else _Unusable."""
    if not (isinstance(obj, type) and issubclass(obj, Channel)):
        raise _Unusable(f"{obj!r} is not a subclass of notify.channels.base.Channel")
    spec = getattr(obj, "spec", None)
    if not isinstance(spec, ChannelSpec):
        raise _Unusable(f"{obj.__name__} has no `spec = ChannelSpec(...)`")
    if spec.type != name:
        # The config, the journal and error messages name the type by spec.type: they must agree.
        raise _Unusable(
            f"{obj.__name__}.spec.type is {spec.type!r}, but its entry point is {name!r}"
        )
    return obj


def _source(ep: EntryPoint) -> tuple[str, str]:
    """(distribution name, "name version") of the package that registered `ep`."""
    dist = ep.dist
    if dist is None:
        return "", "an unknown package"
    name = dist.metadata["Name"] or dist.name
    return name, f"{name} {dist.version}".strip()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, _Unusable):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _report(problem: LoadProblem) -> None:
    _problems.append(problem)
    warnings.warn(problem.message, PluginWarning, stacklevel=3)


def problems() -> list[LoadProblem]:
    """The channel types `channel_types()` could not load, in the order it met them."""
    channel_types()
    return list(_problems)


def reset() -> None:
    """Forget loaded types (tests that install a plugin mid-session)."""
    global _cache
    _cache = None
    _builtin_cache.clear()
    _problems.clear()
