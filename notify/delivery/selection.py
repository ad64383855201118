"""Who an update goes to: the channels --to selects, their fallbacks, and --tag among recipients."""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from notify.errors import InputError

if TYPE_CHECKING:
    from notify.config.model import ChannelConfig, Config
    from notify.model import Recipient


@dataclass(frozen=True, slots=True)
class TagSelection:
    """What --tag left of a per-recipient channel's recipients."""

    type: str
    selected: int
    total: int


def select_channels(config: Config, to: Sequence[str]) -> list[ChannelConfig]:
    """The channels `--to` names (channels or groups); every enabled one when it names none."""
    try:
        selected = config.select(list(to))
    except KeyError as exc:
        names = sorted([*config.channels, *config.groups])
        close = difflib.get_close_matches(str(exc.args[0]), names, n=1)
        guess = f"Did you mean {close[0]!r}? " if close else ""
        raise InputError(
            f"--to {exc.args[0]!r} is neither a channel nor a group",
            hint=guess + f"Configured: {', '.join(names)}.",
        ) from None
    if not selected and to:  # groups stand for their enabled members only
        raise InputError(
            f"no channel selected: every channel of --to {', '.join(to)} is disabled",
            hint="Enable one in channels.yaml (enabled: true), or name a channel with --to.",
        )
    if not selected:
        raise InputError(
            "no channel selected: every channel is disabled",
            hint="Enable one in channels.yaml or name one with --to.",
        )
    return selected


def fallback_channels(selected: Sequence[ChannelConfig], config: Config) -> list[ChannelConfig]:
    """Every channel reachable through fallbacks of the selected ones, and not one of them
    (rendered up front, so a fallback never fails preflight after the first message left)."""
    seen = {c.name for c in selected}
    out: list[ChannelConfig] = []
    queue = list(selected)
    while queue:
        channel = queue.pop(0)
        name = channel.fallback
        if name and name not in seen and name in config.channels:
            seen.add(name)
            target = config.channels[name]
            out.append(target)
            queue.append(target)
    return out


def tagged_recipients(
    recipients: Sequence[Recipient], tags: Collection[str]
) -> tuple[list[Recipient], set[str]]:
    """(the recipients carrying one of `tags`, case-insensitively; every tag seen on the way)."""
    wanted = {t.casefold() for t in tags}
    seen: set[str] = set()
    selected = []
    for recipient in recipients:
        found = recipient.tags
        if found:
            seen |= found
            if any(t.casefold() in wanted for t in found):
                selected.append(recipient)
    return selected, seen


def check_tags(
    tags: Sequence[str], tagged: Mapping[str, TagSelection], tags_seen: Collection[str]
) -> None:
    """A --tag that selects nobody is most likely a typo: say so before anything is sent."""
    if not tags or any(s.selected for s in tagged.values()):
        return
    asked = ", ".join(tags)
    if not tagged:
        raise InputError(
            f"--tag {asked}: no selected channel delivers per recipient (email, sms)",
            hint="Drop --tag, or select an email or SMS channel with --to.",
        )
    known = sorted(tags_seen, key=str.casefold)
    shown = ", ".join(known[:20]) + (f" and {len(known) - 20} more" if len(known) > 20 else "")
    raise InputError(
        f"--tag {asked} matches no recipient",
        hint=f"Tags in use: {shown}." if known else "No recipient has tags: add a tags column.",
    )
