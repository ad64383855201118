"""A channel's settings: each one declared once as a `Field`, read as a typed, frozen object.

An adapter declares its settings as data (`ChannelSpec.fields`); validation, `notify check`,
`channels --types` and redaction all read that one declaration. The config loader checks and
types each value against it (notify.config.fields) and hands the adapter a `Settings`: every
declared field present, its default filled in here and nowhere else. Adapters read attributes
(`self.settings.token`, `self.settings.from_` for the `from` key, a keyword in Python); the object
is also a read-only Mapping (`settings.get("token")`, `settings["to"]`), as plugins written
against a plain dict expect.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

FieldKind = Literal[
    "str", "int", "int_or_auto", "float", "bool", "list", "dict", "str_or_list", "url", "path"
]
"""How a setting is typed in channels.yaml. `str_or_list` is a list of strings, or one string
(`to: a@b.c`, or a path to an audience file); `url` is a string starting with http:// or https://;
`path` is a file or folder, written relative to channels.yaml and handed to the adapter absolute;
`int_or_auto` is a whole number or the word `auto`."""

AUTO = "auto"
"""`concurrency: auto` (the default): the dispatcher sizes the requests in flight itself."""
AUTO_CEILING = 64
"""The most requests `auto` keeps in flight on one channel, whatever its rate and latency."""
UNPACED_CONCURRENCY = 8
"""Requests `auto` keeps in flight on a channel without `rate_limit`: enough to move, too few
to flood a provider."""


def max_in_flight(concurrency: int | str | None) -> int:
    """The most requests a channel may have in flight: an explicit number, or `auto`'s ceiling
    (an adapter sizing a connection pool reads this; the dispatcher decides what is used)."""
    if isinstance(concurrency, int) and not isinstance(concurrency, bool):
        return max(1, concurrency)
    return AUTO_CEILING


@dataclass(frozen=True)
class Field:
    """One setting of a channel type, declared once: validation, docs and redaction read it."""

    name: str
    kind: FieldKind = "str"
    required: bool = False
    secret: bool = False  # never printed, logged or journaled
    default: Any = None
    choices: tuple[str, ...] = ()
    help: str = ""  # one line, shown in errors ("how to fix") and `channels --types -v`
    # The name of another channel, which must be of this type (a voice channel's `site`): the
    # config loader checks it and hands the adapter that channel (`Channel.link`).
    refers_to: str | None = None


# Settings every channel takes (CONTRACT.md, "channels.yaml"). `ChannelSpec.declared_fields` adds
# them to each type's own fields; `base_url` only to types whose spec says `http=True`, and
# `skip_invalid` only to per-recipient types.
COMMON_FIELDS: tuple[Field, ...] = (
    Field("type", required=True, help="one of the types `notify channels --types` lists"),
    Field("enabled", "bool", default=True, help="false keeps the channel configured but unused"),
    Field("rate_limit", help="requests per period, like 10/s, 600/min or 1000/h"),
    Field(
        "concurrency",
        "int_or_auto",
        default=AUTO,
        help="requests in flight at once on this channel: auto (sized to rate_limit), or at most N",
    ),
    Field("timeout", "float", default=15.0, help="seconds to wait for one request"),
    Field(
        "retries", "int", default=3, help="retries after the first attempt, for 429/5xx/timeouts"
    ),
    Field("fallback", help="another channel's name, used for deliveries that finally fail"),
    Field("description", default="", help="free text shown by `notify channels`"),
    Field(
        "overflow",
        default="error",
        choices=("error", "truncate"),
        help="what to do with a message over the channel's limit",
    ),
)
BASE_URL_FIELD = Field(
    "base_url", "url", help="the root the provider's documented paths hang from (or the sandbox)"
)
# Per-recipient types take it even when they do not declare it (SMS and email do, for the docs).
SKIP_INVALID_FIELD = Field(
    "skip_invalid",
    "bool",
    default=False,
    help="leave an audience file's invalid rows out (and report them) instead of refusing to send",
)


class Settings(Mapping[str, Any]):
    """One channel's settings, read-only: attributes (`settings.token`) or Mapping access.

    Built by `Settings.build` from the declared fields: a field left out (or None) holds its
    default. Attributes are typed `Any`: their kinds come from the `Field` declarations, which
    the loader enforces, and one declaration per setting is the point (a dataclass per adapter
    would restate every name and default a second time). A trailing underscore is dropped, so
    `settings.from_` reads the `from` setting.
    """

    __slots__ = ("_secret", "_values")
    _values: dict[str, Any]
    _secret: frozenset[str]

    def __init__(self, values: Mapping[str, Any], secret: Iterable[str] = ()) -> None:
        object.__setattr__(self, "_values", dict(values))
        object.__setattr__(self, "_secret", frozenset(secret))

    @classmethod
    def build(cls, fields: Iterable[Field], given: Mapping[str, Any]) -> Settings:
        """Every field of `fields` from `given`, defaults filled in for the ones left out.

        Keys of `given` that no field declares are kept as they are (a plugin's tests may pass
        more); the config loader never passes any, it reports them.
        """
        values = dict(given)
        secret = []
        for field in fields:
            value = given.get(field.name)
            if value is None:
                value = copy.deepcopy(field.default)  # a list default is each channel's own
            elif field.kind == "float" and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            values[field.name] = value
            if field.secret:
                secret.append(field.name)
        return cls(values, secret)

    def replace(self, **changes: Any) -> Settings:
        """A copy with `changes` applied (the loader swaps an audience file's rows in for `to`)."""
        return Settings({**self._values, **changes}, self._secret)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: every setting, and nothing else, lands here.
        if name in Settings.__slots__:  # not set yet (copy, unpickling): don't recurse
            raise AttributeError(name)
        try:
            return self._values[name[:-1] if name.endswith("_") else name]
        except KeyError:
            raise AttributeError(f"no setting {name!r} (declare it as a Field)") from None

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("channel settings are read-only: build new ones with replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("channel settings are read-only")

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __reduce__(self) -> tuple[Any, ...]:
        return (Settings, (self._values, self._secret))

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{key}=<secret>" if key in self._secret and value else f"{key}={value!r}"
            for key, value in self._values.items()
        )
        return f"Settings({shown})"
