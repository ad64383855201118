"""The slack channel: a thread per incident whose first message shows the current status."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from notify.channels.base import (
    ChannelCheckError,
    ChannelNotVerified,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.slack import SlackChannel
from notify.channels.testing import delivery_context, mock_client

TOKEN = "xoxb-1111-2222-secret-token"
HOOK = "https://hooks.slack.com/services/T000/B000/hooksecret123456"
CHANNEL = "C0123456789"
STATUSES = ["investigating", "identified", "resolved"]

Handler = Callable[[httpx.Request], httpx.Response]


def make_ctx(
    client: httpx.AsyncClient, number: int = 1, status: str = "investigating"
) -> DeliveryContext:
    return delivery_context(
        client,
        incident={"id": "inc-1", "title": "Payments API errors", "status": status},
        update={"number": number, "status": status, "at": f"2026-11-22T14:3{number}:00+00:00"},
        org={"name": "Acme Cloud"},
        delivery_key=f"dk-{number}",
    )


class FakeSlack:
    """chat.postMessage / chat.update / auth.test, keeping messages by ts as Slack does."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any], httpx.Request]] = []
        self.messages: dict[str, dict[str, Any]] = {}
        self.next_ts = 1732270000
        self.update_answer: dict[str, Any] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.rsplit("/", 1)[-1]
        body = json.loads(request.content or b"{}")
        self.calls.append((method, body, request))
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(200, json={"ok": False, "error": "invalid_auth"})
        if method == "auth.test":
            return httpx.Response(200, json={"ok": True, "team": "Acme", "user": "statusbot"})
        if method == "chat.update":
            if self.update_answer is not None:
                return httpx.Response(200, json=self.update_answer)
            self.messages[body["ts"]]["text"] = body["text"]
            return httpx.Response(
                200, json={"ok": True, "channel": body["channel"], "ts": body["ts"]}
            )
        self.next_ts += 1
        ts = f"{self.next_ts}.000100"
        self.messages[ts] = dict(body)
        return httpx.Response(200, json={"ok": True, "channel": body["channel"], "ts": ts})

    def posts(self) -> list[dict[str, Any]]:
        return [body for method, body, _ in self.calls if method == "chat.postMessage"]


def slack(**settings: Any) -> SlackChannel:
    base = {"token": TOKEN, "channel": CHANNEL, "base_url": "https://slack.test/api"}
    return SlackChannel("ops-slack", {**base, **settings})


def thread_of(receipts: list[Receipt]) -> ThreadRef:
    data = [dict(r.thread_data, provider_message_id=r.provider_message_id) for r in receipts]
    if not data:
        return ThreadRef()
    return ThreadRef(root=data[0], previous=data[-1], history=tuple(data))


