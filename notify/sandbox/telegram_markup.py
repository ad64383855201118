"""Telegram's parse modes: HTML and MarkdownV2 text into plain text and entities, as the Bot API.

Legacy Markdown too; a text that does not parse raises Telegram's own "can't parse entities"
reason.

Offsets and lengths are UTF-16 code units, as the Bot API counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TelegramParseError", "parse_html", "parse_markdown", "parse_text", "utf16_length"]

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


def utf16_length(text: str) -> int:
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
        self.length += utf16_length(text)

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


def parse_text(raw: str, mode: str) -> tuple[str, list[dict[str, Any]]]:
    """`raw` read in the parse_mode `mode` ("" for none); LookupError for an unknown mode."""
    kind = mode.lower()
    if kind == "":
        return raw, []
    if kind == "html":
        return parse_html(raw)
    if kind in ("markdownv2", "markdown"):
        return parse_markdown(raw, v2=kind == "markdownv2")
    raise LookupError(mode)
