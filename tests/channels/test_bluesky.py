"""The bluesky adapter: a saved session, link facets, replies threaded under the first post."""

from __future__ import annotations

import json
import re
import time
from typing import Any

import httpx
import pytest

from notify.channels.base import (
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.bluesky import BlueskyChannel
from notify.channels.testing import MemoryStore, delivery_context
from notify.sandbox.credentials import Credentials

PASSWORD = "abcd-efgh-ijkl-mnop"
DID = "did:plc:acmestatus0000000000001"
URL = "https://status.acme.example/i/1"
LIFECYCLE = [
    Message(text=f"Acme 🚨 investigating payment errors: {URL}."),
    Message(text="Acme: we found a bad deploy and are rolling it back."),
    Message(text="Acme: payments work again."),
]
KEY = "bluesky:https://bsky.social:status.acme.example"


class FakePds:
    """A PDS: sessions numbered 1, 2, ...; `expire` makes the next post fail with ExpiredToken."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any]] = []  # (method, Authorization, body)
        self.sessions = 0
        self.expire = False
        self.refresh_fails = False
        self.login_answer: httpx.Response | None = None

    def session(self) -> dict[str, Any]:
        self.sessions += 1
        n = self.sessions
        return {
            "accessJwt": f"acc-jwt-{n}-x",
            "refreshJwt": f"ref-jwt-{n}-x",
            "did": DID,
            "handle": "status.acme.example",
        }

    def __call__(self, request: httpx.Request) -> httpx.Response:
        method = request.url.path.removeprefix("/xrpc/")
        body = json.loads(request.content) if request.content else None
        auth = request.headers.get("authorization", "")
        self.calls.append((method, auth, body))
        if method == "com.atproto.server.createSession":
            return self.login_answer or httpx.Response(200, json=self.session())
        if method == "com.atproto.server.refreshSession":
            if self.refresh_fails:
                return httpx.Response(400, json={"error": "ExpiredToken", "message": "expired"})
            return httpx.Response(200, json=self.session())
        if method == "com.atproto.server.getSession":
            return httpx.Response(200, json={"handle": "status.acme.example", "did": DID})
        if self.expire:
            self.expire = False
            return httpx.Response(400, json={"error": "ExpiredToken", "message": "Token expired"})
        rkey = f"3kpost{len(self.calls)}"
        uri = f"at://{DID}/app.bsky.feed.post/{rkey}"
        return httpx.Response(200, json={"uri": uri, "cid": f"bafycid{rkey}"})

    def posts(self) -> list[dict[str, Any]]:
        return [body for method, _, body in self.calls if method.endswith("createRecord")]

    def methods(self) -> list[str]:
        return [method.rsplit(".", 1)[-1] for method, _, _ in self.calls]


def context(
    handler: Any, store: MemoryStore | None = None, http: httpx.AsyncClient | None = None
) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    return delivery_context(http, handler=handler, store=store, incident={"id": "db-1"})


def channel(**settings: Any) -> BlueskyChannel:
    base = {"identifier": "status.acme.example", "app_password": PASSWORD}
    return BlueskyChannel("ops-bluesky", {**base, **settings})


async def lifecycle(bluesky: BlueskyChannel, ctx: DeliveryContext) -> list[Receipt]:
    receipts: list[Receipt] = []
    for message in LIFECYCLE:
        done = [r.thread_data | {"provider_message_id": r.provider_message_id} for r in receipts]
        thread = ThreadRef(done[0], done[-1], tuple(done)) if done else ThreadRef()
        receipts.append(await bluesky.send(message, Recipient(bluesky.target()), thread, ctx))
    return receipts


async def test_a_lifecycle_logs_in_once_and_threads_every_reply() -> None:
    pds, store = FakePds(), MemoryStore()

    receipts = await lifecycle(channel(langs=["en"]), context(pds, store))

    assert pds.methods() == ["createSession", "createRecord", "createRecord", "createRecord"]
    assert pds.calls[0][2] == {"identifier": "status.acme.example", "password": PASSWORD}
    assert all(auth == "Bearer acc-jwt-1-x" for _, auth, _ in pds.calls[1:])
    first, second, third = pds.posts()
    assert first["repo"] == DID and first["collection"] == "app.bsky.feed.post"
    record = first["record"]
    assert record["$type"] == "app.bsky.feed.post" and record["text"] == LIFECYCLE[0].text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])
    assert record["langs"] == ["en"] and "reply" not in record
    root = {"uri": receipts[0].provider_message_id, "cid": receipts[0].thread_data["cid"]}
    assert second["record"]["reply"] == {"root": root, "parent": root}
    parent = {"uri": receipts[1].thread_data["uri"], "cid": receipts[1].thread_data["cid"]}
    assert third["record"]["reply"] == {"root": root, "parent": parent}
    assert store[KEY]["did"] == DID


def test_urls_become_link_facets_at_utf8_byte_offsets() -> None:
    record = channel().build_record(LIFECYCLE[0], ThreadRef())
    (facet,) = record["facets"]
    encoded = LIFECYCLE[0].text.encode("utf-8")
    start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
    assert encoded[start:end].decode("utf-8") == URL  # the emoji is 4 bytes, the "." not linked
    assert facet["features"] == [{"$type": "app.bsky.richtext.facet#link", "uri": URL}]
    text = "(see https://a.example/x_(y)) and http://b.example/?q=1, done"
    uris = [
        f["features"][0]["uri"]
        for f in channel().build_record(Message(text), ThreadRef())["facets"]
    ]
    assert uris == ["https://a.example/x_(y)", "http://b.example/?q=1"]


async def test_a_saved_session_is_reused_by_the_next_run() -> None:
    pds, store = FakePds(), MemoryStore()
    await channel().send(LIFECYCLE[0], Recipient("a"), ThreadRef(), context(pds, store))
    await channel().send(LIFECYCLE[1], Recipient("a"), ThreadRef(), context(pds, store))
    assert pds.methods() == ["createSession", "createRecord", "createRecord"]


async def test_an_expired_token_is_refreshed_and_the_post_sent_once_more() -> None:
    pds, store = FakePds(), MemoryStore()
    bluesky = channel()
    await bluesky.send(LIFECYCLE[0], Recipient("a"), ThreadRef(), context(pds, store))
    pds.expire = True

    receipt = await bluesky.send(LIFECYCLE[1], Recipient("a"), ThreadRef(), context(pds, store))

    assert receipt.ok
    assert pds.methods()[2:] == ["createRecord", "refreshSession", "createRecord"]
    assert pds.calls[3][1] == "Bearer ref-jwt-1-x" and pds.calls[4][1] == "Bearer acc-jwt-2-x"
    assert pds.calls[3][2] is None  # refreshSession takes no input
    assert store[KEY]["accessJwt"] == "acc-jwt-2-x"


async def test_when_the_refresh_fails_too_it_logs_in_again() -> None:
    pds, store = FakePds(), MemoryStore()
    store[KEY] = {"accessJwt": "old-acc-jwt", "refreshJwt": "old-ref-jwt", "did": DID}
    pds.expire, pds.refresh_fails = True, True

    receipt = await channel().send(LIFECYCLE[0], Recipient("a"), ThreadRef(), context(pds, store))

    assert receipt.ok
    assert pds.methods() == ["createRecord", "refreshSession", "createSession", "createRecord"]
    assert store[KEY]["refreshJwt"] == "ref-jwt-1-x"


async def test_a_wrong_password_is_final_and_never_shown() -> None:
    pds = FakePds()
    pds.login_answer = httpx.Response(
        401, json={"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
    )

    receipt = await channel().send(LIFECYCLE[0], Recipient("a"), ThreadRef(), context(pds))

    assert not receipt.ok and not receipt.retryable and receipt.status_code == 401
    assert "'ops-bluesky'" in str(receipt.error) and "Invalid identifier or password" in str(
        receipt.error
    )
    assert "an app password, not the account password" in str(receipt.error)
    assert PASSWORD not in str(receipt.error)


async def test_a_rate_limit_waits_until_the_epoch_reset() -> None:
    reset = str(int(time.time()) + 120)

    def limited(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("createSession"):
            return httpx.Response(200, json=FakePds().session())
        answer = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        headers = {"RateLimit-Limit": "5000", "RateLimit-Remaining": "0", "RateLimit-Reset": reset}
        return httpx.Response(429, json=answer, headers=headers)

    receipt = await channel().send(LIFECYCLE[0], Recipient("a"), ThreadRef(), context(limited))

    assert not receipt.ok and receipt.retryable
    assert receipt.retry_after is not None and 100 < receipt.retry_after <= 120
    assert "RateLimitExceeded" in str(receipt.error)


async def test_a_rejected_record_is_final_and_an_outage_retried() -> None:
    def answer(status: int, error: str, message: str) -> Any:
        def handler(request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("createSession"):
                return httpx.Response(200, json=FakePds().session())
            return httpx.Response(status, json={"error": error, "message": message})

        return handler

    too_long = (
        "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"
    )
    rejected = await channel().send(
        LIFECYCLE[0], Recipient("a"), ThreadRef(), context(answer(400, "InvalidRequest", too_long))
    )
    assert not rejected.retryable and too_long in str(rejected.error)
    down = await channel().send(
        LIFECYCLE[0], Recipient("a"), ThreadRef(), context(answer(502, "UpstreamFailure", "down"))
    )
    assert down.retryable


async def test_no_token_or_password_leaks_into_receipts() -> None:
    pds = FakePds()
    receipts = await lifecycle(channel(), context(pds))
    shown = json.dumps([[r.error, r.thread_data, r.provider_message_id] for r in receipts])
    for secret in (PASSWORD, "acc-jwt-1-x", "ref-jwt-1-x"):
        assert secret not in shown


async def test_check_online_proves_the_session() -> None:
    pds = FakePds()
    found = await channel().check_online(context(pds))
    assert found == f"session for status.acme.example ({DID})"
    pds.login_answer = httpx.Response(
        401, json={"error": "AuthenticationRequired", "message": "no"}
    )
    with pytest.raises(ChannelCheckError, match="app password"):
        await channel().check_online(context(pds))


def test_settings_rules_and_length() -> None:
    assert channel(langs=["en", "pt-BR"]).validate() == []
    assert channel(langs=["en", "de", "fr", "es"]).validate()[0][0] == "langs"
    assert "English" in channel(langs=["English"]).validate()[0][1]
    assert channel(identifier="@status.acme.example").target() == "status.acme.example"
    assert channel().measure(Message("👍🏽" * 300)).ok
    assert not channel().measure(Message("a" * 301)).ok


# Against the sandbox's PDS emulator, over a real socket -------------------------------------


def sandbox_channel(sandbox: Any) -> BlueskyChannel:
    credentials = Credentials()
    return channel(
        identifier=credentials.bluesky_identifier,
        app_password=credentials.bluesky_app_password,
        base_url=sandbox.base_url("bluesky"),
        langs=["en"],
    )


async def test_a_lifecycle_is_a_thread_in_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    store = MemoryStore()
    async with httpx.AsyncClient() as http:
        receipts = await lifecycle(sandbox_channel(sandbox), context(None, store, http))

    assert all(r.ok for r in receipts)
    assert sandbox.emulators["bluesky"].sessions_created == 1
    first, second, third = sorted(sandbox.posts("bluesky"), key=lambda post: post["rkey"])
    assert first["reply"] is None and first["facets_ok"] and first["langs"] == ["en"]
    root = {"uri": first["uri"], "cid": first["cid"]}
    assert second["reply"] == {"root": root, "parent": root}
    assert third["reply"] == {"root": root, "parent": {"uri": second["uri"], "cid": second["cid"]}}


async def test_expired_tokens_are_refreshed_without_a_new_login(sandbox: Any) -> None:
    sandbox.reset()
    bluesky = sandbox_channel(sandbox)
    async with httpx.AsyncClient() as http:
        ctx = context(None, MemoryStore(), http)
        first = await bluesky.send(LIFECYCLE[0], Recipient("a"), ThreadRef(), ctx)
        sandbox.emulators["bluesky"].expire_access_tokens()
        again = await bluesky.send(LIFECYCLE[1], Recipient("a"), ThreadRef(), ctx)
        found = await bluesky.check_online(ctx)

    assert first.ok and again.ok and len(sandbox.posts("bluesky")) == 2
    assert sandbox.emulators["bluesky"].sessions_created == 1
    assert found == f"session for {Credentials().bluesky_identifier} ({Credentials().bluesky_did})"


async def test_a_wrong_app_password_is_refused_by_the_emulator(sandbox: Any) -> None:
    sandbox.reset()
    wrong = channel(base_url=sandbox.base_url("bluesky"), app_password="wrong-pass-word")
    async with httpx.AsyncClient() as http:
        ctx = context(None, http=http)
        receipt = await wrong.send(LIFECYCLE[0], Recipient("a"), ThreadRef(), ctx)

    assert not receipt.ok and not receipt.retryable and "app password" in str(receipt.error)
    assert "wrong-pass-word" not in str(receipt.error)