def client_for(
    handler: Handler | httpx.AsyncClient,
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    if isinstance(handler, httpx.AsyncClient):
        return contextlib.nullcontext(handler)  # a real client (sandbox), closed by its owner
    return mock_client(handler)


async def lifecycle(ch: SlackChannel, handler: Handler | httpx.AsyncClient) -> list[Receipt]:
    receipts: list[Receipt] = []
    async with client_for(handler) as client:
        for number, status in enumerate(STATUSES, start=1):
            msg = Message(text=f"*{status.title()}* — update {number}", status=status)
            ctx = make_ctx(client, number, status)
            receipts.append(await ch.send(msg, Recipient(ch.target()), thread_of(receipts), ctx))
    return receipts


async def send_once(
    ch: SlackChannel, handler: Handler | httpx.AsyncClient, thread: ThreadRef | None = None
) -> Receipt:
    async with client_for(handler) as client:
        msg = Message(text="*Investigating* — errors on checkout", status="investigating")
        return await ch.send(msg, Recipient(ch.target()), thread or ThreadRef(), make_ctx(client))


async def test_an_incident_is_one_thread_and_its_first_message_shows_the_status() -> None:
    fake = FakeSlack()
    receipts = await lifecycle(slack(), fake)

    assert all(r.ok for r in receipts)
    first, second, third = fake.posts()
    root_ts = receipts[0].provider_message_id
    assert (
        first["channel"] == CHANNEL and first["mrkdwn"] is True and first["unfurl_links"] is False
    )
    assert "thread_ts" not in first
    assert second["thread_ts"] == root_ts and third["thread_ts"] == root_ts  # the parent's ts
    assert second["reply_broadcast"] is False
    assert receipts[0].thread_data == {
        "channel": CHANNEL,
        "ts": root_ts,
        "root_text": "*Investigating* — update 1",
    }

    updates = [body for method, body, _ in fake.calls if method == "chat.update"]
    assert [u["ts"] for u in updates] == [root_ts, root_ts]
    root_now = fake.messages[str(root_ts)]["text"]
    first_line, rest = root_now.split("\n", 1)
    assert first_line == ":large_green_circle: *Resolved* — updated 14:33 UTC"
    assert rest == "*Investigating* — update 1"  # one status line, replaced, never stacked
    assert root_now.count("updated") == 1
    assert "root_edit_error" not in receipts[2].thread_data


async def test_requests_carry_the_token_as_bearer_in_a_utf8_json_body() -> None:
    fake = FakeSlack()
    await send_once(slack(username="Status", icon_emoji=":rotating_light:"), fake)
    method, body, request = fake.calls[0]
    assert method == "chat.postMessage"
    assert str(request.url) == "https://slack.test/api/chat.postMessage"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert body["username"] == "Status" and body["icon_emoji"] == ":rotating_light:"


async def test_reply_broadcast_shows_replies_in_the_channel_too() -> None:
    fake = FakeSlack()
    await lifecycle(slack(reply_broadcast=True), fake)
    assert [p.get("reply_broadcast") for p in fake.posts()] == [None, True, True]


async def test_a_failed_status_edit_does_not_fail_the_reply() -> None:
    fake = FakeSlack()
    fake.update_answer = {"ok": False, "error": "cant_update_message"}
    receipts = await lifecycle(slack(), fake)
    assert all(r.ok for r in receipts)
    assert "cant_update_message" in receipts[1].thread_data["root_edit_error"]


async def test_a_network_error_during_the_status_edit_does_not_repost_the_reply() -> None:
    fake = FakeSlack()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("chat.update"):
            raise httpx.ReadTimeout("timed out")
        return fake(request)

    root = await send_once(slack(), handler)
    reply = await send_once(slack(), handler, thread_of([root]))
    assert reply.ok and "timed out" in reply.thread_data["root_edit_error"]


async def test_a_revoked_token_is_final_and_says_what_to_check_without_the_token() -> None:
    receipt = await send_once(slack(token="xoxb-wrong-token-99999"), FakeSlack())
    assert not receipt.ok and not receipt.retryable
    assert receipt.error == (
        "slack channel 'ops-slack' rejected the token (invalid_auth): "
        "check SLACK_BOT_TOKEN / the token in channels.yaml"
    )


@pytest.mark.parametrize(
    ("status", "body", "headers", "retryable", "retry_after"),
    [
        (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "7"}, True, 7.0),
        (200, {"ok": False, "error": "ratelimited"}, {}, True, None),
        (503, {"ok": False, "error": "service_unavailable"}, {}, True, None),
        (500, "<html>oops</html>", {}, True, None),
        (200, {"ok": False, "error": "msg_too_long"}, {}, False, None),
        (404, "Not Found", {}, False, None),
    ],
)
async def test_answers_map_to_receipts(
    status: int, body: Any, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body, headers=headers)
        return httpx.Response(status, text=body, headers=headers)

    receipt = await send_once(slack(), handler)
    assert not receipt.ok
    assert (receipt.retryable, receipt.retry_after) == (retryable, retry_after)
    assert receipt.error and "ops-slack" in receipt.error and TOKEN not in receipt.error


@pytest.mark.parametrize(
    ("code", "hint"),
    [
        ("not_in_channel", "invite the app"),
        ("channel_not_found", "channel ID"),
        ("is_archived", "archived"),
        ("missing_scope", "chat:write"),
    ],
)
async def test_final_errors_come_with_a_hint(code: str, hint: str) -> None:
    receipt = await send_once(
        slack(), lambda r: httpx.Response(200, json={"ok": False, "error": code})
    )
    assert not receipt.ok and not receipt.retryable
    assert receipt.error and code in receipt.error and hint in receipt.error


async def test_webhook_mode_posts_text_without_threading() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    ch = SlackChannel("hook-slack", {"webhook_url": HOOK})
    receipts = await lifecycle(ch, handler)
    assert all(r.ok and r.provider_message_id is None and r.thread_data == {} for r in receipts)
    assert [str(r.url) for r in seen] == [HOOK] * 3
    bodies = [json.loads(r.content) for r in seen]
    assert bodies[2]["text"] == "*Resolved* — update 3" and "thread_ts" not in bodies[2]
    assert ch.target() == "webhook"


