"""Telegram through the Bot API (`sendMessage`, HTML parse mode).

The bot token sits in the URL path (`/bot<token>/sendMessage`), so every text that could quote the
URL (httpx errors, provider answers) is redacted before it leaves this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from notify.channels.base import (
    ChannelCheckError,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import Answer, HttpChannel, Request, label, one_line, provider_words

MAX_TEXT = 4096  # UTF-16 code units of the text after entity parsing
AUTH_HINT = "check the bot token in channels.yaml (from @BotFather)"
KICKED_HINT = "add the bot to the chat again (in a channel, as an admin allowed to post)"
_CHAT_ID = re.compile(r"^(-?\d+|@[A-Za-z][A-Za-z0-9_]{3,})$")
_TAG = re.compile(r"<[^>]*>")
# Telegram's HTML mode knows these named entities and every numeric one.
_ENTITY = re.compile(r"&(lt|gt|amp|quot);|&#(\d+);|&#x([0-9a-fA-F]+);")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def visible_text(html: str) -> str:
    """What Telegram counts: the text with its HTML tags parsed away and entities decoded."""

    def decode(match: re.Match[str]) -> str:
        named, dec, hexa = match.groups()
        if named:
            return _NAMED[named]
        code = int(dec) if dec else int(hexa, 16)
        return chr(code) if code <= 0x10FFFF else match.group(0)

    return _ENTITY.sub(decode, _TAG.sub("", html))


def chat_id_value(chat_id: object) -> int | str:
    """Numeric chat ids go out as numbers, @channel names as strings (YAML may give either)."""
    text = str(chat_id).strip()
    return int(text) if re.fullmatch(r"-?\d+", text) else text


class TelegramChannel(HttpChannel):
    spec = ChannelSpec(
        type="telegram",
        fields=(
            Field("token", required=True, secret=True, help="the bot token from @BotFather"),
            Field(
                "chat_id",
                required=True,
                help="the chat's id in quotes (chat_id: \"-1001234567890\") or a channel's @name",
            ),
            Field(
                "disable_notification",
                "bool",
                default=False,
                help="true delivers silently (no sound on members' phones)",
            ),
            Field("link_preview", "bool", default=False, help="true shows a preview of the link"),
        ),
        part="body",
        format="telegram",
        default_base_url="https://api.telegram.org",
        threading="each update replies to the previous update's message",
        summary="a Telegram group, supergroup or channel, through a bot",
    )

    def target(self) -> str:
        return str(self.settings.chat_id or "")

    def validate(self) -> list[tuple[str, str]]:
        chat_id = str(self.settings.chat_id or "").strip()
        if chat_id and not _CHAT_ID.match(chat_id):
            return [
                (
                    "chat_id",
                    f"{chat_id!r} is neither a numeric chat id nor a @channel name: write the id "
                    'in quotes, like chat_id: "-1001234567890"',
                )
            ]
        return []

    def measure(self, message: Message) -> Length:
        from notify.render.length import utf16_length

        return utf16_length(visible_text(message.text), MAX_TEXT)

    def _url(self, method: str) -> str:
        return f"{self.base_url}/bot{self.settings.token}/{method}"

    def build_body(self, message: Message, thread: ThreadRef) -> dict[str, Any]:
        body: dict[str, Any] = {
            "chat_id": chat_id_value(self.settings.chat_id),
            "text": message.text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": not self.settings.link_preview},
            "disable_notification": self.settings.disable_notification,
        }
        previous = thread.previous.get("message_id") if thread.previous else None
        if previous is not None:
            # Not allow_sending_without_reply: a deleted earlier message must be heard of (the
            # dispatcher posts unthreaded, says so, and later updates reply to the new message).
            body["reply_parameters"] = {"message_id": int(previous)}
        return body

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        return Request("POST", self._url("sendMessage"), json=self.build_body(message, thread))

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        data = answer.data if isinstance(answer.data, Mapping) else {}
        result = data.get("result")
        if answer.ok and isinstance(result, Mapping) and "message_id" in result:
            chat = result.get("chat")
            chat_id = chat.get("id") if isinstance(chat, Mapping) else None
            return Receipt(
                ok=True,
                provider_message_id=str(result["message_id"]),
                thread_data={"message_id": int(result["message_id"]), "chat_id": chat_id},
                status_code=answer.status,
            )
        return self._failure(answer, data)

    def thread_gone(self, receipt: Receipt) -> bool:
        return "message to be replied not found" in (receipt.error or "")

    def _failure(self, answer: Answer, data: Mapping[str, Any]) -> Receipt:
        # Telegram repeats the HTTP status as error_code; trust the body when they differ.
        code = data.get("error_code")
        if isinstance(code, int) and code != answer.status:
            answer = Answer(code, answer.headers, answer.data, answer.text)
        parameters = data.get("parameters")
        parameters = parameters if isinstance(parameters, Mapping) else {}
        retry_after: float | None = None
        if answer.status == 429:
            raw = parameters.get("retry_after")
            retry_after = float(raw) if isinstance(raw, int | float) else None
        new_chat = parameters.get("migrate_to_chat_id")
        if new_chat is not None:
            hint = f"the group became a supergroup: set chat_id to {new_chat} (in quotes)"
            return self.failure(answer, auth=AUTH_HINT, hint=hint)
        described = str(data.get("description") or "").lower()
        hint = ""
        if "chat not found" in described:
            hint = "check chat_id and that the bot was added to the chat"
        elif "parse entities" in described:
            hint = "the text is not valid Telegram HTML: check the template's telegram block"
        # 403 is the chat refusing the bot (kicked, blocked, no right to post), not a bad token.
        auth = AUTH_HINT if answer.status == 401 else KICKED_HINT
        return self.failure(answer, auth=auth, hint=hint, retry_after=retry_after)

    async def check_online(self, ctx: DeliveryContext) -> str:
        answer = await self.call(ctx, Request("POST", self._url("getMe")))
        data = answer.data if isinstance(answer.data, Mapping) else {}
        result = data.get("result")
        if not (answer.ok and data.get("ok") and isinstance(result, Mapping)):
            said = provider_words(answer)
            raise ChannelCheckError(one_line(f"{label(self)}: getMe failed ({said}): {AUTH_HINT}"))
        return f"bot @{result.get('username') or result.get('id')}"
