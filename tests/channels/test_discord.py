"""The discord adapter: webhook posts, no pings, and forum threads per incident."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from notify.channels.base import DeliveryContext, Message, Receipt, Recipient, ThreadRef
from notify.channels.discord import DiscordChannel
from notify.channels.testing import delivery_context

TOKEN = "dwt-9f8e7d6c5b4a39281706f5e4d3c2b1a0"
URL = f"https://discord.com/api/v10/webhooks/100000000000000001/{TOKEN}"
LIFECYCLE = [
    Message(text="**Investigating** errors on @everyone's payments", subject="Payments errors"),
    Message(text="**Identified** a bad deploy", subject="Payments errors"),
    Message(text="**Resolved**", subject="Payments errors"),
]


def context(handler: Any, http: httpx.AsyncClient | None = None) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    incident = {"id": "db-1", "title": "Payments API errors"}
    return delivery_context(http, handler=handler, incident=incident, delivery_key="k-1")


def channel(**settings: Any) -> DiscordChannel:
    return DiscordChannel("ops-discord", {"webhook_url": URL, "forum": False, **settings})


class FakeDiscord:
    """Answers like Discord with ?wait=true; forum posts open a thread whose id is the channel."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        n = len(self.requests)
        body = json.loads(request.content)
        thread = request.url.params.get("thread_id")
        channel_id = thread or ("900000000000000001" if "thread_name" in body else "800")
        return httpx.Response(200, json={"id": f"70000000000000000{n}", "channel_id": channel_id})


async def lifecycle(discord: DiscordChannel, ctx: DeliveryContext) -> list[Receipt]:
    receipts: list[Receipt] = []
    for message in LIFECYCLE:
        done = [r.thread_data | {"provider_message_id": r.provider_message_id} for r in receipts]
        thread = ThreadRef(done[0], done[-1], tuple(done)) if done else ThreadRef()
        receipts.append(await discord.send(message, Recipient("webhook"), thread, ctx))
    return receipts


async def test_an_update_posts_the_text_and_pings_nobody() -> None:
    fake = FakeDiscord()
    discord = channel(webhook_url=URL + "?with_components=false", username="Acme Status")

    (receipt, *_) = await lifecycle(discord, context(fake))

    assert receipt.ok and receipt.provider_message_id == "700000000000000001"
    assert receipt.thread_data == {"id": "700000000000000001", "channel_id": "800"}
    request = fake.requests[0]
    assert request.method == "POST" and request.url.path.endswith(f"/{TOKEN}")
    assert dict(request.url.params) == {"with_components": "false", "wait": "true"}
    body = json.loads(request.content)
    assert body == {
        "content": LIFECYCLE[0].text,
        "allowed_mentions": {"parse": []},
        "username": "Acme Status",
    }


async def test_without_forum_later_updates_are_plain_posts() -> None:
    fake = FakeDiscord()

    receipts = await lifecycle(channel(), context(fake))

    assert all(r.ok for r in receipts)
    for request in fake.requests:
        assert "thread_id" not in request.url.params
        assert "thread_name" not in json.loads(request.content)


async def test_in_a_forum_each_incident_is_one_thread() -> None:
    fake = FakeDiscord()

    receipts = await lifecycle(channel(forum=True), context(fake))

    first, second, third = (json.loads(r.content) for r in fake.requests)
    assert first["thread_name"] == "Payments errors"
    assert "thread_id" not in fake.requests[0].url.params
    for request, body in zip(fake.requests[1:], (second, third), strict=True):
        assert request.url.params["thread_id"] == "900000000000000001"
        assert request.url.params["wait"] == "true"
        assert "thread_name" not in body
    assert [r.thread_data["channel_id"] for r in receipts] == ["900000000000000001"] * 3


async def test_a_forum_thread_name_is_cut_to_100_characters() -> None:
    fake = FakeDiscord()
    discord = channel(forum=True)
    long = Message(text="x", subject="S" * 150)
    await discord.send(long, Recipient("webhook"), ThreadRef(), context(fake))
    assert json.loads(fake.requests[0].content)["thread_name"] == "S" * 100


@pytest.mark.parametrize(
    ("body", "headers", "wait"),
    [
        ({"message": "You are being rate limited.", "retry_after": 1.5, "global": False}, {}, 1.5),
        ({"message": "You are being rate limited."}, {"X-RateLimit-Reset-After": "2.25"}, 2.25),
        ({"message": "You are being rate limited."}, {"Retry-After": "3"}, 3.0),
    ],
)
async def test_rate_limits_are_retried_after_the_time_discord_asks(
    body: dict[str, Any], headers: dict[str, str], wait: float
) -> None:
    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json=body, headers=headers)

    receipt = await channel().send(
        LIFECYCLE[0], Recipient("webhook"), ThreadRef(), context(limited)
    )

    assert not receipt.ok and receipt.retryable and receipt.retry_after == wait


