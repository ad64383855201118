"""Telegram Bot API: `/bot{token}/sendMessage` and `/bot{token}/getMe`.

The message text is parsed the way the Bot API does (HTML or MarkdownV2 into plain text plus
entities) before it is measured, so bad escaping gets Telegram's own "can't parse entities"
400 here, as it would in production. Lengths are UTF-16 code units.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState, truthy
from notify.sandbox.credentials import Credentials

__all__ = ["TelegramEmulator", "TelegramParseError", "parse_html", "parse_markdown"]

MAX_TEXT = 4096
CHAT_TITLE = "Sandbox Status"
CHAT_USERNAME = "@sandbox_status"

# Entity type -> the tags of the Bot API's HTML parse mode that make it.
_TAG_GROUPS = {
    "bold": ("b", "strong"),
    "italic": ("i", "em"),
    "underline": ("u", "ins"),
    "strikethrough": ("s", "strike", "del"),
    "text_link": ("a",),
    "code": ("code",),
    "pre": ("pre",),
    "spoiler": ("tg-spoiler", "span"),
    "blockquote": ("blockquote",),
    "custom_emoji": ("tg-emoji",),
}
_HTML_TAGS = {tag: kind for kind, tags in _TAG_GROUPS.items() for tag in tags}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(?:#([0-9]{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]*));")
_ATTR_NAME = re.compile(r"[a-zA-Z0-9_-]+")


class TelegramParseError(ValueError):
    """Why Telegram "can't parse entities" (the text after that prefix)."""


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _fail(text: str, index: int, what: str, after: str = "") -> TelegramParseError:
    """Telegram's wording: what went wrong, at which UTF-8 byte of the text."""
    return TelegramParseError(f"{what} at byte offset {_byte_offset(text, index)}{after}")


@dataclass
class _Out:
    """Plain text being built, with its entities (offsets in UTF-16 units)."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += _utf16(text)

    def entity(self, kind: str, start: int, **extra: Any) -> None:
        if self.length > start:
            self.entities.append(
                {"type": kind, "offset": start, "length": self.length - start, **extra}
            )

    def result(self) -> tuple[str, list[dict[str, Any]]]:
        entities = sorted(self.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.parts), entities


def _decode_entity(text: str, i: int) -> tuple[str, int]:
    """The character an HTML entity at text[i] stands for, and the index after it."""
    match = _ENTITY.match(text, i)
    if match is None:
        raise _fail(text, i, "Character '&' must be escaped as &amp;")
    decimal, hexa, name = match.groups()
    if name is not None:
        if name not in _NAMED_ENTITIES:
            raise _fail(text, i, f'Unsupported HTML entity "&{name};"')
        return _NAMED_ENTITIES[name], match.end()
    code = int(decimal) if decimal is not None else int(hexa, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        raise _fail(text, i, "Invalid character entity")
    return chr(code), match.end()


def _attributes(text: str, i: int, tag: str, start: int) -> tuple[dict[str, str], int]:
    """Parse `name="value"` pairs up to the closing '>'; returns them and the index after it."""
    attrs: dict[str, str] = {}
    n = len(text)
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            raise _fail(text, start, "Unclosed start tag")
        if text[i] == ">":
            return attrs, i + 1
        name = _ATTR_NAME.match(text, i)
        if name is None:
            raise _fail(text, i, f'Empty attribute name in the tag "{tag}"')
        i = name.end()
        if i >= n or text[i] != "=":
            what = f'Expected equal sign in declaration of an attribute of the tag "{tag}"'
            raise _fail(text, i, what)
        i += 1
        value: list[str] = []
        quote = text[i] if i < n and text[i] in "\"'" else ""
        i += 1 if quote else 0
        while i < n and (text[i] != quote if quote else not text[i].isspace() and text[i] != ">"):
            if text[i] == "&":
                char, i = _decode_entity(text, i)
                value.append(char)
            else:
                value.append(text[i])
                i += 1
        if quote:
            if i >= n:
                raise _fail(text, start, "Unclosed start tag")
            i += 1
        attrs[name.group().lower()] = "".join(value)


def parse_html(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: (plain text, entities), or TelegramParseError."""
    out = _Out()
    stack: list[tuple[str, int, dict[str, str]]] = []
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "&":
            decoded, i = _decode_entity(text, i)
            out.add(decoded)
        elif char != "<":
            out.add(char)
            i += 1
        elif text.startswith("</", i):
            close = text.find(">", i)
            if close < 0:
                raise _fail(text, i, "Unclosed end tag")
            name = text[i + 2 : close].strip().lower()
            if not stack:
                raise _fail(text, i, "Unexpected end tag")
            open_name, start, attrs = stack.pop()
            if name != open_name:
                found = f', expected "</{open_name}>", found "</{name}>"'
                raise _fail(text, i, "Unmatched end tag", found)
            _close_html(out, open_name, start, attrs, stack)
            i = close + 1
        else:
            j = i + 1
            while j < n and not text[j].isspace() and text[j] not in "<>&/":
                j += 1
            name = text[i + 1 : j].lower()
            if name not in _HTML_TAGS:
                raise _fail(text, i, f'Unsupported start tag "{name}"')
            attrs, after = _attributes(text, j, name, i)
            if name == "span" and attrs.get("class") != "tg-spoiler":
                raise _fail(text, i, 'Tag "span" must have class "tg-spoiler"')
            stack.append((name, out.length, attrs))
            i = after
    if stack:
        raise TelegramParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    return out.result()


