"""The HTTP base every web adapter shares: timeout, scrubbed network errors, answers read once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from notify.channels.base import (
    Channel,
    DeliveryContext,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.bluesky import BlueskyChannel
from notify.channels.discord import DiscordChannel
from notify.channels.email import EmailChannel
from notify.channels.http import Answer, HttpChannel, Request, failed_answer, read_answer
from notify.channels.mastodon import MastodonChannel
from notify.channels.slack import SlackChannel
from notify.channels.sms import SmsChannel
from notify.channels.teams import TeamsChannel
from notify.channels.telegram import TelegramChannel
from notify.channels.testing import delivery_context
from notify.channels.webhook import WebhookChannel
from notify.channels.x import XChannel

SECRET = "s3cr3t-credential-0123456789abcdef"
HOOK = f"https://hooks.example.test/services/T0/B0/{SECRET}"

# One channel of every type that talks HTTP, each holding SECRET as a credential.
CHANNELS: dict[str, Any] = {
    "slack": lambda: SlackChannel("s", {"token": SECRET, "channel": "C0123456789"}),
    "slack-webhook": lambda: SlackChannel("s", {"webhook_url": HOOK}),
    "sms": lambda: SmsChannel(
        "s", {"account_sid": "AC" + "a" * 32, "auth_token": SECRET, "from": "+15005550006"}
    ),
    "teams": lambda: TeamsChannel("s", {"webhook_url": f"https://x.example.test/w?sig={SECRET}"}),
    "discord": lambda: DiscordChannel("s", {"webhook_url": HOOK}),
    "telegram": lambda: TelegramChannel("s", {"token": SECRET, "chat_id": "-100123"}),
    "mastodon": lambda: MastodonChannel(
        "s", {"token": SECRET, "base_url": "https://mastodon.example.test"}
    ),
    "bluesky": lambda: BlueskyChannel("s", {"identifier": "a.example", "app_password": SECRET}),
    "x": lambda: XChannel(
        "s",
        {
            "api_key": SECRET,
            "api_secret": SECRET + "-2",
            "access_token": SECRET + "-3",
            "access_token_secret": SECRET + "-4",
        },
    ),
    "webhook": lambda: WebhookChannel("s", {"url": "https://r.example.test/", "secret": SECRET}),
    "email-sendgrid": lambda: EmailChannel(
        "s", {"provider": "sendgrid", "api_key": SECRET, "from": "a@example.test"}
    ),
}


def refuse(request: httpx.Request) -> httpx.Response:
    """A network error quoting the credential, as errors quoting a request URL or proxy do."""
    raise httpx.ConnectError(f"connection refused while sending {SECRET}", request=request)


@pytest.mark.parametrize("kind", sorted(CHANNELS))
async def test_network_errors_keep_their_type_and_lose_every_secret(kind: str) -> None:
    channel: Channel = CHANNELS[kind]()
    ctx = delivery_context(handler=refuse)

    with pytest.raises(httpx.ConnectError) as raised:  # still retryable for the dispatcher
        await channel.send(Message(text="hi"), Recipient("a@example.test"), ThreadRef(), ctx)

    assert SECRET not in str(raised.value)
    assert "connection refused" in str(raised.value)


@pytest.mark.parametrize("kind", ["mastodon", "bluesky", "x", "telegram", "discord", "sms"])
async def test_online_checks_scrub_network_errors_too(kind: str) -> None:
    with pytest.raises(httpx.ConnectError) as raised:
        await CHANNELS[kind]().check_online(delivery_context(handler=refuse))

    assert SECRET not in str(raised.value)


class Echo(HttpChannel):
    """The smallest adapter: one request built, one answer parsed."""

    spec = TeamsChannel.spec

    def measure(self, message: Message) -> Length | None:
        return None

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        return Request("POST", "https://echo.example.test/", json={"text": message.text})

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        return failed_answer(answer, f"answered {answer.status}: {answer.snippet()}")


async def test_a_request_goes_out_with_the_channels_timeout_and_its_answer_is_read_once() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503, headers={"Retry-After": "7"}, text="<h1>down</h1> for now")

    channel = Echo("e", {"webhook_url": "https://echo.example.test/", "timeout": 4})
    receipt = await channel.send(
        Message(text="hi"), Recipient("x"), ThreadRef(), delivery_context(handler=answer)
    )

    assert seen[0].extensions["timeout"]["read"] == 4.0
    assert seen[0].content == b'{"text":"hi"}'
    assert receipt.error == "answered 503: down for now"
    assert (receipt.retryable, receipt.retry_after, receipt.status_code) == (True, 7.0, 503)


def test_an_answer_is_json_when_it_parses_and_text_otherwise() -> None:
    as_json = read_answer(httpx.Response(200, json={"id": "1"}))
    as_list = read_answer(httpx.Response(200, json=[1, 2]))
    as_text = read_answer(httpx.Response(502, text="<html>Bad gateway</html>"))

    assert (as_json.ok, as_json.data, as_json.fields) == (True, {"id": "1"}, {"id": "1"})
    assert (as_list.data, as_list.fields) == ([1, 2], {})
    assert (as_text.ok, as_text.data, as_text.text) == (False, None, "<html>Bad gateway</html>")
    assert as_text.snippet() == "Bad gateway"
    assert read_answer(httpx.Response(500)).snippet() == "HTTP 500"


def test_a_rate_limit_reset_counts_only_when_the_allowance_is_spent() -> None:
    spent = Answer(429, httpx.Headers({"x-ratelimit-reset-after": "2.5"}))
    fine = Answer(500, httpx.Headers({"x-ratelimit-reset-after": "2.5"}))
    refused = Answer(400, httpx.Headers({"retry-after": "9"}))

    assert failed_answer(spent, "slow down").retry_after == 2.5
    assert failed_answer(fine, "broken").retry_after is None
    assert failed_answer(refused, "no").retryable is False
    assert failed_answer(refused, "no").retry_after is None  # a final answer has no wait