@pytest.mark.parametrize("status", [401, 404])
async def test_a_bad_or_deleted_webhook_is_final_and_the_token_stays_secret(status: int) -> None:
    def gone(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"message": f"Unknown Webhook {TOKEN}", "code": 10015})

    receipt = await channel().send(LIFECYCLE[0], Recipient("webhook"), ThreadRef(), context(gone))

    assert not receipt.ok and not receipt.retryable and receipt.status_code == status
    assert "'ops-discord'" in str(receipt.error) and "check the webhook URL" in str(receipt.error)
    assert TOKEN not in str(receipt.error)


async def test_an_invalid_form_body_says_which_field() -> None:
    def invalid(request: httpx.Request) -> httpx.Response:
        errors = {
            "content": {
                "_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}
                ]
            }
        }
        return httpx.Response(
            400, json={"code": 50035, "message": "Invalid Form Body", "errors": errors}
        )

    receipt = await channel().send(
        LIFECYCLE[0], Recipient("webhook"), ThreadRef(), context(invalid)
    )

    assert not receipt.ok and not receipt.retryable
    assert "Invalid Form Body: content: Must be 2000 or fewer in length." in str(receipt.error)
    assert "50035" in str(receipt.error)


async def test_server_errors_may_be_retried() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html><h1>502 Bad Gateway</h1></html>")

    receipt = await channel().send(LIFECYCLE[0], Recipient("webhook"), ThreadRef(), context(down))
    assert receipt.retryable and "502 Bad Gateway" in str(receipt.error)


async def test_a_network_error_never_shows_the_webhook_token() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}")

    with pytest.raises(httpx.ReadTimeout) as caught:
        await channel().send(LIFECYCLE[0], Recipient("webhook"), ThreadRef(), context(unreachable))
    assert TOKEN not in str(caught.value)


async def test_check_online_reads_the_webhook_without_posting() -> None:
    seen: list[str] = []

    def webhook(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(200, json={"name": "Status", "channel_id": "800", "token": TOKEN})

    assert await channel().check_online(context(webhook)) == "webhook 'Status' of channel 800"
    assert seen == ["GET"]


def test_length_and_settings_rules() -> None:
    discord = channel()
    assert discord.measure(Message(text="x" * 2000)).ok
    assert not discord.measure(Message(text="x" * 2001)).ok
    assert discord.target() == "webhook"
    assert channel(username="Acme Status").validate() == []
    assert channel(username="A" * 81).validate()[0][0] == "username"
    assert "discord" in channel(username="Discord Bot").validate()[0][1]


# Against the sandbox's Discord emulator, over a real socket --------------------------------


async def sandbox_lifecycle(discord: DiscordChannel) -> list[Receipt]:
    async with httpx.AsyncClient() as http:
        return await lifecycle(discord, context(None, http))


async def test_a_forum_lifecycle_stays_in_one_thread_of_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    sandbox.emulators["discord"].channel_type = "forum"
    try:
        forum = channel(webhook_url=sandbox.webhook_url("discord"), forum=True)
        receipts = await sandbox_lifecycle(forum)
    finally:
        sandbox.emulators["discord"].channel_type = "any"

    assert all(r.ok for r in receipts)
    first, second, third = sandbox.posts("discord")
    assert first["thread_name"] == "Payments errors" and first["channel_id"] == first["id"]
    assert second["thread_id"] == third["thread_id"] == first["id"]
    assert not any(post["would_ping_everyone"] for post in (first, second, third))


async def test_a_text_channel_lifecycle_is_three_plain_posts(sandbox: Any) -> None:
    sandbox.reset()
    receipts = await sandbox_lifecycle(channel(webhook_url=sandbox.webhook_url("discord")))

    assert [r.provider_message_id for r in receipts] == [p["id"] for p in sandbox.posts("discord")]
    assert [p["thread_id"] for p in sandbox.posts("discord")] == [None, None, None]


async def test_forum_on_a_text_channel_webhook_is_final_and_says_why(sandbox: Any) -> None:
    sandbox.reset()
    sandbox.emulators["discord"].channel_type = "text"
    try:
        (receipt, *_) = await sandbox_lifecycle(
            channel(webhook_url=sandbox.webhook_url("discord"), forum=True)
        )
    finally:
        sandbox.emulators["discord"].channel_type = "any"

    assert not receipt.ok and not receipt.retryable
    assert "forum: true needs the webhook of a forum channel" in str(receipt.error)


async def test_check_online_against_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    discord = channel(webhook_url=sandbox.webhook_url("discord"))
    async with httpx.AsyncClient() as http:
        found = await discord.check_online(context(None, http))
    assert found == "webhook 'Sandbox Status' of channel 200000000000000001"
    assert sandbox.posts("discord") == []
