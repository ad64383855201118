"""Every adapter's every text field, with the same hostile strings, through the real CLI: a title,
a message and variables full of markup reach each provider as text, never as links, emphasis,
HTML, headings or pings on a formatted surface."""

from __future__ import annotations

import json
from typing import Any

from tests.conftest import Workspace

# A phishing link, emphasis, HTML, a Slack broadcast, a Discord ping and a heading.
HOSTILE = "[Verify your account](https://evil.example) **URGENT** <b>bold</b> <!channel> @everyone"
LINK = "[Verify your account]("


def _markdown_is_literal(text: str, where: str) -> None:
    """On a Markdown surface (Teams, Discord): the link and emphasis stay escaped."""
    assert LINK not in text, f"{where}: a live link: {text!r}"
    assert "**URGENT**" not in text, f"{where}: live emphasis: {text!r}"


def _bluesky_links_show_their_address(post: dict[str, Any]) -> None:
    text = post["text"].encode()
    for facet in post.get("facets") or ():
        for feature in facet["features"]:
            if feature.get("$type", "").endswith("#link"):
                shown = text[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode()
                assert shown == feature["uri"], f"bluesky: a link reading {shown!r}"


def test_hostile_text_is_literal_on_every_channel(workspace: Workspace) -> None:
    result = workspace.run(
        "send",
        "investigating",
        "--title",
        HOSTILE,
        "--message",
        f"# Heading\n{HOSTILE}",
        "--set",
        f"workaround={HOSTILE}",
        "--set",
        f"eta={HOSTILE}",
        "--yes",
        "--json",
    )
    assert result.code == 0, result.output
    sb = workspace.sandbox

    (slack,) = sb.posts("slack")
    assert "<https://evil.example|" not in slack["text"]  # no link with other words on it
    assert "<!channel>" not in slack["text"] and "@everyone" not in slack["text"]
    assert "*URGENT*" not in slack["text"] and "<b>" not in slack["text"]

    (teams,) = sb.posts("teams")
    (card,) = teams["cards"]
    for block in card["body"]:
        for text in [block.get("text", "")] + [f["value"] for f in block.get("facts", [])]:
            _markdown_is_literal(text, "teams")
    assert any("Verify your account" in block.get("text", "") for block in card["body"][:1])

    (discord,) = sb.posts("discord")
    _markdown_is_literal(discord["content"], "discord")
    assert "@everyone" not in discord["content"] and discord["allowed_mentions"] == {"parse": []}
    assert "<b>" not in discord["content"].replace("\\<b>", "")

    (telegram,) = sb.posts("telegram")
    assert telegram["parse_mode"] == "HTML"
    assert ">Verify your account</a>" not in telegram["raw_text"]
    assert "<b>bold</b>" not in telegram["raw_text"]
    for entity in telegram["entities"]:
        if entity["type"] == "text_link":
            start, end = entity["offset"], entity["offset"] + entity["length"]
            shown = telegram["text"].encode("utf-16-le")[start * 2 : end * 2].decode("utf-16-le")
            assert shown == entity["url"], f"telegram: a link reading {shown!r}"

    for email in sb.emails():
        html = email.get_body(preferencelist=("html",)).get_content()
        assert ">Verify your account</a>" not in html
        assert "<b>bold</b>" not in html and "<strong>URGENT" not in html
        assert email["Subject"].count("\n") == 0

    for post in sb.posts("bluesky"):
        _bluesky_links_show_their_address(post)
    plain = [p["text"] for p in sb.posts("mastodon") + sb.posts("bluesky") + sb.posts("x")]
    plain += [p["body"] for p in sb.posts("twilio")]
    for text in plain:  # plain surfaces: the words as typed, nothing to interpret them
        assert "Verify your account" in text

    (hook,) = sb.posts("webhook")
    assert hook["body"]["incident"]["name"] == HOSTILE  # JSON: the value itself
    json.dumps(hook["body"])
