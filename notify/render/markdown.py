"""Template Markdown -> a syntax tree the format writers walk.

CommonMark with raw HTML off (template text is trusted Markdown, not HTML), bare URLs autolinked
with one simple regex (no linkify dependency), and marked variable spans made literal first.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from notify.render.marks import URL_RE, escape_marked

if TYPE_CHECKING:
    from markdown_it import MarkdownIt
    from markdown_it.token import Token
    from markdown_it.tree import SyntaxTreeNode


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False})


def _autolink_children(md: MarkdownIt, children: list[Token]) -> list[Token]:
    """Split text tokens outside links at bare URLs into link_open / text / link_close."""
    from markdown_it.token import Token

    out: list[Token] = []
    depth = 0  # inside [text](url) already: leave its text alone
    for token in children:
        if token.type == "link_open":
            depth += 1
        elif token.type == "link_close":
            depth -= 1
        if token.type != "text" or depth > 0 or "://" not in token.content:
            out.append(token)
            continue
        pos = 0
        for match in URL_RE.finditer(token.content):
            href = md.normalizeLink(match.group(0))
            if not md.validateLink(href):
                continue
            if match.start() > pos:
                out.append(Token("text", "", 0, content=token.content[pos : match.start()]))
            out.append(Token("link_open", "a", 1, attrs={"href": href}, markup="autolink"))
            out.append(Token("text", "", 0, content=match.group(0)))
            out.append(Token("link_close", "a", -1, markup="autolink"))
            pos = match.end()
        if pos < len(token.content):
            out.append(Token("text", "", 0, content=token.content[pos:]))
    return out


def parse(marked_markdown: str, defuse: Callable[[str], str] | None = None) -> SyntaxTreeNode:
    """The tree of `marked_markdown`, its variable spans literal (`defuse`: a format's extras)."""
    from markdown_it.tree import SyntaxTreeNode

    md = _parser()
    tokens = md.parse(escape_marked(marked_markdown, defuse))
    for token in tokens:
        if token.type == "inline" and token.children:
            token.children = _autolink_children(md, token.children)
    return SyntaxTreeNode(tokens)
