"""The HTML part of an email: a small, accessible, single-column document with inline styles.

Inline styles because many mail clients drop <style> blocks; no tables for layout, since one
column needs none; sizes and colours chosen for readable text (16px, contrast above 7:1).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import TYPE_CHECKING, Any

from notify.render.html import PageHtmlWriter

if TYPE_CHECKING:
    pass

FONT = "-apple-system, BlinkMacSystemFont, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
MONO = "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace"
TEXT = "#1f2328"
MUTED = "#4d5561"
LINK = "#0a58ca"
STYLE = {
    "p": "margin:0 0 16px;",
    "h1": "margin:0 0 16px;font-size:22px;line-height:1.3;",
    "h2": "margin:24px 0 12px;font-size:19px;line-height:1.3;",
    "h3": "margin:20px 0 8px;font-size:17px;line-height:1.3;",
    "ul": "margin:0 0 16px;padding-left:24px;",
    "ol": "margin:0 0 16px;padding-left:24px;",
    "li": "margin:0 0 4px;",
    "a": f"color:{LINK};text-decoration:underline;",
    "code": f"font-family:{MONO};font-size:14px;background:#f1f3f5;padding:1px 4px;",
    "pre": f"font-family:{MONO};font-size:14px;background:#f1f3f5;padding:12px;"
    "white-space:pre-wrap;margin:0 0 16px;",
    "blockquote": "margin:0 0 16px;padding:0 0 0 12px;border-left:4px solid #c9d1d9;"
    f"color:{MUTED};",
    "hr": "border:0;border-top:1px solid #d0d7de;margin:24px 0;",
}


def _open(tag: str, attrs: str = "") -> str:
    return f'<{tag}{attrs} style="{STYLE[tag]}">'


class HtmlWriter(PageHtmlWriter):
    """Markdown tree -> the email's HTML fragment: the page writer's elements, styled inline."""

    heading_offset = 1  # the document's h1 is the subject

    def open_tag(self, tag: str, attrs: str = "") -> str:
        return _open(tag, attrs)

    def heading(self, text: str, level: int) -> str:
        tag = f"h{min(level + self.heading_offset, 3)}"
        return f"{_open(tag)}{text}</{tag}>"

    def code_block(self, code: str) -> str:
        return f"{_open('pre')}{escape(code, quote=False)}</pre>"


def _heading(subject: str, org_name: str) -> str:
    """The subject without its "[Org] " prefix: the footer names the organization already."""
    prefix = f"[{org_name}]"
    return subject[len(prefix) :].strip() if org_name and subject.startswith(prefix) else subject


def _footer(org: Mapping[str, Any], link: str | None) -> str:
    name = str(org.get("name") or "").strip()
    bits = [escape(name)] if name else []
    page = link or org.get("status_url")
    if page:
        bits.append(f'<a href="{escape(str(page))}" style="{STYLE["a"]}">Status page</a>')
    if org.get("support_url"):
        url = escape(str(org["support_url"]))
        bits.append(f'<a href="{url}" style="{STYLE["a"]}">Support</a>')
    if org.get("support_email"):
        address = escape(str(org["support_email"]))
        bits.append(f'<a href="mailto:{address}" style="{STYLE["a"]}">{address}</a>')
    return " &middot; ".join(bits)


def document(
    body_html: str, *, subject: str, org: Mapping[str, Any], link: str | None, lang: str = "en"
) -> str:
    """A whole HTML email around `body_html`."""
    title = escape(subject)
    heading = escape(_heading(subject, str(org.get("name") or "")))
    footer = _footer(org, link)
    footer_html = (
        f'<footer style="margin:32px 0 0;padding:16px 0 0;border-top:1px solid #d0d7de;'
        f'font-size:14px;line-height:1.5;color:{MUTED};">{footer}</footer>\n'
        if footer
        else ""
    )
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{escape(lang)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="color-scheme" content="light">\n'
        f"<title>{title}</title>\n</head>\n"
        f'<body style="margin:0;padding:0;background:#f6f8fa;">\n'
        f'<main style="max-width:600px;margin:0 auto;padding:32px 24px;background:#ffffff;'
        f'font-family:{FONT};font-size:16px;line-height:1.6;color:{TEXT};">\n'
        f'<h1 style="{STYLE["h1"]}">{heading}</h1>\n'
        f"{body_html}\n"
        f"{footer_html}"
        "</main>\n</body>\n</html>\n"
    )
