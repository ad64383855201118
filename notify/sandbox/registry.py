"""Which provider emulators the sandbox serves: one module each, listed here by the path it takes.

Adding one is a module under notify/sandbox/ with an `Emulator` subclass, and a line below; a
big one keeps its request rules in a module beside it (discord_body.py, telegram_markup.py,
bluesky_lexicon.py), so each stays readable.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notify.sandbox.core.emulator import Emulator

__all__ = ["EMULATORS", "check_provider", "emulator_class", "load_emulators"]

# provider (the first path segment) -> "module:Class"; this order is the order `notify sandbox`
# lists their channels in.
EMULATORS: dict[str, str] = {
    "sendgrid": "notify.sandbox.sendgrid:SendgridEmulator",
    "twilio": "notify.sandbox.twilio:TwilioEmulator",
    "slack": "notify.sandbox.slack:SlackEmulator",
    "teams": "notify.sandbox.teams:TeamsEmulator",
    "discord": "notify.sandbox.discord:DiscordEmulator",
    "telegram": "notify.sandbox.telegram:TelegramEmulator",
    "mastodon": "notify.sandbox.mastodon:MastodonEmulator",
    "bluesky": "notify.sandbox.bluesky:BlueskyEmulator",
    "x": "notify.sandbox.x:XEmulator",
    "webhook": "notify.sandbox.webhook:WebhookEmulator",
    "statuspage": "notify.sandbox.statuspage:StatuspageEmulator",
    "site": "notify.sandbox.sitehost:SiteHostEmulator",
    "example": "notify.sandbox.sitehost:ExamplePageEmulator",
}


def check_provider(provider: str) -> None:
    """ValueError unless `provider` is one the sandbox knows."""
    if provider not in EMULATORS:
        raise ValueError(f"unknown provider {provider!r}; one of: {', '.join(EMULATORS)}")


def emulator_class(provider: str) -> type[Emulator] | None:
    """The emulator of `provider`; None when its module is not installed (yet)."""
    check_provider(provider)
    module_name, _, attr = EMULATORS[provider].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    cls: type[Emulator] = getattr(module, attr)
    return cls


def load_emulators() -> tuple[dict[str, type[Emulator]], list[str]]:
    """Every installed emulator by provider, and the providers whose module is missing."""
    found: dict[str, type[Emulator]] = {}
    missing: list[str] = []
    for provider in EMULATORS:
        cls = emulator_class(provider)
        if cls is None:
            missing.append(provider)
        else:
            found[provider] = cls
    return found, missing
