"""The mastodon adapter: statuses replying to each other, never posted twice."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from notify.channels.base import DeliveryContext, Message, Receipt, Recipient, ThreadRef
from notify.channels.mastodon import MastodonChannel
from notify.channels.testing import delivery_context
from notify.sandbox.credentials import Credentials

TOKEN = "mastodon-token-Zx81kQ0e3f9T2b7c"
INSTANCE = "https://mastodon.acme.example"
LIFECYCLE = [
    Message(text="Acme: we are investigating payment errors. https://status.acme.example"),
    Message(text="Acme: we identified a bad deploy and are rolling it back."),
    Message(text="Acme: payments are working again."),
]


def context(
    handler: Any, key: str = "update-7/ops-mastodon/account", http: httpx.AsyncClient | None = None
) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    return delivery_context(http, handler=handler, incident={"id": "db-1"}, delivery_key=key)


def channel(**settings: Any) -> MastodonChannel:
    base = {"base_url": INSTANCE, "token": TOKEN, "visibility": "public", "max_characters": 500}
    return MastodonChannel("ops-mastodon", {**base, **settings})


class FakeInstance:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        status_id = str(110000000000000000 + len(self.requests))
        url = f"{INSTANCE}/@status/{status_id}"
        return httpx.Response(200, json={"id": status_id, "url": url, "content": "<p>…</p>"})


async def lifecycle(
    mastodon: MastodonChannel, handler: Any, http: httpx.AsyncClient | None = None
) -> list[Receipt]:
    receipts: list[Receipt] = []
    for number, message in enumerate(LIFECYCLE, start=1):
        done = [r.thread_data | {"provider_message_id": r.provider_message_id} for r in receipts]
        thread = ThreadRef(done[0], done[-1], tuple(done)) if done else ThreadRef()
        ctx = context(handler, f"update-{number}/ops-mastodon/account", http)
        receipts.append(
            await mastodon.send(message, Recipient("mastodon.acme.example"), thread, ctx)
        )
    return receipts


async def send_one(handler: Any, mastodon: MastodonChannel | None = None) -> Receipt:
    mastodon = mastodon or channel()
    return await mastodon.send(LIFECYCLE[0], Recipient("x"), ThreadRef(), context(handler))


async def test_each_update_replies_to_the_previous_status() -> None:
    instance = FakeInstance()

    receipts = await lifecycle(channel(language="en", spoiler_text="Incident"), instance)

    first_id = "110000000000000001"
    assert receipts[0].provider_message_id == first_id
    assert receipts[0].thread_data == {"id": first_id, "url": f"{INSTANCE}/@status/{first_id}"}
    request = instance.requests[0]
    assert request.method == "POST" and str(request.url) == f"{INSTANCE}/api/v1/statuses"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    first, second, third = (json.loads(r.content) for r in instance.requests)
    assert first == {
        "status": LIFECYCLE[0].text,
        "visibility": "public",
        "language": "en",
        "spoiler_text": "Incident",
    }
    assert second["in_reply_to_id"] == first_id
    assert third["in_reply_to_id"] == "110000000000000002"


async def test_a_retried_post_carries_the_same_idempotency_key() -> None:
    instance = FakeInstance()
    mastodon = channel()
    for key in ("update-7/ops-mastodon/account", "update-7/ops-mastodon/account", "update-8/x"):
        await mastodon.send(LIFECYCLE[0], Recipient("x"), ThreadRef(), context(instance, key))

    keys = [r.headers["idempotency-key"] for r in instance.requests]
    assert keys[0] == keys[1] != keys[2]
    assert "update-7" not in keys[0]  # a hash, not the journal's key itself


async def test_a_rate_limit_waits_until_the_iso_reset_time() -> None:
    reset = (datetime.now(UTC) + timedelta(seconds=90)).isoformat().replace("+00:00", "Z")
    headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}

    def limited(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": "Too many requests"}, headers=headers)

    receipt = await send_one(limited)

    assert not receipt.ok and receipt.retryable and receipt.status_code == 429
    assert receipt.retry_after is not None and 80 < receipt.retry_after <= 90
    assert "Too many requests" in str(receipt.error)


async def test_a_bad_token_is_final_and_never_shown() -> None:
    def unauthorized(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "The access token is invalid"})

    receipt = await send_one(unauthorized)

    assert not receipt.ok and not receipt.retryable
    assert "'ops-mastodon'" in str(receipt.error) and "write:statuses" in str(receipt.error)
    assert TOKEN not in str(receipt.error)


@pytest.mark.parametrize(
    ("status", "error", "retryable"),
    [
        (422, "Validation failed: Text character limit of 500 exceeded", False),
        (503, "Service Unavailable", True),
        (500, "We're sorry, but something went wrong", True),
    ],
)
async def test_rejections_are_final_and_outages_retried(
    status: int, error: str, retryable: bool
) -> None:
    receipt = await send_one(lambda request: httpx.Response(status, json={"error": error}))
    assert not receipt.ok and receipt.retryable is retryable and error in str(receipt.error)


def test_the_instance_is_required_and_the_language_checked() -> None:
    assert channel().validate() == []
    assert channel().target() == "mastodon.acme.example"
    no_instance = MastodonChannel("m", {"token": TOKEN, "visibility": "public"})
    assert [field for field, _ in no_instance.validate()] == ["base_url"]
    (problem,) = channel(language="english").validate()
    assert problem[0] == "language" and "ISO 639-1" in problem[1]


def test_length_counts_the_content_warning_and_urls_as_23() -> None:
    mastodon = channel(spoiler_text="CW")
    url = "https://status.acme.example/incidents/2026-11-22-payments-api-errors"
    length = mastodon.measure(Message(text=f"see {url}"))
    assert (length.value, length.limit) == (2 + 4 + 23, 500)
    assert not channel(max_characters=20).measure(Message(text="x" * 21)).ok


def instance_api(max_characters: int) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/accounts/verify_credentials":
            return httpx.Response(200, json={"id": "1", "username": "status", "acct": "status"})
        configuration = {"statuses": {"max_characters": max_characters}}
        return httpx.Response(
            200, json={"domain": "mastodon.acme.example", "configuration": configuration}
        )

    return handler


async def test_check_online_names_the_account_and_the_instance_limit() -> None:
    found = await channel().check_online(context(instance_api(500)))
    assert found == "account @status on mastodon.acme.example; the instance allows 500 characters"
    found = await channel().check_online(context(instance_api(1000)))
    assert found.endswith("but max_characters is 500: set it to 1000")


# Against the sandbox's Mastodon emulator, over a real socket -------------------------------


def sandbox_channel(sandbox: Any) -> MastodonChannel:
    token = Credentials().mastodon_token
    return channel(base_url=sandbox.base_url("mastodon"), token=token, language="en")


async def test_a_lifecycle_is_a_reply_chain_in_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        receipts = await lifecycle(sandbox_channel(sandbox), None, http)

    assert all(r.ok for r in receipts)
    first, second, third = sandbox.posts("mastodon")
    assert first["in_reply_to_id"] is None and first["language"] == "en"
    assert second["in_reply_to_id"] == first["id"] == receipts[0].provider_message_id
    assert third["in_reply_to_id"] == second["id"]
    assert receipts[0].thread_data["url"]


async def test_a_post_retried_after_a_lost_answer_is_not_doubled(sandbox: Any) -> None:
    sandbox.reset()
    mastodon = sandbox_channel(sandbox)
    async with httpx.AsyncClient() as http:
        # Same delivery, sent twice: as `notify retry` does after a run died mid-request.
        ctx = context(None, "update-1/ops-mastodon/account", http)
        first = await mastodon.send(LIFECYCLE[0], Recipient("m"), ThreadRef(), ctx)
        again = await mastodon.send(LIFECYCLE[0], Recipient("m"), ThreadRef(), ctx)

    assert first.ok and again.ok and first.provider_message_id == again.provider_message_id
    assert len(sandbox.posts("mastodon")) == 1


async def test_check_online_and_a_wrong_token_against_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    async with httpx.AsyncClient() as http:
        ctx = context(None, http=http)
        found = await sandbox_channel(sandbox).check_online(ctx)
        wrong = channel(base_url=sandbox.base_url("mastodon"), token="not-the-sandbox-token")
        refused = await wrong.send(LIFECYCLE[0], Recipient("m"), ThreadRef(), ctx)

    assert found.startswith("account @") and "the instance allows" in found
    assert not refused.ok and not refused.retryable and "write:statuses" in str(refused.error)
    assert "not-the-sandbox-token" not in str(refused.error)
