"""The telegram adapter: sendMessage in HTML mode, each update replying to the previous one."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from notify.channels.base import DeliveryContext, Message, Receipt, Recipient, ThreadRef
from notify.channels.telegram import TelegramChannel
from notify.channels.testing import delivery_context
from notify.sandbox.credentials import Credentials

TOKEN = "123456789:AAFakeTelegramTokenForTests_0123456789"
CHAT = "-1001234567890"
LIFECYCLE = [
    Message(text="<b>Investigating</b> payment errors &amp; timeouts"),
    Message(text="<b>Identified</b> a bad deploy"),
    Message(text="<b>Resolved</b>"),
]


def context(handler: Any, http: httpx.AsyncClient | None = None) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    return delivery_context(http, handler=handler, incident={"id": "db-1"}, delivery_key="k-1")


def channel(**settings: Any) -> TelegramChannel:
    base = {"token": TOKEN, "chat_id": CHAT, "disable_notification": False, "link_preview": False}
    return TelegramChannel("ops-telegram", {**base, **settings})


class FakeBotApi:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = json.loads(request.content)
        chat_id = body["chat_id"] if isinstance(body["chat_id"], int) else -1001111111111
        message = {"message_id": 40 + len(self.requests), "chat": {"id": chat_id}}
        return httpx.Response(200, json={"ok": True, "result": message})


async def lifecycle(telegram: TelegramChannel, ctx: DeliveryContext) -> list[Receipt]:
    receipts: list[Receipt] = []
    for message in LIFECYCLE:
        done = [r.thread_data | {"provider_message_id": r.provider_message_id} for r in receipts]
        thread = ThreadRef(done[0], done[-1], tuple(done)) if done else ThreadRef()
        receipts.append(await telegram.send(message, Recipient(CHAT), thread, ctx))
    return receipts


def failing(status: int, description: str, **parameters: Any) -> Any:
    answer: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        answer["parameters"] = parameters
    return lambda request: httpx.Response(status, json=answer)


async def send_one(handler: Any) -> Receipt:
    return await channel().send(LIFECYCLE[0], Recipient(CHAT), ThreadRef(), context(handler))


async def test_each_update_replies_to_the_previous_message() -> None:
    api = FakeBotApi()

    receipts = await lifecycle(channel(), context(api))

    assert [r.provider_message_id for r in receipts] == ["41", "42", "43"]
    assert receipts[0].thread_data == {"message_id": 41, "chat_id": -1001234567890}
    first, second, third = (json.loads(r.content) for r in api.requests)
    assert api.requests[0].method == "POST"
    assert api.requests[0].url == f"https://api.telegram.org/bot{TOKEN}/sendMessage"
    assert first == {
        "chat_id": -1001234567890,
        "text": LIFECYCLE[0].text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
        "disable_notification": False,
    }
    reply = {"message_id": 41}
    assert second["reply_parameters"] == reply
    assert third["reply_parameters"] == {**reply, "message_id": 42}


async def test_settings_shape_the_request_and_the_base_url_can_move() -> None:
    api = FakeBotApi()
    telegram = channel(
        chat_id="@acme_status",
        disable_notification=True,
        link_preview=True,
        base_url="http://127.0.0.1:8025/telegram/",
    )
    await telegram.send(LIFECYCLE[0], Recipient("@acme_status"), ThreadRef(), context(api))
    request = api.requests[0]
    assert str(request.url) == f"http://127.0.0.1:8025/telegram/bot{TOKEN}/sendMessage"
    body = json.loads(request.content)
    assert body["chat_id"] == "@acme_status" and body["disable_notification"] is True
    assert body["link_preview_options"] == {"is_disabled": False}


def test_a_chat_id_given_as_a_yaml_number_still_works() -> None:
    telegram = channel(chat_id=-1001234567890)
    assert telegram.target() == "-1001234567890"
    assert telegram.validate() == []
    assert telegram.build_body(LIFECYCLE[0], ThreadRef())["chat_id"] == -1001234567890
    (problem,) = channel(chat_id="general").validate()
    assert problem[0] == "chat_id" and "quotes" in problem[1]


async def test_flood_control_is_retried_after_the_seconds_telegram_names() -> None:
    receipt = await send_one(failing(429, "Too Many Requests: retry after 17", retry_after=17))
    assert not receipt.ok and receipt.retryable and receipt.retry_after == 17.0


async def test_a_wrong_token_is_final_and_never_shown() -> None:
    def unauthorized(request: httpx.Request) -> httpx.Response:
        return failing(401, f"Unauthorized (url {request.url})")(request)

    receipt = await send_one(unauthorized)

    assert not receipt.ok and not receipt.retryable and receipt.status_code == 401
    assert "'ops-telegram'" in str(receipt.error) and "check the bot token" in str(receipt.error)
    assert TOKEN not in str(receipt.error)


async def test_a_group_upgraded_to_a_supergroup_says_the_new_chat_id() -> None:
    upgraded = failing(
        400,
        "Bad Request: group chat was upgraded to a supergroup chat",
        migrate_to_chat_id=-1009876543210,
    )
    receipt = await send_one(upgraded)
    assert not receipt.ok and not receipt.retryable
    assert "set chat_id to -1009876543210" in str(receipt.error)


@pytest.mark.parametrize(
    ("status", "description", "expected", "retryable"),
    [
        (400, "Bad Request: chat not found", "check chat_id", False),
        (400, "Bad Request: can't parse entities: Unsupported start tag", "telegram block", False),
        (403, "Forbidden: bot was kicked from the supergroup chat", "add the bot", False),
        (502, "Bad Gateway", "Bad Gateway", True),
    ],
)
async def test_other_failures_say_what_to_check(
    status: int, description: str, expected: str, retryable: bool
) -> None:
    receipt = await send_one(failing(status, description))
    assert not receipt.ok and receipt.retryable is retryable
    assert description in str(receipt.error) and expected in str(receipt.error)


async def test_a_network_error_never_shows_the_token_in_the_url() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"All connection attempts failed: {request.url}")

    with pytest.raises(httpx.ConnectError) as caught:
        await send_one(unreachable)
    assert TOKEN not in str(caught.value) and "***" in str(caught.value)


def test_length_counts_the_visible_text_in_utf16_units() -> None:
    telegram = channel()
    length = telegram.measure(Message(text="<b>a &lt;b&gt;</b> 😀 &#233;"))
    assert length.value == len("a <b> ") + 2 + 2 and length.limit == 4096  # emoji: 2 units
    assert telegram.measure(Message(text="<i>" + "x" * 4096 + "</i>")).ok
    assert not telegram.measure(Message(text="😀" * 2049)).ok


async def test_check_online_names_the_bot() -> None:
    seen: list[str] = []

    def get_me(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        user = {"id": 123456789, "is_bot": True, "username": "acme_status_bot"}
        return httpx.Response(200, json={"ok": True, "result": user})

    assert await channel().check_online(context(get_me)) == "bot @acme_status_bot"
    assert seen == [f"/bot{TOKEN}/getMe"]


# Against the sandbox's Bot API emulator, over a real socket --------------------------------


def sandbox_channel(sandbox: Any, **settings: Any) -> TelegramChannel:
    credentials = Credentials()
    own = {"token": credentials.telegram_token, "chat_id": credentials.telegram_chat_id}
    return channel(**{**own, "base_url": sandbox.base_url("telegram"), **settings})


async def test_a_lifecycle_is_a_reply_chain_in_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        receipts = await lifecycle(sandbox_channel(sandbox), context(None, http))

    assert all(r.ok for r in receipts)
    first, second, third = sandbox.posts("telegram")
    assert first["text"] == "Investigating payment errors & timeouts"  # as Telegram parsed it
    assert first["reply_to_message_id"] is None
    assert second["reply_to_message_id"] == first["message_id"]
    assert third["reply_to_message_id"] == second["message_id"]
    assert [r.thread_data["message_id"] for r in receipts] == [
        p["message_id"] for p in (first, second, third)
    ]


async def test_the_emulator_names_the_bot_and_refuses_a_wrong_token(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        ctx = context(None, http)
        found = await sandbox_channel(sandbox).check_online(ctx)
        wrong = sandbox_channel(sandbox, token="100001:not-the-sandbox-bot-token")
        refused = await wrong.send(LIFECYCLE[0], Recipient(CHAT), ThreadRef(), ctx)
        sandbox.fail("telegram", 429, retry_after=4)
        limited = await sandbox_channel(sandbox).send(
            LIFECYCLE[0], Recipient(CHAT), ThreadRef(), ctx
        )

    assert found.startswith("bot @")
    assert not refused.ok and not refused.retryable and "check the bot token" in str(refused.error)
    assert "not-the-sandbox-bot-token" not in str(refused.error)
    assert limited.retryable and limited.retry_after == 4.0
    assert sandbox.posts("telegram") == []
