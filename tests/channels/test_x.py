"""The x adapter: OAuth 1.0a-signed posts, each replying to the previous update's post."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from oauthlib.oauth1.rfc5849 import signature

from notify.channels.base import DeliveryContext, Message, Receipt, Recipient, ThreadRef
from notify.channels.testing import delivery_context
from notify.channels.x import XChannel
from notify.sandbox.credentials import Credentials

CREDENTIALS = {
    "api_key": "xkey-4f9a1c7e2b",
    "api_secret": "xsecret-8d3b6a0f5c9e",
    "access_token": "1234-xtoken-2c7e9f",
    "access_token_secret": "xtokensecret-6b1d8a",
}
LIFECYCLE = [
    Message(text="Acme: investigating payment errors. https://status.acme.example"),
    Message(text="Acme: a bad deploy, rolling back."),
    Message(text="Acme: resolved."),
]


def context(handler: Any, http: httpx.AsyncClient | None = None) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    return delivery_context(http, handler=handler, incident={"id": "db-1"})


def channel(**settings: Any) -> XChannel:
    return XChannel("ops-x", {**CREDENTIALS, **settings})


def signed_correctly(request: httpx.Request) -> bool:
    """Verify as X does: HMAC-SHA1 over method, URL and oauth_* params, the JSON body left out."""
    header = request.headers["authorization"]
    params = signature.collect_parameters(
        uri_query=request.url.query.decode(), headers={"Authorization": header}
    )
    base = signature.signature_base_string(
        request.method,
        signature.base_string_uri(str(request.url)),
        signature.normalize_parameters(params),
    )
    secrets = (CREDENTIALS["api_secret"], CREDENTIALS["access_token_secret"])
    key = "&".join(quote(secret, safe="") for secret in secrets)
    digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
    expected = base64.b64encode(digest).decode()
    sent = dict(
        signature.collect_parameters(
            headers={"Authorization": header}, exclude_oauth_signature=False
        )
    )
    return (
        sent["oauth_signature"] == expected and sent["oauth_consumer_key"] == CREDENTIALS["api_key"]
    )


class FakeX:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        post_id = str(1860000000000000000 + len(self.requests))
        text = json.loads(request.content)["text"]
        return httpx.Response(201, json={"data": {"id": post_id, "text": text}})


async def lifecycle(x: XChannel, ctx: DeliveryContext) -> list[Receipt]:
    receipts: list[Receipt] = []
    for message in LIFECYCLE:
        done = [r.thread_data | {"provider_message_id": r.provider_message_id} for r in receipts]
        thread = ThreadRef(done[0], done[-1], tuple(done)) if done else ThreadRef()
        receipts.append(await x.send(message, Recipient("account"), thread, ctx))
    return receipts


async def send_one(handler: Any) -> Receipt:
    return await channel().send(LIFECYCLE[0], Recipient("account"), ThreadRef(), context(handler))


async def test_each_update_is_a_signed_reply_to_the_previous_post() -> None:
    fake = FakeX()

    receipts = await lifecycle(channel(), context(fake))

    assert [r.provider_message_id for r in receipts] == [
        "1860000000000000001",
        "1860000000000000002",
        "1860000000000000003",
    ]
    assert receipts[0].thread_data == {"id": "1860000000000000001"}
    first, second, third = fake.requests
    assert first.method == "POST" and str(first.url) == "https://api.x.com/2/tweets"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["authorization"].startswith("OAuth ")
    assert all(signed_correctly(request) for request in fake.requests)
    assert json.loads(first.content) == {"text": LIFECYCLE[0].text}
    assert json.loads(second.content)["reply"] == {"in_reply_to_tweet_id": "1860000000000000001"}
    assert json.loads(third.content)["reply"] == {"in_reply_to_tweet_id": "1860000000000000002"}


async def test_a_duplicate_post_is_final_and_says_to_change_the_text() -> None:
    duplicate = {
        "detail": "You are not allowed to create a Tweet with duplicate content.",
        "type": "about:blank",
        "title": "Forbidden",
        "status": 403,
    }
    receipt = await send_one(lambda request: httpx.Response(403, json=duplicate))
    assert not receipt.ok and not receipt.retryable
    assert receipt.error == (
        "X rejected the post as a duplicate of an earlier one: change the text (e.g. add the time)"
    )


async def test_refused_credentials_are_final_and_never_shown() -> None:
    problem = {
        "title": "Unauthorized",
        "type": "about:blank",
        "status": 401,
        "detail": "Unauthorized",
    }
    receipt = await send_one(lambda request: httpx.Response(401, json=problem))
    assert not receipt.ok and not receipt.retryable and "'ops-x'" in str(receipt.error)
    assert "Read and Write permission" in str(receipt.error)
    for secret in CREDENTIALS.values():
        assert secret not in str(receipt.error)


@pytest.mark.parametrize(
    "headers",
    [
        {"x-rate-limit-remaining": "0", "x-rate-limit-reset": "{reset}"},
        {
            "x-rate-limit-remaining": "12",
            "x-user-limit-24hour-remaining": "0",
            "x-user-limit-24hour-reset": "{reset}",
            "x-rate-limit-reset": "1",
        },
    ],
)
async def test_a_rate_limit_waits_until_the_exhausted_window_resets(
    headers: dict[str, str],
) -> None:
    reset = str(int(time.time()) + 300)
    answer = {"errors": [{"code": 88, "message": "Rate limit exceeded"}]}
    filled = {name: value.format(reset=reset) for name, value in headers.items()}

    receipt = await send_one(lambda request: httpx.Response(429, json=answer, headers=filled))

    assert not receipt.ok and receipt.retryable
    assert receipt.retry_after is not None and 280 < receipt.retry_after <= 300
    assert "Rate limit exceeded (code 88)" in str(receipt.error)


async def test_invalid_requests_are_final_and_outages_retried() -> None:
    invalid = {
        "errors": [{"parameters": {"text": ["…"]}, "message": "Text is too long"}],
        "title": "Invalid Request",
        "detail": "One or more parameters to your request was invalid.",
    }
    rejected = await send_one(lambda request: httpx.Response(400, json=invalid))
    assert not rejected.retryable and "Text is too long" in str(rejected.error)
    down = await send_one(
        lambda request: httpx.Response(503, json={"title": "Service Unavailable"})
    )
    assert down.retryable and "Service Unavailable" in str(down.error)


async def test_check_online_names_the_account_with_a_signed_get() -> None:
    seen: list[httpx.Request] = []

    def me(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": {"id": "1", "username": "acmestatus"}})

    assert await channel(base_url="http://127.0.0.1:9/x").check_online(context(me)) == (
        "account @acmestatus"
    )
    assert seen[0].method == "GET" and str(seen[0].url) == "http://127.0.0.1:9/x/2/users/me"
    assert signed_correctly(seen[0])


def test_length_is_the_weighted_count() -> None:
    x = channel()
    length = x.measure(Message("Hi http://test.co"))
    assert (length.value, length.limit, length.unit) == (26, 280, "weighted")
    assert not x.measure(Message("界" * 141)).ok
    assert x.target() == "account"


# Against the sandbox's X emulator (it verifies the OAuth signature), over a real socket -----


def sandbox_channel(sandbox: Any, **settings: Any) -> XChannel:
    c = Credentials()
    own = {
        "api_key": c.x_api_key,
        "api_secret": c.x_api_secret,
        "access_token": c.x_access_token,
        "access_token_secret": c.x_access_token_secret,
        "base_url": sandbox.base_url("x"),
    }
    return XChannel("ops-x", {**own, **settings})


async def test_a_lifecycle_is_a_reply_chain_in_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        receipts = await lifecycle(sandbox_channel(sandbox), context(None, http))

    assert all(r.ok for r in receipts)
    first, second, third = sandbox.posts("x")
    assert first["in_reply_to_tweet_id"] is None
    assert second["in_reply_to_tweet_id"] == first["id"] == receipts[0].provider_message_id
    assert third["in_reply_to_tweet_id"] == second["id"]


async def test_the_emulator_checks_signature_duplicates_and_the_account(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        ctx = context(None, http)
        found = await sandbox_channel(sandbox).check_online(ctx)
        first = await sandbox_channel(sandbox).send(LIFECYCLE[0], Recipient("a"), ThreadRef(), ctx)
        duplicate = await sandbox_channel(sandbox).send(
            LIFECYCLE[0], Recipient("a"), ThreadRef(), ctx
        )
        forged = sandbox_channel(sandbox, api_secret="not-the-sandbox-secret")
        refused = await forged.send(LIFECYCLE[1], Recipient("a"), ThreadRef(), ctx)

    assert found == "account @sandbox_status"
    assert first.ok and not duplicate.ok and not duplicate.retryable
    assert "duplicate" in str(duplicate.error)
    assert not refused.ok and "Read and Write permission" in str(refused.error)
    assert "not-the-sandbox-secret" not in str(refused.error)
    assert len(sandbox.posts("x")) == 1
