"""Writers from the Markdown tree to each chat format's own text: plain, mrkdwn, Telegram HTML,
Discord and Teams markdown.

Every `text` node is literal text (structure already became nodes), so each writer escapes all
of it for its format; markup only ever comes from nodes. One base class walks the tree; each
format says how a node looks.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from markdown_it.tree import SyntaxTreeNode

_ZWSP = "\u200b"


class TextWriter:
    """Plain text: emphasis dropped, links as "text (url)", lists with "- "."""

    bullet = "- "
    paragraph_sep = "\n\n"
    item_sep = "\n"
    soft_break = "\n"
    hard_break = "\n"
    rule = "----------"

    def render(self, root: SyntaxTreeNode) -> str:
        return self.blocks(root.children).strip()

    # -- blocks --------------------------------------------------------------------------------

    def blocks(self, nodes: list[SyntaxTreeNode], sep: str | None = None) -> str:
        parts = (self.block(node) for node in nodes)
        return (self.paragraph_sep if sep is None else sep).join(p for p in parts if p)

    def block(self, node: SyntaxTreeNode) -> str:
        kind = node.type
        if kind == "paragraph":
            return self.inline(node.children[0]) if node.children else ""
        if kind == "heading":
            level = int(node.tag[1:]) if node.tag[1:].isdigit() else 1
            return self.heading(self.inline(node.children[0]) if node.children else "", level)
        if kind in ("bullet_list", "ordered_list"):
            return self.listing(node)
        if kind == "blockquote":
            return self.quote(self.blocks(node.children))
        if kind in ("fence", "code_block"):
            return self.code_block(node.content.rstrip("\n"))
        if kind == "hr":
            return self.rule
        if kind == "html_block":
            return self.text(node.content.strip())
        return self.blocks(node.children)

    def listing(self, node: SyntaxTreeNode) -> str:
        ordered = node.type == "ordered_list"
        start = int(str(node.attrs.get("start", 1))) if ordered else 1
        items = []
        for number, item in enumerate(node.children, start=start):
            marker = f"{number}. " if ordered else self.bullet
            body = self.blocks(item.children, sep="\n")
            items.append(marker + body.replace("\n", "\n" + " " * len(marker)))
        return self.item_sep.join(items)

    def heading(self, text: str, level: int) -> str:
        return text

    def quote(self, text: str) -> str:
        return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))

    def code_block(self, code: str) -> str:
        return code

    # -- inline --------------------------------------------------------------------------------

    def inline(self, node: SyntaxTreeNode) -> str:
        out = []
        line_start = True
        for child in node.children:
            out.append(self.span(child, line_start))
            line_start = child.type in ("softbreak", "hardbreak")
        return "".join(out)

    def spans(self, nodes: list[SyntaxTreeNode]) -> str:
        return "".join(self.span(n, False) for n in nodes)

    def span(self, node: SyntaxTreeNode, line_start: bool) -> str:
        kind = node.type
        if kind == "text":
            return self.text(node.content, line_start)
        if kind == "softbreak":
            return self.soft_break
        if kind == "hardbreak":
            return self.hard_break
        if kind == "strong":
            return self.strong(self.spans(node.children))
        if kind == "em":
            return self.em(self.spans(node.children))
        if kind == "s":
            return self.strike(self.spans(node.children))
        if kind == "code_inline":
            return self.code(node.content)
        if kind == "link":
            href = str(node.attrs.get("href", ""))
            label = "".join(_plain(c) for c in node.children)
            return self.link(self.spans(node.children), href, label)
        if kind == "image":
            src = str(node.attrs.get("src", ""))
            alt = node.content or src
            return self.link(self.text(alt), src, alt)
        return self.spans(node.children) if node.children else self.text(node.content)

    def text(self, text: str, line_start: bool = False) -> str:
        return text

    def strong(self, inner: str) -> str:
        return inner

    def em(self, inner: str) -> str:
        return inner

    def strike(self, inner: str) -> str:
        return inner

    def code(self, code: str) -> str:
        return code

    def link(self, inner: str, href: str, label: str) -> str:
        if _same_link(label, href):
            return href
        return f"{inner} ({href.removeprefix('mailto:')})"


def _plain(node: SyntaxTreeNode) -> str:
    if node.type in ("text", "code_inline"):
        return node.content
    return "".join(_plain(c) for c in node.children)


def _same_link(label: str, href: str) -> bool:
    """Whether the link text is just the address (autolinks): then show it once."""
    bare = re.sub(r"^(https?://|mailto:)", "", href).rstrip("/")
    return label.strip().rstrip("/") in (href.rstrip("/"), bare)


class SlackWriter(TextWriter):
    """Slack mrkdwn: *bold*, _italic_, <url|text>, • lists; only & < > are entity-escaped."""

    bullet = "• "
    rule = "──────────"

    def text(self, text: str, line_start: bool = False) -> str:
        # mrkdwn has no escape character; a zero-width space after a formatting character stops
        # it pairing up, so literal `*word*` stays literal.
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return re.sub(r"([*_~`])", rf"\1{_ZWSP}", text)

    def strong(self, inner: str) -> str:
        return f"*{inner}*" if inner.strip() else inner

    def em(self, inner: str) -> str:
        return f"_{inner}_" if inner.strip() else inner

    def strike(self, inner: str) -> str:
        return f"~{inner}~" if inner.strip() else inner

    def heading(self, text: str, level: int) -> str:
        return self.strong(text)

    def code(self, code: str) -> str:
        return "`" + code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") + "`"

    def code_block(self, code: str) -> str:
        escaped = code.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"```\n{escaped}\n```"

    def link(self, inner: str, href: str, label: str) -> str:
        url = href.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")
        if _same_link(label, href):
            return f"<{url}>"
        return f"<{url}|{inner.replace('|', '¦')}>"


class TelegramWriter(TextWriter):
    """Telegram parse_mode HTML: <b>, <i>, <s>, <a href>, <code>, <pre>, <blockquote>."""

    bullet = "• "
    rule = "──────────"

    def text(self, text: str, line_start: bool = False) -> str:
        return html.escape(text, quote=False)

    def strong(self, inner: str) -> str:
        return f"<b>{inner}</b>"

    def em(self, inner: str) -> str:
        return f"<i>{inner}</i>"

    def strike(self, inner: str) -> str:
        return f"<s>{inner}</s>"

    def heading(self, text: str, level: int) -> str:
        return f"<b>{text}</b>"

    def code(self, code: str) -> str:
        return f"<code>{html.escape(code, quote=False)}</code>"

    def code_block(self, code: str) -> str:
        return f"<pre>{html.escape(code, quote=False)}</pre>"

    def quote(self, text: str) -> str:
        return f"<blockquote>{text}</blockquote>"

    def link(self, inner: str, href: str, label: str) -> str:
        return f'<a href="{html.escape(href, quote=True)}">{inner}</a>'


class MarkdownishWriter(TextWriter):
    """Chat formats that read Markdown (Discord, Teams): literal text is backslash-escaped."""

    inline_specials = r"\\*_`\[\]"
    line_start_specials = re.compile(r"^(\s*)([#>+-]|\d+[.)])")

    def text(self, text: str, line_start: bool = False) -> str:
        text = re.sub(f"([{self.inline_specials}])", r"\\\1", text)
        if line_start:
            text = self.line_start_specials.sub(_escape_last, text)
        return text

    def strong(self, inner: str) -> str:
        return f"**{inner}**" if inner.strip() else inner

    def em(self, inner: str) -> str:
        return f"_{inner}_" if inner.strip() else inner

    def heading(self, text: str, level: int) -> str:
        return self.strong(text)

    def link(self, inner: str, href: str, label: str) -> str:
        url = href.replace("(", "%28").replace(")", "%29").replace(" ", "%20")
        return url if _same_link(label, href) else f"[{inner}]({url})"


def _escape_last(match: re.Match[str]) -> str:
    lead, marker = match.group(1), match.group(2)
    return f"{lead}{marker[:-1]}\\{marker[-1]}"


class DiscordWriter(MarkdownishWriter):
    """Discord markdown: **bold**, *italic*, ~~strike~~, [text](url), `code`."""

    inline_specials = r"\\*_`~|<\[\]"
    rule = "──────────"

    def em(self, inner: str) -> str:
        return f"*{inner}*" if inner.strip() else inner

    def strike(self, inner: str) -> str:
        return f"~~{inner}~~" if inner.strip() else inner

    def code(self, code: str) -> str:
        fence = "``" if "`" in code else "`"
        pad = " " if "`" in code else ""
        return f"{fence}{pad}{code}{pad}{fence}"

    def code_block(self, code: str) -> str:
        return "```\n" + code.replace("```", "`\u200b``") + "\n```"


class TeamsWriter(MarkdownishWriter):
    """Adaptive Card TextBlock markdown: bold, italic, lists, links; nothing else."""

    item_sep = "\r"  # Adaptive Cards separate list items with \r
    # A single \n is a space in a TextBlock; a line break needs an empty line.
    soft_break = "\n\n"
    hard_break = "\n\n"
    rule = "——————————"

    def quote(self, text: str) -> str:
        return text  # no blockquotes in Adaptive Card markdown

    def code(self, code: str) -> str:
        return self.text(code)

    def code_block(self, code: str) -> str:
        return "\n".join(self.text(line, True) for line in code.split("\n"))
