"""Discord channel webhooks: `POST /api/v10/webhooks/{id}/{token}[?wait=true][&thread_id=]`.

The body is checked against `IncomingWebhookRequestPartial` (discord/openapi.json) plus the
limits the spec cannot express (6,000 characters across embeds, an empty message). Errors use
Discord's {code, message, errors} envelope, with per-field `_errors` like the real API.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials
from notify.sandbox.discord_body import SNOWFLAKE, FormErrors, check_body

__all__ = ["DiscordEmulator"]

DISCORD_EPOCH_MS = 1420070400000


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
        errors = FormErrors()
        wait = _query_bool(req, "wait", errors)
        thread_id = req.query.get("thread_id", [""])[0]
        if thread_id and not SNOWFLAKE.match(thread_id):
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
        check_body(payload, errors)
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


def _query_bool(req: Request, name: str, errors: FormErrors) -> bool:
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
