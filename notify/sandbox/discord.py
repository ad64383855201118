"""Discord channel webhooks: `POST /api/v10/webhooks/{id}/{token}[?wait=true][&thread_id=]`.

The body is checked against `IncomingWebhookRequestPartial` (discord/openapi.json) plus the
limits the spec cannot express (6,000 characters across embeds, an empty message). Errors use
Discord's {code, message, errors} envelope, with per-field `_errors` like the real API.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials

__all__ = ["DiscordEmulator"]

DISCORD_EPOCH_MS = 1420070400000
MAX_CONTENT = 2000
MAX_EMBEDS = 10
MAX_EMBED_TOTAL = 6000
MENTION_TYPES = ("users", "roles", "everyone")
_SNOWFLAKE = re.compile(r"^(0|[1-9][0-9]*)$")
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


class _FormErrors:
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


def _problem(status: int, code: int, message: str, **extra: Any) -> Response:
    return Response(status, {"message": message, "code": code, **extra})


class DiscordEmulator(Emulator):
    name = "discord"
    api_path = "/api/v10"

    @classmethod
    def webhook_path(cls, credentials: Credentials, name: str) -> str:
        c = credentials
        return f"{cls.api_path}/webhooks/{c.discord_webhook_id}/{c.discord_webhook_token}"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        webhook_url = cls.webhook_url(root, credentials)
        return {"discord": {"type": "discord", "webhook_url": webhook_url}}

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        # "any" accepts thread_name (forum) and plain posts (text channel) alike; tests set
        # "text" or "forum" to get the errors a webhook of that channel type gives.
        self.channel_type = "any"
        self.channel_id = "200000000000000001"
        self.guild_id = "300000000000000001"
        self._threads: set[str] = set()

    def add_thread(self, thread_id: str) -> None:
        """Make a thread exist, as if someone had opened it in the channel."""
        self._threads.add(thread_id)

    def reset(self) -> None:
        super().reset()
        self.channel_type = "any"
        self._threads.clear()

    async def handle(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["api", "v10", "webhooks"]:
            return _problem(404, 0, "404: Not Found")
        webhook_id, token = parts[3], parts[4]
        if webhook_id != self.credentials.discord_webhook_id:
            return _problem(404, 10015, "Unknown Webhook")
        if token != self.credentials.discord_webhook_token:
            return _problem(401, 50027, "Invalid Webhook Token")
        if req.method == "GET":
            return Response(200, self._webhook())
        if req.method != "POST":
            return _problem(405, 0, "405: Method Not Allowed")
        return self._execute(req)

    def _webhook(self) -> dict[str, Any]:
        return {
            "type": 1,
            "id": self.credentials.discord_webhook_id,
            "name": "Sandbox Status",
            "avatar": None,
            "channel_id": self.channel_id,
            "guild_id": self.guild_id,
            "application_id": None,
            "token": self.credentials.discord_webhook_token,
        }

    def _execute(self, req: Request) -> Response:
        errors = _FormErrors()
        wait = _query_bool(req, "wait", errors)
        thread_id = req.query.get("thread_id", [""])[0]
        if thread_id and not _SNOWFLAKE.match(thread_id):
            errors.add(
                ("thread_id",), "NUMBER_TYPE_COERCE", f'Value "{thread_id}" is not snowflake.'
            )
        if req.content_type == "application/x-www-form-urlencoded":
            payload: Any = {k: v[-1] for k, v in req.form().items()}
        else:
            try:
                payload = req.json()
            except ValueError:
                return _problem(400, 50109, "The request body contains invalid JSON.")
        if not isinstance(payload, dict):
            return _problem(400, 50109, "The request body contains invalid JSON.")
        _check_body(payload, errors)
        if errors:
            return _problem(400, 50035, "Invalid Form Body", errors=errors.tree)
        if not _has_message(payload):
            return _problem(400, 50006, "Cannot send an empty message")
        thread_name = payload.get("thread_name")
        if thread_id and thread_id not in self._threads:
            return _problem(404, 10003, "Unknown Channel")
        if thread_name and not thread_id and self.channel_type == "text":
            return _problem(400, 220003, "Webhooks can only create threads in forum channels")
        if not thread_id and not thread_name and self.channel_type == "forum":
            return _problem(
                400,
                220001,
                "Webhooks posted to forum channels must have a thread_name or thread_id",
            )
        return self._store(payload, thread_id, wait)

    def _store(self, payload: dict[str, Any], thread_id: str, wait: bool) -> Response:
        message_id = self._snowflake()
        channel_id = thread_id or self.channel_id
        thread_name = payload.get("thread_name") or None
        if thread_name and not thread_id:
            # A forum post's starter message shares its id with the new thread.
            channel_id = message_id
            self._threads.add(message_id)
        content = payload.get("content") or ""
        timestamp = datetime.fromtimestamp(self.state.clock(), UTC).isoformat()
        self._posts.append(
            {
                "id": message_id,
                "channel_id": channel_id,
                "thread_id": thread_id or (channel_id if thread_name else None),
                "thread_name": thread_name,
                "content": content,
                "embeds": payload.get("embeds") or [],
                "username": payload.get("username"),
                "allowed_mentions": payload.get("allowed_mentions"),
                "would_ping_everyone": _would_ping_everyone(payload),
                "timestamp": timestamp,
            }
        )
        if not wait:
            return Response(204)
        return Response(200, self._message(message_id, channel_id, payload, timestamp))

    def _message(
        self, message_id: str, channel_id: str, payload: dict[str, Any], timestamp: str
    ) -> dict[str, Any]:
        return {
            "type": 0,
            "id": message_id,
            "channel_id": channel_id,
            "content": payload.get("content") or "",
            "author": {
                "id": self.credentials.discord_webhook_id,
                "username": payload.get("username") or "Sandbox Status",
                "avatar": None,
                "discriminator": "0000",
                "public_flags": 0,
                "flags": 0,
                "bot": True,
                "global_name": None,
                "primary_guild": None,
            },
            "attachments": [],
            "embeds": [{"type": "rich", **e} for e in payload.get("embeds") or []],
            "mentions": [],
            "mention_roles": [],
            "mention_everyone": _would_ping_everyone(payload),
            "pinned": False,
            "tts": bool(payload.get("tts")),
            "timestamp": timestamp,
            "edited_timestamp": None,
            "flags": int(payload.get("flags") or 0),
            "components": [],
            "webhook_id": self.credentials.discord_webhook_id,
        }

    def _snowflake(self) -> str:
        ms = int(self.state.clock() * 1000) - DISCORD_EPOCH_MS
        return str((ms << 22) | (1 << 17) | (self.state.next_seq() & 0xFFF))

    def rate_limited(self, retry_after: float) -> Response:
        after = round(max(retry_after, 0.001), 3)
        reset = self.state.clock() + after
        return Response(
            429,
            # The spec's RatelimitedResponse requires a code; Discord sends 0 for route limits.
            {
                "message": "You are being rate limited.",
                "retry_after": after,
                "global": False,
                "code": 0,
            },
            {
                "Retry-After": str(max(1, math.ceil(after))),
                "X-RateLimit-Limit": "5",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": f"{reset:.3f}",
                "X-RateLimit-Reset-After": f"{after:.3f}",
                "X-RateLimit-Bucket": "sandbox-webhook-bucket",
                "X-RateLimit-Scope": "user",
            },
        )

    def injected_failure(self, status: int) -> Response:
        known = {
            400: (50035, "Invalid Form Body"),
            401: (50027, "Invalid Webhook Token"),
            403: (50013, "Missing Permissions"),
            404: (10015, "Unknown Webhook"),
        }
        code, message = known.get(status, (0, f"{status}: Server Error"))
        return _problem(status, code, message)


def _query_bool(req: Request, name: str, errors: _FormErrors) -> bool:
    raw = req.query.get(name, [""])[0]
    if raw == "":
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    errors.add((name,), "BOOLEAN_TYPE_COERCE", f'Value "{raw}" is not a valid boolean.')
    return False


def _has_message(payload: dict[str, Any]) -> bool:
    content = payload.get("content")
    if isinstance(content, str) and content.strip():
        return True
    return any(payload.get(key) for key in ("embeds", "components", "attachments", "poll"))


def _would_ping_everyone(payload: dict[str, Any]) -> bool:
    content = payload.get("content") or ""
    if "@everyone" not in content and "@here" not in content:
        return False
    allowed = payload.get("allowed_mentions")
    if allowed is None:
        return True  # no allowed_mentions: every mention in the content pings
    return "everyone" in (allowed.get("parse") or [])


def _string(
    errors: _FormErrors,
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
    errors: _FormErrors, path: tuple[str | int, ...], value: Any, max_items: int
) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, "LIST_TYPE_CONVERT", "Only iterables may be used in a ListType")
        return []
    if len(value) > max_items:
        errors.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {max_items} or fewer in length.")
    return value


def _url(errors: _FormErrors, path: tuple[str | int, ...], value: Any) -> None:
    if value is None:
        return
    if _string(errors, path, value, 2048) and not _URL.match(value):
        errors.add(path, "URL_TYPE_INVALID_URL", "Not a well formed URL.")


def _check_body(payload: dict[str, Any], errors: _FormErrors) -> None:
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
        if not isinstance(tag, str) or not _SNOWFLAKE.match(tag):
            errors.add(
                ("applied_tags", i), "NUMBER_TYPE_COERCE", f'Value "{tag}" is not snowflake.'
            )
    poll = payload.get("poll")
    if poll is not None and not isinstance(poll, dict):
        errors.add(("poll",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
    _check_embeds(payload.get("embeds"), errors)
    _check_allowed_mentions(payload.get("allowed_mentions"), errors)


def _check_embeds(value: Any, errors: _FormErrors) -> None:
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


def _check_allowed_mentions(value: Any, errors: _FormErrors) -> None:
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
            if not isinstance(snowflake, str) or not _SNOWFLAKE.match(snowflake):
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
