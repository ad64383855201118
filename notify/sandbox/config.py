"""The one generator of a channels.yaml whose channels point at a sandbox.

`notify demo`, `notify sandbox`, the tests and the benchmarks all write their configs with it;
what differs between them (which channels, their names, senders and recipients, rate limits,
concurrency, audience files, top-level settings) is a parameter. Each emulator declares the
channel entries that talk to it (`Emulator.channels`), so nothing here knows a provider.

    channels = {"customers-sms": channel("twilio", sb, to="customers.csv", rate_limit="10/s")}
    text = config_text(channels, timezone="UTC")
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from notify.sandbox.credentials import Credentials

__all__ = [
    "ORGANIZATION",
    "SandboxAddress",
    "SandboxLike",
    "channel",
    "config_text",
    "every_channel",
    "voice_channel",
]

ORGANIZATION: Mapping[str, str] = {
    "name": "Acme Cloud",
    "status_url": "https://status.acme.example",
}


class SandboxLike(Protocol):
    """Where a sandbox serves: a running `Sandbox`, or a `SandboxAddress`."""

    @property
    def url(self) -> str: ...
    @property
    def smtp_host(self) -> str: ...
    @property
    def smtp_port(self) -> int: ...
    @property
    def credentials(self) -> Credentials: ...


@dataclass(frozen=True)
class SandboxAddress:
    """The addresses of a sandbox serving in another process (as the benchmarks run it)."""

    url: str
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 0
    credentials: Credentials = field(default_factory=Credentials)


def offered(where: SandboxLike) -> dict[str, dict[str, Any]]:
    """Every channel entry the sandbox offers, by short name: "email" (SMTP) first, then those
    of each installed emulator, in the registry's order."""
    from notify.sandbox.core.smtp import channels as smtp_channels
    from notify.sandbox.registry import load_emulators

    entries = smtp_channels(where.smtp_host, where.smtp_port, where.credentials)
    for cls in load_emulators()[0].values():
        entries.update(cls.channels(where.url, where.credentials))
    return entries


def channel(
    provider: str,
    where: SandboxLike,
    *,
    variant: str | None = None,
    sender: str | None = None,
    to: str | Sequence[str] | None = None,
    **settings: Any,
) -> dict[str, Any]:
    """One channel pointed at `where`: the entry `provider`'s emulator offers ("smtp" for mail
    over SMTP), its `variant` (e.g. "slack-webhook") or else its usual one; `sender` (`from:`)
    and `to` take the places of its samples, and `settings` follow (None removes a setting)."""
    if provider == "smtp":
        from notify.sandbox.core.smtp import channels as smtp_channels

        entries = smtp_channels(where.smtp_host, where.smtp_port, where.credentials)
    else:
        from notify.sandbox.registry import emulator_class

        cls = emulator_class(provider)
        if cls is None:
            raise ValueError(f"the {provider} emulator is not installed")
        entries = cls.channels(where.url, where.credentials)
    if variant is not None and variant not in entries:
        raise ValueError(f"{provider} offers {', '.join(entries)}, not {variant!r}")
    settings_out = dict(entries[variant] if variant else next(iter(entries.values())))
    changes = {"from": sender, "to": list(to) if isinstance(to, list | tuple) else to}
    settings_out.update({k: v for k, v in changes.items() if v is not None})
    for key, value in settings.items():
        if value is None:
            settings_out.pop(key, None)
        else:
            settings_out[key] = value
    return settings_out


def voice_channel(
    where: SandboxLike, *, site: str, callback_sms: str, **settings: Any
) -> dict[str, Any]:
    """A `voice` channel (the support line) on the Twilio emulator's number. It names two other
    channels, `site` (serves its call script) and `callback_sms` (texts the callers back), so
    it is not among the entries `every_channel` prefixes; `settings` follow (None removes)."""
    from notify.sandbox.twilio import TwilioEmulator
    from notify.sandbox.twilio_voice import SANDBOX_NUMBER

    entry: dict[str, Any] = {
        "type": "voice",
        "base_url": TwilioEmulator.base_url(where.url),
        "account_sid": where.credentials.twilio_account_sid,
        "auth_token": where.credentials.twilio_auth_token,
        "number": SANDBOX_NUMBER,
        "site": site,
        "callback_sms": callback_sms,
        "connect_to": "+15005550010",
    }
    for key, value in settings.items():
        if value is None:
            entry.pop(key, None)
        else:
            entry[key] = value
    return entry


def every_channel(where: SandboxLike, *, prefix: str = "sandbox-") -> dict[str, dict[str, Any]]:
    """One channel for every entry the sandbox offers, named `prefix` + its short name."""
    return {f"{prefix}{name}": entry for name, entry in offered(where).items()}


def config_text(
    channels: Mapping[str, Mapping[str, Any]],
    *,
    organization: Mapping[str, Any] = ORGANIZATION,
    groups: Mapping[str, Sequence[str]] | None = None,
    **settings: Any,
) -> str:
    """A channels.yaml: version 1, the organization, `settings` (timezone, journal, templates...;
    None leaves one out), the channels, and the groups."""
    document: dict[str, Any] = {"version": 1, "organization": organization}
    document.update(settings)
    document["channels"] = channels
    document["groups"] = groups
    return "".join(f"{line}\n" for line in _block(document, 0))


# -- YAML, written as a person would: nested mappings as blocks, lists on one line, a string
# quoted only where a plain one would not read back as that same string --------------------------

_PLAIN = re.compile(r"[A-Za-z0-9./][A-Za-z0-9 ._/:?=@+%~-]*")


def _block(mapping: Mapping[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, value in mapping.items():
        if value is None:
            continue
        if isinstance(value, Mapping) and value:
            lines.append(f"{pad}{key}:")
            lines.extend(_block(value, indent + 2))
        else:
            lines.append(f"{pad}{key}: {_inline(value)}")
    return lines


def _inline(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_inline(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to channels.yaml: {value!r}")


def _string(text: str) -> str:
    plain = (
        _PLAIN.fullmatch(text) is not None
        and not text.endswith((" ", ":"))
        and ": " not in text
        and _reads_as_string(text)
    )
    return text if plain else json.dumps(text, ensure_ascii=False)


def _reads_as_string(text: str) -> bool:
    """False for what YAML would read as a number, a boolean, a date or null ("+1415...")."""
    import yaml

    tag = _resolver().resolve(yaml.ScalarNode, text, (True, False))
    return bool(tag == "tag:yaml.org,2002:str")


@functools.cache
def _resolver() -> Any:
    import yaml

    return yaml.resolver.Resolver()
