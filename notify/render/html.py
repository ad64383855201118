"""Template Markdown -> a plain HTML fragment for web pages (the status site): no inline styles.

The page's own stylesheet styles it, light or dark; the email writer (notify.render.email_html)
inlines styles instead, because mail clients drop style sheets. All text is escaped: markup only
ever comes from the Markdown's structure, and the parser already refused unsafe links.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from notify.render.writers import TextWriter

if TYPE_CHECKING:
    from markdown_it.tree import SyntaxTreeNode


class PageHtmlWriter(TextWriter):
    """Markdown tree -> HTML fragment of semantic elements only.

    Every element opens through `open_tag`, so the email writer differs only in what it adds
    there (inline styles), in its heading levels and in its code blocks."""

    paragraph_sep = "\n"
    item_sep = "\n"
    soft_break = "<br>\n"
    hard_break = "<br>\n"
    heading_offset = 3  # the page's own headings go down to h3 (an incident's title)

    def open_tag(self, tag: str, attrs: str = "") -> str:
        return f"<{tag}{attrs}>"

    def block(self, node: SyntaxTreeNode) -> str:
        if node.type == "paragraph":
            inner = self.inline(node.children[0]) if node.children else ""
            # Tight list items hold hidden paragraphs: no <p> inside their <li>.
            return inner if node.hidden else f"{self.open_tag('p')}{inner}</p>"
        if node.type == "hr":
            return self.open_tag("hr")
        return super().block(node)

    def heading(self, text: str, level: int) -> str:
        tag = f"h{min(level + self.heading_offset, 6)}"
        return f"{self.open_tag(tag)}{text}</{tag}>"

    def listing(self, node: SyntaxTreeNode) -> str:
        tag = "ol" if node.type == "ordered_list" else "ul"
        start = node.attrs.get("start")
        attrs = f' start="{int(str(start))}"' if tag == "ol" and start not in (None, 1) else ""
        items = [
            self.open_tag("li") + self.blocks(item.children, "\n") + "</li>"
            for item in node.children
        ]
        return f"{self.open_tag(tag, attrs)}\n" + "\n".join(items) + f"\n</{tag}>"

    def quote(self, text: str) -> str:
        return f"{self.open_tag('blockquote')}\n{text}\n</blockquote>"

    def code_block(self, code: str) -> str:
        return f"<pre><code>{escape(code, quote=False)}</code></pre>"

    def text(self, text: str, line_start: bool = False) -> str:
        return escape(text, quote=False)

    def strong(self, inner: str) -> str:
        return f"<strong>{inner}</strong>"

    def em(self, inner: str) -> str:
        return f"<em>{inner}</em>"

    def strike(self, inner: str) -> str:
        return f"<s>{inner}</s>"

    def code(self, code: str) -> str:
        return f"{self.open_tag('code')}{escape(code, quote=False)}</code>"

    def link(self, inner: str, href: str, label: str) -> str:
        attrs = f' href="{escape(href)}"'
        return f"{self.open_tag('a', attrs)}{inner}</a>"
