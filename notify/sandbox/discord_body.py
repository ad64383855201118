"""Discord's rules for a webhook message body, reported in Discord's nested `errors` shape.

They are `IncomingWebhookRequestPartial` (discord/openapi.json) plus the limits the spec cannot
express, such as 6,000 characters across a message's embeds.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

__all__ = ["SNOWFLAKE", "FormErrors", "check_body"]

MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MENTION_TYPES = ("users", "roles", "everyone")
SNOWFLAKE = re.compile(r"^(0|[1-9][0-9]*)$")
_URL = re.compile(r"^(https?|attachment)://\S+$")

# Embed string fields: (path inside the embed, max length, counts toward the 6,000 total).
_EMBED_STRINGS: tuple[tuple[tuple[str, ...], int, bool], ...] = (
    (("title",), 256, True),
    (("description",), 4096, True),
    (("type",), 152133, False),
    (("footer", "text"), 2048, True),
    (("author", "name"), 256, True),
    (("provider", "name"), 256, False),
)
_EMBED_URLS: tuple[tuple[str, ...], ...] = (
    ("url",),
    ("author", "url"),
    ("author", "icon_url"),
    ("footer", "icon_url"),
    ("image", "url"),
    ("thumbnail", "url"),
    ("video", "url"),
    ("provider", "url"),
)


class FormErrors:
    """Discord's nested `errors` object: {"field": {"0": {"sub": {"_errors": [...]}}}}."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def __bool__(self) -> bool:
        return bool(self.tree)


def _string(
    errors: FormErrors,
    path: tuple[str | int, ...],
    value: Any,
    max_len: int,
    min_len: int = 0,
) -> int:
    """Check an optional string field; returns its length (0 when absent or invalid)."""
    if value is None:
        return 0
    if not isinstance(value, str):
        errors.add(path, "BASE_TYPE_STRING", "Must be a string.")
        return 0
    if len(value) > max_len:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_len} or fewer in length.")
    elif len(value) < min_len:
        errors.add(path, "BASE_TYPE_MIN_LENGTH", f"Must be {min_len} or more in length.")
    return len(value)


def _array(
    errors: FormErrors, path: tuple[str | int, ...], value: Any, max_items: int
) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(value) > max_items:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_items} or fewer in length.")
    return value


