"""Telegram Bot API: `/bot{token}/sendMessage` and `/bot{token}/getMe`.

The message text is parsed the way the Bot API does (HTML or MarkdownV2 into plain text plus
entities) before it is measured, so bad escaping gets Telegram's own "can't parse entities"
400 here, as it would in production. Lengths are UTF-16 code units.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState, truthy
from notify.sandbox.credentials import Credentials
from notify.sandbox.telegram_markup import TelegramParseError, parse_text, utf16_length

__all__ = ["TelegramEmulator"]

MAX_TEXT = 4096
CHAT_TITLE = "Sandbox Status"
CHAT_USERNAME = "@sandbox_status"


def _bad(description: str, code: int = 400) -> Response:
    return Response(code, {"ok": False, "error_code": code, "description": description})


class TelegramEmulator(Emulator):
    name = "telegram"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "telegram": {
                "type": "telegram",
                "base_url": cls.base_url(root),
                "token": credentials.telegram_token,
                "chat_id": credentials.telegram_chat_id,
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self._messages: dict[int, dict[str, Any]] = {}
        self._next_id = 1

    def delete_post(self, post_id: str) -> bool:
        return (
            str(post_id).lstrip("-").isdigit()
            and self._messages.pop(int(post_id), None) is not None
        )

    def reset(self) -> None:
        super().reset()
        self._messages.clear()
        self._next_id = 1

    async def handle(self, req: Request) -> Response:
        match = re.fullmatch(r"/bot([^/]*)/([A-Za-z]+)", req.path)
        if match is None:
            return _bad("Not Found", 404)
        if match.group(1) != self.credentials.telegram_token:
            return _bad("Unauthorized", 401)
        method = match.group(2)
        if method.lower() == "getme":
            return Response(200, {"ok": True, "result": self._bot()})
        if method.lower() != "sendmessage":
            return _bad("Not Found", 404)
        try:
            params = _params(req)
        except ValueError:
            return _bad("Bad Request: can't parse JSON object")
        return self._send(params)

    def _bot(self) -> dict[str, Any]:
        return {
            "id": int(self.credentials.telegram_token.split(":", 1)[0]),
            "is_bot": True,
            "first_name": "Sandbox Status",
            "username": "sandbox_status_bot",
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _send(self, params: dict[str, Any]) -> Response:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            return _bad("Bad Request: chat_id is empty")
        if str(chat_id) not in (self.credentials.telegram_chat_id, CHAT_USERNAME):
            return _bad("Bad Request: chat not found")
        raw = params.get("text")
        if not isinstance(raw, str) or not raw.strip():
            return _bad("Bad Request: message text is empty")
        mode = str(params.get("parse_mode") or "")
        try:
            text, entities = parse_text(raw, mode)
        except TelegramParseError as exc:
            return _bad(f"Bad Request: can't parse entities: {exc}")
        except LookupError:
            return _bad("Bad Request: unsupported parse_mode")
        stripped = text.strip()
        # Telegram trims the text; entities move with its first character.
        shift = utf16_length(text) - utf16_length(text.lstrip())
        entities = [{**e, "offset": max(0, e["offset"] - shift)} for e in entities]
        if not stripped:
            return _bad("Bad Request: message text is empty")
        if utf16_length(stripped) > MAX_TEXT:
            return _bad("Bad Request: message is too long")
        try:
            reply_to = self._reply_target(params)
        except LookupError:
            return _bad("Bad Request: message to be replied not found")
        except ValueError:
            return _bad("Bad Request: can't parse reply parameters JSON object")
        message = self._store(params, stripped, raw, mode, entities, reply_to)
        return Response(200, {"ok": True, "result": message})

    def _reply_target(self, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        if isinstance(reply, str):
            reply = json.loads(reply)
        if reply is not None and not isinstance(reply, dict):
            raise ValueError("reply_parameters must be an object")
        if reply is None and params.get("reply_to_message_id") not in (None, ""):
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply"),
            }
        if not reply:
            return None
        try:
            target = self._messages.get(int(reply["message_id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError("message_id must be an integer") from exc
        if target is None and not truthy(reply.get("allow_sending_without_reply")):
            raise LookupError(reply.get("message_id"))
        return target

    def _store(
        self,
        params: dict[str, Any],
        text: str,
        raw: str,
        mode: str,
        entities: list[dict[str, Any]],
        reply_to: dict[str, Any] | None,
    ) -> dict[str, Any]:
        message_id = self._next_id
        self._next_id += 1
        chat_id = int(self.credentials.telegram_chat_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._bot(),
            "chat": {"id": chat_id, "title": CHAT_TITLE, "type": "supergroup"},
            "date": int(self.state.clock()),
            "text": text,
        }
        if entities:
            message["entities"] = entities
        if reply_to is not None:
            message["reply_to_message"] = {
                k: v for k, v in reply_to.items() if k != "reply_to_message"
            }
        self._messages[message_id] = message
        self._posts.append(
            {
                "message_id": message_id,
                "chat_id": chat_id,
                "text": text,
                "raw_text": raw,
                "parse_mode": mode or None,
                "entities": entities,
                "reply_to_message_id": reply_to["message_id"] if reply_to else None,
                "disable_notification": truthy(params.get("disable_notification")),
                "link_preview_options": params.get("link_preview_options"),
            }
        )
        return message

    def rate_limited(self, retry_after: float) -> Response:
        seconds = max(1, math.ceil(retry_after))
        return Response(
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            },
            {"Retry-After": str(seconds)},
        )

    def injected_failure(self, status: int) -> Response:
        words = {
            400: "Bad Request: chat not found",
            401: "Unauthorized",
            403: "Forbidden: bot was kicked from the supergroup chat",
            404: "Not Found",
            409: "Conflict: terminated by other getUpdates request",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }
        return _bad(words.get(status, f"Error {status}"), status)


def _params(req: Request) -> dict[str, Any]:
    """The Bot API reads parameters from the query string, a form body or a JSON body."""
    params: dict[str, Any] = {k: v[-1] for k, v in req.query.items()}
    if req.content_type == "application/json":
        body = req.json()
        if not isinstance(body, dict):
            raise ValueError("the JSON body must be an object")
        params.update(body)
    elif req.content_type == "application/x-www-form-urlencoded":
        params.update({k: v[-1] for k, v in req.form().items()})
    return params
