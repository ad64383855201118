"""Markdown bodies converted for each channel, and variables that must stay plain text."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from notify.render.formats import (
    build_message,
    to_discord,
    to_email_html,
    to_plain,
    to_slack,
    to_teams,
    to_telegram,
)
from notify.render.marks import MARK_CLOSE, MARK_OPEN, mark
from notify.render.templates import RenderedParts

ORG = {"name": "Acme Cloud", "status_url": "https://status.acme.example"}
BODY = (
    "**Investigating** — payments _fail_ for some.\n\n"
    "See [the status page](https://status.acme.example/i/1).\n\n"
    "- API\n- Dashboard\n\n"
    "Next: `retry`"
)
EVIL = (
    "<!channel> @everyone @here <script>alert(1)</script> **bold** "
    "[x](http://evil.example) <@U123> &amp; # not a heading"
)


def test_plain_text_is_readable() -> None:
    assert to_plain(BODY) == (
        "Investigating — payments fail for some.\n\n"
        "See the status page (https://status.acme.example/i/1).\n\n"
        "- API\n- Dashboard\n\n"
        "Next: retry"
    )


def test_slack_mrkdwn() -> None:
    assert to_slack(BODY) == (
        "*Investigating* — payments _fail_ for some.\n\n"
        "See <https://status.acme.example/i/1|the status page>.\n\n"
        "• API\n• Dashboard\n\n"
        "Next: `retry`"
    )


def test_telegram_html() -> None:
    assert to_telegram(BODY) == (
        "<b>Investigating</b> — payments <i>fail</i> for some.\n\n"
        'See <a href="https://status.acme.example/i/1">the status page</a>.\n\n'
        "• API\n• Dashboard\n\n"
        "Next: <code>retry</code>"
    )


def test_discord_markdown() -> None:
    assert to_discord(BODY) == (
        "**Investigating** — payments *fail* for some.\n\n"
        "See [the status page](https://status.acme.example/i/1).\n\n"
        "- API\n- Dashboard\n\n"
        "Next: `retry`"
    )


def test_teams_adaptive_card_markdown_separates_list_items_with_cr() -> None:
    assert to_teams(BODY) == (
        "**Investigating** — payments _fail_ for some.\n\n"
        "See [the status page](https://status.acme.example/i/1).\n\n"
        "- API\r- Dashboard\n\n"
        "Next: retry"
    )


def test_bare_urls_become_links_everywhere() -> None:
    md = "Follow " + mark("https://status.acme.example/incidents/a_b") + "."
    assert to_slack(md) == "Follow <https://status.acme.example/incidents/a_b>."
    assert 'href="https://status.acme.example/incidents/a_b"' in to_telegram(md)
    assert to_discord(md) == "Follow https://status.acme.example/incidents/a_b."
    assert 'href="https://status.acme.example/incidents/a_b"' in to_email_html(
        md, subject="s", org=ORG, link=None
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.hrefs += [v or "" for k, v in attrs if k == "href"]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_email_html_is_a_complete_accessible_document() -> None:
    html = to_email_html(
        BODY, subject="[Acme Cloud] Payments <API> errors", org=ORG, link="https://s.example/i/1"
    )
    parsed = _Collector()
    parsed.feed(html)

    assert html.startswith("<!DOCTYPE html>")
    assert '<html lang="en">' in html and '<meta charset="utf-8">' in html
    assert "<title>[Acme Cloud] Payments &lt;API&gt; errors</title>" in html
    assert "table" not in parsed.tags and "style" not in parsed.tags
    assert parsed.tags.count("h1") == 1 and "ul" in parsed.tags and "strong" in parsed.tags
    assert "https://s.example/i/1" in parsed.hrefs  # the footer links the status page
    assert "Acme Cloud" in "".join(parsed.text)
    assert "font-size:16px" in html


def test_email_footer_adds_support_contacts_when_known() -> None:
    org = {**ORG, "support_email": "help@acme.example"}
    html = to_email_html("Hi", subject="s", org=org, link=None)
    assert 'href="mailto:help@acme.example"' in html
    assert 'href="https://status.acme.example"' in html


FORMATS = {
    "plain": to_plain,
    "slack": to_slack,
    "telegram": to_telegram,
    "discord": to_discord,
    "teams": to_teams,
    "email": lambda md: to_email_html(md, subject="s", org=ORG, link=None),
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_no_sentinel_survives_any_format(name: str) -> None:
    out = FORMATS[name]("Hi " + mark("there\n\nfriend") + " " + mark("**x**"))
    assert MARK_OPEN not in out and MARK_CLOSE not in out


def _evil(template: str = "Update: {}") -> str:
    return template.format(mark(EVIL))


def test_variables_cannot_ping_or_link_in_slack() -> None:
    out = to_slack(_evil())
    assert "<!channel>" not in out and "<@U123>" not in out
    assert "&lt;!channel&gt;" in out and "&lt;script&gt;" in out
    assert "|x>" not in out  # no disguised link
    # mrkdwn has no escapes: a zero-width space after each * keeps the asterisks literal
    assert "*\u200b*\u200bbold*\u200b*\u200b" in out
    assert "&amp;amp;" in out  # a literal "&amp;" stays literal


def test_variables_cannot_ping_or_format_in_discord() -> None:
    out = to_discord(_evil())
    assert "@everyone" not in out and "@here" not in out
    assert "@\u200beveryone" in out
    assert "\\*\\*bold\\*\\*" in out
    assert "[x](" not in out
    assert "\\<@U123>" in out


def test_template_text_may_ping_in_discord() -> None:
    assert to_discord("@here " + mark("@everyone")) == "@here @\u200beveryone"


def test_variables_are_escaped_in_telegram_html() -> None:
    out = to_telegram(_evil())
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<b>" not in out
    assert '<a href="http://evil.example">http://evil.example</a>' in out  # shown, not disguised


def test_variables_are_literal_in_teams() -> None:
    out = to_teams(_evil())
    assert "\\*\\*bold\\*\\*" in out and "\\[x\\](" in out


def test_variables_are_escaped_in_email_html() -> None:
    html = to_email_html(_evil(), subject="s", org=ORG, link=None)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<strong>bold</strong>" not in html
    assert ">x</a>" not in html
    assert "&amp;amp;" in html


def test_variables_keep_their_characters_in_plain_text() -> None:
    assert to_plain(_evil()) == f"Update: {EVIL}"


def test_variables_cannot_make_headings_lists_or_code_blocks() -> None:
    md = mark("line one\n# Heading\n- item\n1. first\n\n    indented code\n---")
    html = to_email_html(md, subject="s", org=ORG, link=None)
    for tag in ("<h2", "<ul", "<ol", "<pre", "<hr"):
        assert tag not in html
    assert to_plain(md) == "line one\n# Heading\n- item\n1. first\n\nindented code\n---"


def test_template_markdown_around_a_variable_still_works() -> None:
    assert to_slack("**" + mark("Resolved") + "**") == "*Resolved*"
    link = to_slack("[Status](" + mark("https://status.acme.example/?a=1&b=2") + ")")
    assert link == "<https://status.acme.example/?a=1&amp;b=2|Status>"


def _parts(text: str, subject: str = "[Acme Cloud] Payments API errors") -> RenderedParts:
    return RenderedParts(subject=subject, text=text)


def test_build_message_plain_is_the_short_text_tidied() -> None:
    parts = _parts(mark("Acme") + ":  we are   on it.\n\n\n\n" + mark("https://s.example"))
    message = build_message(
        parts, "plain", status="investigating", link="https://s.example", org=ORG
    )
    assert message.text == "Acme: we are on it.\n\nhttps://s.example"
    assert message.subject is None
    assert (message.status, message.link) == ("investigating", "https://s.example")


def test_build_message_email_has_text_html_and_one_line_subject() -> None:
    parts = _parts("**Hi** " + mark("<b>x</b>"), subject="Subject\r\nBcc: x")
    message = build_message(parts, "email", status="resolved", link=None, org=ORG)
    assert message.subject == "Subject Bcc: x"
    assert message.text == "Hi <b>x</b>"
    assert message.html is not None and "<strong>Hi</strong> &lt;b&gt;x&lt;/b&gt;" in message.html
    assert "<title>Subject Bcc: x</title>" in message.html


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("slack", "*Hi*"),
        ("telegram", "<b>Hi</b>"),
        ("discord", "**Hi**"),
        ("teams", "**Hi**"),
        ("webhook", "Hi"),
    ],
)
def test_build_message_chat_formats(fmt: str, expected: str) -> None:
    message = build_message(_parts("**Hi**"), fmt, status=None, link=None, org=ORG)
    assert message.text == expected
    assert message.subject == "[Acme Cloud] Payments API errors"
    assert message.html is None


def test_build_message_rejects_an_unknown_format() -> None:
    with pytest.raises(ValueError, match="carrier-pigeon"):
        build_message(_parts("x"), "carrier-pigeon", status=None, link=None, org=ORG)


def test_subjects_never_carry_line_breaks_into_any_format() -> None:
    for fmt in ("email", "slack", "telegram", "discord", "teams", "webhook"):
        parts = _parts("x", subject=mark("Title\r\nBcc: evil@example.com\n"))
        subject = build_message(parts, fmt, status=None, link=None, org=ORG).subject
        assert subject is not None and not re.search(r"[\r\n]", subject)