async def test_a_removed_webhook_is_final_and_never_shows_its_url() -> None:
    ch = SlackChannel("hook-slack", {"webhook_url": HOOK})
    receipt = await send_once(ch, lambda r: httpx.Response(404, text="no_service"))
    assert not receipt.ok and not receipt.retryable
    assert receipt.error and "no_service" in receipt.error and "create a new one" in receipt.error
    assert "hooksecret123456" not in receipt.error


async def test_network_errors_propagate_without_the_webhook_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused for {HOOK}")

    with pytest.raises(httpx.ConnectError) as caught:
        await send_once(SlackChannel("hook-slack", {"webhook_url": HOOK}), handler)
    assert "hooksecret123456" not in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"token": TOKEN, "channel": CHANNEL, "webhook_url": HOOK}, "webhook_url", "not both"),
        ({}, "token", "webhook_url"),
        ({"token": TOKEN, "channel": "#ops"}, "channel", "channel ID"),
        ({"token": TOKEN}, "channel", "set channel too"),
    ],
)
def test_validate_explains_the_two_ways_to_configure(
    settings: dict[str, Any], field: str, words: str
) -> None:
    problems = SlackChannel("ops-slack", settings).validate()
    assert problems and problems[0][0] == field and words in problems[0][1]
    assert SlackChannel("ops-slack", {"token": TOKEN, "channel": CHANNEL}).validate() == []


async def test_check_online_proves_the_token_without_posting() -> None:
    fake = FakeSlack()
    async with mock_client(fake) as client:
        assert await slack().check_online(make_ctx(client)) == "token for Acme as statusbot"
        with pytest.raises(ChannelCheckError, match="rejected the token") as caught:
            await slack(token="xoxb-bad-token-00000").check_online(make_ctx(client))
        hook = SlackChannel("hook-slack", {"webhook_url": HOOK})
        with pytest.raises(ChannelNotVerified, match="only posting"):
            await hook.check_online(make_ctx(client))
    assert "xoxb-bad-token-00000" not in str(caught.value)
    assert [method for method, _, _ in fake.calls] == ["auth.test", "auth.test"]


def test_length_is_counted_against_slacks_40000_characters() -> None:
    length = slack().measure(Message(text="x" * 40001))
    assert length is not None and not length.ok and length.limit == 40000


# --- against the sandbox, over real sockets ---------------------------------------------------


async def test_sandbox_lifecycle_threads_replies_under_the_first_message() -> None:
    from notify.sandbox import Credentials, Sandbox

    creds = Credentials()
    with Sandbox() as sb:
        ch = SlackChannel(
            "ops-slack",
            {"token": creds.slack_token, "channel": CHANNEL, "base_url": sb.base_url("slack")},
        )
        async with httpx.AsyncClient() as client:
            receipts = await lifecycle(ch, client)
        posts = sb.posts("slack")

    assert all(r.ok for r in receipts)
    root, *replies = posts
    assert root["thread_ts"] is None and root["ts"] == receipts[0].provider_message_id
    assert [p["thread_ts"] for p in replies] == [root["ts"], root["ts"]]
    assert not any(p["thread_ts_invalid"] for p in replies)
    assert len(root["edits"]) == 2
    assert root["text"].startswith(":large_green_circle: *Resolved* — updated 14:33 UTC\n")
    assert root["text"].endswith("*Investigating* — update 1")


async def test_sandbox_errors_map_to_receipts() -> None:
    from notify.sandbox import Credentials, Sandbox

    creds = Credentials()
    with Sandbox() as sb:
        base = {"channel": CHANNEL, "base_url": sb.base_url("slack")}
        good = SlackChannel("ops-slack", {"token": creds.slack_token, **base})
        bad = SlackChannel("ops-slack", {"token": "xoxb-not-the-sandbox-token", **base})
        hook = SlackChannel("hook-slack", {"webhook_url": sb.webhook_url("slack")})
        async with httpx.AsyncClient() as client:
            refused = await send_once(bad, client)
            sb.fail("slack", 429, retry_after=3)
            limited = await send_once(good, client)
            sb.fail("slack", 503)
            failing = await send_once(good, client)
            hooked = await send_once(hook, client)
            proven = await good.check_online(make_ctx(client))

    assert not refused.ok and not refused.retryable and "invalid_auth" in (refused.error or "")
    assert limited.retryable and limited.retry_after == 3.0
    assert failing.retryable and failing.status_code == 503
    assert hooked.ok and hooked.provider_message_id is None
    assert proven.startswith("token for ")
