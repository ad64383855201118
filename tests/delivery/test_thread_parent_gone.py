"""A deleted thread parent (issue 9, item 7): the update is posted unthreaded, the result and the
journal say so, and later updates thread under the new post. Through the real CLI against the
sandbox, whose emulators answer a reply to a deleted post as the real services do."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from tests.conftest import Workspace

TITLE = "Search down"

# channel, provider, the id a post is deleted by, the field a reply names its parent in
CASES = [
    ("mastodon", "mastodon", "id", lambda p: p.get("in_reply_to_id")),
    (
        "bluesky",
        "bluesky",
        "uri",
        lambda p: ((p.get("reply") or {}).get("parent") or {}).get("uri"),
    ),
    (
        "status-telegram",
        "telegram",
        "message_id",
        lambda p: p.get("reply_to_message_id"),
    ),
    ("ops-slack", "slack", "ts", lambda p: p.get("thread_ts")),
]


def send(ws: Workspace, template: str, channel: str, *extra: str) -> Any:
    result = ws.run(
        "send", template, "--message", f"{template}.", "--to", channel, "--yes", "--json", *extra
    )
    assert result.code == 0, result.output
    return result.json()


@pytest.mark.parametrize(("channel", "provider", "id_field", "parent_of"), CASES)
def test_a_deleted_parent_posts_unthreaded_and_later_updates_follow_the_new_post(
    workspace: Workspace, channel: str, provider: str, id_field: str, parent_of: Any
) -> None:
    sb = workspace.sandbox
    incident = send(workspace, "investigating", channel, "--title", TITLE)["incident"]["id"]
    first = sb.posts(provider)[-1]
    assert sb.delete_post(provider, str(first[id_field]))

    second = send(workspace, "identified", channel, "--incident", incident)
    delivery = second["deliveries"][0]
    assert delivery["status"] == "sent", delivery
    assert delivery["error"].startswith("posted unthreaded: the post it replies to is gone")
    new_post = sb.posts(provider)[-1]
    assert parent_of(new_post) in (None, "")

    with sqlite3.connect(workspace.journal) as db:
        (status, error, thread) = db.execute(
            "SELECT status, error, thread_data FROM deliveries ORDER BY id DESC LIMIT 1"
        ).fetchone()
    assert status == "sent" and "posted unthreaded" in error and "thread_restarted" in thread

    third = send(workspace, "resolved", channel, "--incident", incident)
    assert third["deliveries"][0]["status"] == "sent" and third["deliveries"][0]["error"] is None
    assert str(parent_of(sb.posts(provider)[-1])) == str(new_post[id_field])