def _url(errors: FormErrors, path: tuple[str | int, ...], value: Any) -> None:
    if value is None:
        return
    if _string(errors, path, value, 2048) and not _URL.match(value):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def check_body(payload: dict[str, Any], errors: FormErrors) -> None:
    """Add to `errors` every problem of the body's fields (the empty-message rule is apart)."""
    _string(errors, ("content",), payload.get("content"), MAX_CONTENT)
    username = payload.get("username")
    _string(errors, ("username",), username, 80, min_len=1)
    for banned in ("discord", "clyde"):
        if isinstance(username, str) and banned in username.lower():
            message = f'Username cannot contain "{banned}"'
            errors.add(("username",), "USERNAME_INVALID_CONTAINS", message)
    _string(errors, ("thread_name",), payload.get("thread_name"), 100)
    _url(errors, ("avatar_url",), payload.get("avatar_url"))
    for key in ("tts",):
        if payload.get(key) is not None and not isinstance(payload[key], bool):
            errors.add((key,), "BOOLEAN_TYPE_COERCE", "Must be a boolean.")
    flags = payload.get("flags")
    if flags is not None and (not isinstance(flags, int) or isinstance(flags, bool)):
        errors.add(("flags",), "NUMBER_TYPE_COERCE", "Must be an integer.")
    _array(errors, ("components",), payload.get("components"), 40)
    _array(errors, ("attachments",), payload.get("attachments"), 10)
    for i, tag in enumerate(_array(errors, ("applied_tags",), payload.get("applied_tags"), 5)):
        if not isinstance(tag, str) or not SNOWFLAKE.match(tag):
            errors.add(
                ("applied_tags", i), "NUMBER_TYPE_COERCE", f'Value "{tag}" is not snowflake.'
            )
    poll = payload.get("poll")
    if poll is not None and not isinstance(poll, dict):
        errors.add(("poll",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    _check_embeds(payload.get("embeds"), errors)
    _check_allowed_mentions(payload.get("allowed_mentions"), errors)


def _check_embeds(value: Any, errors: FormErrors) -> None:
    total = 0
    for i, embed in enumerate(_array(errors, ("embeds",), value, MAX_EMBEDS)):
        if not isinstance(embed, dict):
            errors.add(
                ("embeds", i), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
            )
            continue
        for keys, max_len, counts in _EMBED_STRINGS:
            node: Any = embed
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                length = _string(errors, ("embeds", i, *keys), node.get(keys[-1]), max_len)
                total += length if counts else 0
        for keys in _EMBED_URLS:
            node = embed
            for key in keys[:-1]:
                node = node.get(key) if isinstance(node, dict) else None
            if isinstance(node, dict):
                _url(errors, ("embeds", i, *keys), node.get(keys[-1]))
        color = embed.get("color")
        if color is not None and (
            not isinstance(color, int) or isinstance(color, bool) or not 0 <= color <= 0xFFFFFF
        ):
            errors.add(
                ("embeds", i, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215."
            )
        stamp = embed.get("timestamp")
        if stamp is not None and not _is_datetime(stamp):
            errors.add(
                ("embeds", i, "timestamp"),
                "DATE_TIME_TYPE_PARSE",
                "Could not parse. Should be ISO8601.",
            )
        for j, item in enumerate(_array(errors, ("embeds", i, "fields"), embed.get("fields"), 25)):
            where: tuple[str | int, ...] = ("embeds", i, "fields", j)
            if not isinstance(item, dict):
                errors.add(
                    where, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType"
                )
                continue
            for key, max_len in (("name", 256), ("value", 1024)):
                if item.get(key) is None:
                    errors.add((*where, key), "BASE_TYPE_REQUIRED", "This field is required")
                total += _string(errors, (*where, key), item.get(key), max_len)
    if total > MAX_EMBED_TOTAL:
        errors.add(
            ("embeds",), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000"
        )


def _check_allowed_mentions(value: Any, errors: FormErrors) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        errors.add(
            ("allowed_mentions",),
            "DICT_TYPE_CONVERT",
            "Only dictionaries may be used in a DictType",
        )
        return
    parse = _array(errors, ("allowed_mentions", "parse"), value.get("parse"), len(MENTION_TYPES))
    for i, kind in enumerate(parse):
        if kind not in MENTION_TYPES:
            errors.add(
                ("allowed_mentions", "parse", i),
                "BASE_TYPE_CHOICES",
                "Value must be one of ('users', 'roles', 'everyone').",
            )
    if len(set(map(str, parse))) != len(parse):
        errors.add(("allowed_mentions", "parse"), "BASE_TYPE_UNIQUE", "Values must be unique.")
    for key in ("users", "roles"):
        ids = _array(errors, ("allowed_mentions", key), value.get(key), 100)
        for i, snowflake in enumerate(ids):
            if not isinstance(snowflake, str) or not SNOWFLAKE.match(snowflake):
                errors.add(
                    ("allowed_mentions", key, i),
                    "NUMBER_TYPE_COERCE",
                    f'Value "{snowflake}" is not snowflake.',
                )
        if ids and key in parse:
            errors.add(
                ("allowed_mentions",),
                "MESSAGE_ALLOWED_MENTIONS_PARSE_EXCLUSIVE",
                f'parse:["{key}"] and {key}: [ids...] are mutually exclusive.',
            )
    replied = value.get("replied_user")
    if replied is not None and not isinstance(replied, bool):
        errors.add(
            ("allowed_mentions", "replied_user"), "BOOLEAN_TYPE_COERCE", "Must be a boolean."
        )


def _is_datetime(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True