def _close_html(
    out: _Out,
    name: str,
    start: int,
    attrs: dict[str, str],
    stack: list[tuple[str, int, dict[str, str]]],
) -> None:
    kind = _HTML_TAGS[name]
    if name == "a":
        if attrs.get("href"):
            out.entity(kind, start, url=attrs["href"])
    elif name == "code" and stack and stack[-1][0] == "pre":
        # <pre><code class="language-x"> is one pre entity with a language.
        language = attrs.get("class", "").removeprefix("language-")
        stack[-1][2]["language"] = language
    elif name == "pre":
        pre_language = attrs.get("language", "")
        out.entity(kind, start, **({"language": pre_language} if pre_language else {}))
    elif name == "blockquote" and "expandable" in attrs:
        out.entity("expandable_blockquote", start)
    elif name == "tg-emoji":
        out.entity(kind, start, custom_emoji_id=attrs.get("emoji-id", ""))
    else:
        out.entity(kind, start)


_MD_KINDS = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}
_MD_RESERVED = set("_*[]()~`>#+-=|{}.!")


def parse_markdown(text: str, *, v2: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """MarkdownV2 (or legacy Markdown): (plain text, entities), or TelegramParseError."""
    out = _Out()
    stack: list[tuple[str, int, int]] = []  # (marker, utf16 start, byte offset)
    i, n = 0, len(text)
    while i < n:
        char = text[i]
        if char == "\\" and i + 1 < n and (text[i + 1] in _MD_RESERVED or text[i + 1] == "\\"):
            out.add(text[i + 1])
            i += 2
        elif char == "`":
            fence = "```" if text.startswith("```", i) else "`"
            end = text.find(fence, i + len(fence))
            if end < 0:
                kind = "Pre" if fence == "```" else "Code"
                raise _fail(text, i, f"Can't find end of {kind} entity")
            body = text[i + len(fence) : end].replace("\\`", "`").replace("\\\\", "\\")
            start = out.length
            if fence == "```":
                first, newline, rest = body.partition("\n")
                language = first if newline and first and " " not in first else ""
                out.add(rest if language else body)
                out.entity("pre", start, **({"language": language} if language else {}))
            else:
                out.add(body)
                out.entity("code", start)
            i = end + len(fence)
        elif char in "*_~|" and (v2 or char in "*_"):
            marker = text[i : i + 2] if v2 and text[i : i + 2] in ("__", "||") else char
            if marker == "|":
                raise _reserved(text, i)
            if stack and stack[-1][0] == marker:
                _, start, _ = stack.pop()
                out.entity(_MD_KINDS[marker], start)
            else:
                stack.append((marker, out.length, _byte_offset(text, i)))
            i += len(marker)
        elif char == "[":
            stack.append(("[", out.length, _byte_offset(text, i)))
            i += 1
        elif char == "]" and stack and stack[-1][0] == "[" and text.startswith("(", i + 1):
            close = text.find(")", i + 2)
            if close < 0:
                raise _fail(text, i + 1, "Can't find end of a URL")
            _, start, _ = stack.pop()
            out.entity("text_link", start, url=text[i + 2 : close].replace("\\)", ")"))
            i = close + 1
        elif v2 and char == ">" and (i == 0 or text[i - 1] == "\n"):
            i += 1  # a quotation line; its text follows
        elif v2 and char in _MD_RESERVED:
            raise _reserved(text, i)
        else:
            out.add(char)
            i += 1
    if stack:
        marker, _, offset = stack[-1]
        name = _MD_KINDS[marker].title() if marker in _MD_KINDS else "TextUrl"
        what = f"{name} entity" if v2 else "the entity starting"
        raise TelegramParseError(f"Can't find end of {what} at byte offset {offset}")
    return out.result()


def _reserved(text: str, i: int) -> TelegramParseError:
    return TelegramParseError(
        f"Character '{text[i]}' is reserved and must be escaped with the preceding '\\'"
    )


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
            text, entities = _parse(raw, mode)
        except TelegramParseError as exc:
            return _bad(f"Bad Request: can't parse entities: {exc}")
        except LookupError:
            return _bad("Bad Request: unsupported parse_mode")
        stripped = text.strip()
        # Telegram trims the text; entities move with its first character.
        shift = _utf16(text) - _utf16(text.lstrip())
        entities = [{**e, "offset": max(0, e["offset"] - shift)} for e in entities]
        if not stripped:
            return _bad("Bad Request: message text is empty")
        if _utf16(stripped) > MAX_TEXT:
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


def _parse(raw: str, mode: str) -> tuple[str, list[dict[str, Any]]]:
    kind = mode.lower()
    if kind == "":
        return raw, []
    if kind == "html":
        return parse_html(raw)
    if kind in ("markdownv2", "markdown"):
        return parse_markdown(raw, v2=kind == "markdownv2")
    raise LookupError(mode)


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
