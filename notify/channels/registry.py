"""Channel types, found through the `notify.channels` entry point group.

The built-in types register there too (pyproject.toml). When notify runs from a source tree that
was never installed, the built-ins are still found through BUILTIN_TYPES. Nothing is imported until
a config is loaded or `channels --types` asks, so `notify --help` stays fast.
"""

from __future__ import annotations

import importlib
import warnings
from dataclasses import dataclass
from importlib.metadata import entry_points

from notify.channels.base import Channel

GROUP = "notify.channels"

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
}


class PluginWarning(UserWarning):
    """A plugin failed to load; the other types still work."""


@dataclass(frozen=True)
class ChannelType:
    name: str
    cls: type[Channel]
    source: str  # "built-in", or the distribution that registered it ("notify-pagerduty 0.1")


def _load(target: str) -> type[Channel]:
    module_name, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module_name), attr)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise TypeError(f"{target} is not a notify Channel subclass")
    return cls


_cache: dict[str, ChannelType] | None = None
_problems: list[str] = []


def channel_types() -> dict[str, ChannelType]:
    """Every installed channel type by name. A plugin that fails to import is skipped with a
    PluginWarning naming it (and recorded in `problems()`), so one broken plugin breaks nothing."""
    global _cache
    if _cache is not None:
        return _cache
    found: dict[str, ChannelType] = {}
    for name, target in BUILTIN_TYPES.items():
        try:
            found[name] = ChannelType(name, _load(target), "built-in")
        except Exception as exc:  # a broken built-in is a bug, but report it like a plugin
            _report(f"built-in channel type {name!r} failed to load: {exc}")
    for ep in entry_points(group=GROUP):
        dist = ep.dist
        dist_name = dist.metadata["Name"] if dist is not None else "unknown package"
        if dist_name == "notify" and ep.name in found:
            continue  # a built-in, already loaded from BUILTIN_TYPES
        try:
            cls = ep.load()
            if not (isinstance(cls, type) and issubclass(cls, Channel)):
                raise TypeError(f"{ep.value} is not a notify Channel subclass")
        except Exception as exc:
            _report(f"channel plugin {ep.name!r} from {dist_name} failed to load: {exc}")
            continue
        version = dist.version if dist is not None else ""
        found[ep.name] = ChannelType(ep.name, cls, f"{dist_name} {version}".strip())
    _cache = found
    return found


def _report(problem: str) -> None:
    _problems.append(problem)
    warnings.warn(problem, PluginWarning, stacklevel=3)


def problems() -> list[str]:
    """Load failures seen by `channel_types()`."""
    channel_types()
    return list(_problems)


def reset() -> None:
    """Forget loaded types (tests that install a plugin mid-session)."""
    global _cache
    _cache = None
    _problems.clear()
