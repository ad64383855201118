"""Typed settings that channels.yaml is validated into, once, at the edge."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from notify.model import Component, Workspace

if TYPE_CHECKING:
    from notify.channels.base import Channel
    from notify.config.schedule import Schedule


@dataclass(frozen=True)
class RateLimit:
    """`N/s`, `N/min` or `N/h`: `count` requests per `period` seconds."""

    count: float
    period: float
    text: str

    @property
    def per_second(self) -> float:
        return self.count / self.period

    _PATTERN: ClassVar[re.Pattern[str]] = re.compile(
        r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$"
    )
    _PERIODS: ClassVar[dict[str, int]] = {
        "s": 1,
        "sec": 1,
        "second": 1,
        "m": 60,
        "min": 60,
        "minute": 60,
    }

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """Raise ValueError (with how to write it) for anything but N/s, N/min, N/h."""
        match = cls._PATTERN.match(str(text))
        if not match or float(match.group(1)) <= 0:
            raise ValueError(f"rate_limit {text!r} is not like 10/s, 600/min or 1000/h")
        unit = match.group(2)
        period = cls._PERIODS.get(unit, 3600)
        return cls(count=float(match.group(1)), period=float(period), text=str(text).strip())


@dataclass
class ChannelConfig:
    """One validated channel: the adapter instance plus where its settings came from."""

    name: str
    type: str
    adapter: Channel  # built from the validated settings
    enabled: bool = True
    rate_limit: RateLimit | None = None
    concurrency: int | None = None  # at most this many requests in flight; None: `auto`
    timeout: float = 15.0
    retries: int = 3
    fallback: str | None = None
    description: str = ""
    overflow: str = "error"  # "error" | "truncate"
    line: int | None = None  # line of the channel's entry in channels.yaml
    source: str = ""  # where the type came from (entry point's distribution)


@dataclass
class Config:
    """channels.yaml, validated."""

    path: Path | None  # None for the embedded demo config
    organization: dict[str, Any]
    journal_path: Path | str  # a file (SQLite), or a URL kept as written: postgresql://...
    template_dirs: list[Path]  # searched in order; the shipped templates are always last
    channels: dict[str, ChannelConfig]
    groups: dict[str, list[str]] = field(default_factory=dict)
    timezone: str = "UTC"  # times in templates are shown in this zone (IANA name)
    version: int = 1
    components: list[Component] = field(default_factory=list)  # `components:`, in file order
    schedule: Schedule | None = None  # `schedule:`: what `notify tick` does

    def workspace(self) -> Workspace:
        """What adapters that publish whole pages get besides their own settings."""
        return Workspace(
            organization=dict(self.organization),
            timezone=self.timezone,
            components=tuple(self.components),
            template_dirs=tuple(self.template_dirs),
        )

    def enabled_of_type(self, channel_type: str) -> list[ChannelConfig]:
        """The enabled channels of one type (the support lines: "voice"), in config order."""
        return [c for c in self.channels.values() if c.type == channel_type and c.enabled]

    def select(self, names: list[str] | None) -> list[ChannelConfig]:
        """Channels named directly or through groups (in config order); all enabled ones if none.

        A group stands for its enabled members: `enabled: false` keeps a channel out of every
        group it is in. Naming a disabled channel itself is a deliberate choice and selects it.
        Raises KeyError(name) for a name that is neither a channel nor a group.
        """
        if not names:
            return [c for c in self.channels.values() if c.enabled]
        chosen: set[str] = set()
        for name in names:
            if name in self.groups:
                members = (self.channels.get(m) for m in self.groups[name])
                chosen.update(m.name for m in members if m is not None and m.enabled)
            elif name in self.channels:
                chosen.add(name)
            else:
                raise KeyError(name)
        return [c for n, c in self.channels.items() if n in chosen]
