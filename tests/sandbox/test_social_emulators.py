"""The Mastodon, Bluesky and X emulators, driven over real sockets as an adapter would."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest
from oauthlib.oauth1 import Client

from notify.sandbox import Credentials, Sandbox

C = Credentials()


# -- Mastodon --------------------------------------------------------------------------------

MASTODON_AUTH = {"Authorization": f"Bearer {C.mastodon_token}"}


async def toot(sandbox: Sandbox, http: Any, headers: Any = None, **body: Any) -> httpx.Response:
    headers = {**MASTODON_AUTH, **(headers or {})}
    response: httpx.Response = await http.post(
        f"{sandbox.base_url('mastodon')}/api/v1/statuses", json=body, headers=headers
    )
    return response


async def test_mastodon_posts_a_thread_with_rate_limit_headers(sandbox: Sandbox, http: Any) -> None:
    first = await toot(sandbox, http, status="Down <now>", visibility="unlisted", language="en")
    assert first.status_code == 200
    status = first.json()
    assert isinstance(status["id"], str) and status["content"] == "<p>Down &lt;now&gt;</p>"
    assert status["visibility"] == "unlisted" and status["url"].endswith(status["id"])
    assert first.headers["X-RateLimit-Limit"] == "300"
    assert first.headers["X-RateLimit-Remaining"] == "299"
    assert first.headers["X-RateLimit-Reset"].endswith("Z")  # ISO-8601, not epoch
    second = await toot(sandbox, http, status="Fixed", in_reply_to_id=status["id"])
    assert second.json()["in_reply_to_id"] == status["id"]
    orphan = await toot(sandbox, http, status="x", in_reply_to_id="12345")
    assert (orphan.status_code, orphan.json()) == (404, {"error": "Record not found"})


async def test_mastodon_counts_graphemes_and_urls_as_23(sandbox: Sandbox, http: Any) -> None:
    url = "https://status.acme.example/incidents/" + "p" * 100
    assert (await toot(sandbox, http, status="a" * 476 + " " + url)).status_code == 200  # 500
    assert (await toot(sandbox, http, status="👍🏽" * 500)).status_code == 200
    over = await toot(sandbox, http, status="a" * 477 + " " + url)
    assert over.status_code == 422
    assert over.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    cw = await toot(sandbox, http, status="a" * 490, spoiler_text="b" * 11)
    assert cw.status_code == 422


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({}, 422, "Validation failed: Text can't be blank"),
        ({"status": "x", "visibility": "everyone"}, 422, "Visibility is not included"),
        ({"status": "x", "language": "english"}, 422, "ISO 639-1"),
        ({"status": 5}, 422, "Status is invalid"),
    ],
)
async def test_mastodon_refusals(
    sandbox: Sandbox, http: Any, body: Any, status: int, error: str
) -> None:
    answer = await toot(sandbox, http, **body)
    assert answer.status_code == status and error in answer.json()["error"]


async def test_mastodon_idempotency_key_returns_the_same_status(
    sandbox: Sandbox, http: Any
) -> None:
    key = {"Idempotency-Key": "incident-1-update-1"}
    first = await toot(sandbox, http, key, status="Down")
    again = await toot(sandbox, http, key, status="Down")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await toot(sandbox, http, {"Idempotency-Key": "incident-1-update-2"}, status="Down 2")
    assert other.json()["id"] != first.json()["id"]
    assert sandbox.emulators["mastodon"].creations == 2  # type: ignore[attr-defined]
    assert len(sandbox.posts("mastodon")) == 2


async def test_mastodon_auth_instance_and_account(sandbox: Sandbox, http: Any) -> None:
    base = sandbox.base_url("mastodon")
    bad = await toot(sandbox, http, {"Authorization": "Bearer nope"}, status="x")
    assert (bad.status_code, bad.json()) == (401, {"error": "The access token is invalid"})
    instance = (await http.get(f"{base}/api/v2/instance")).json()
    assert instance["configuration"]["statuses"] == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    me = await http.get(f"{base}/api/v1/accounts/verify_credentials", headers=MASTODON_AUTH)
    assert me.json()["acct"] == "status"
    sandbox.fail("mastodon", 429, retry_after=30)
    limited = await toot(sandbox, http, status="x")
    assert (limited.status_code, limited.json()) == (429, {"error": "Too many requests"})
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")


# -- Bluesky ---------------------------------------------------------------------------------


async def xrpc(sandbox: Sandbox, http: Any, method: str, body: Any = None, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(
        f"{sandbox.base_url('bluesky')}/xrpc/{method}", json=body, headers=headers
    )


async def login(sandbox: Sandbox, http: Any) -> dict[str, Any]:
    creds = {"identifier": C.bluesky_identifier, "password": C.bluesky_app_password}
    answer = await xrpc(sandbox, http, "com.atproto.server.createSession", creds)
    assert answer.status_code == 200
    session: dict[str, Any] = answer.json()
    return session


def post_body(text: str, **record: Any) -> dict[str, Any]:
    full = {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-11-22T10:00:00.000Z"}
    return {"repo": C.bluesky_did, "collection": "app.bsky.feed.post", "record": {**full, **record}}


def link_facet(text: str, url: str, *, chars: bool = False) -> dict[str, Any]:
    start = text.index(url) if chars else len(text[: text.index(url)].encode())
    end = start + (len(url) if chars else len(url.encode()))
    feature = {"$type": "app.bsky.richtext.facet#link", "uri": url}
    return {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}


async def test_bluesky_session_post_and_reply(sandbox: Sandbox, http: Any) -> None:
    session = await login(sandbox, http)
    assert session["did"] == C.bluesky_did and session["active"] is True
    text = "🔥 Payments down: https://status.acme.example/i/1"
    facet = link_facet(text, "https://status.acme.example/i/1")
    create = "com.atproto.repo.createRecord"
    root = await xrpc(
        sandbox, http, create, post_body(text, facets=[facet], langs=["en"]), session["accessJwt"]
    )
    assert root.status_code == 200
    ref = root.json()
    assert ref["uri"].startswith(f"at://{C.bluesky_did}/app.bsky.feed.post/")
    assert ref["cid"].startswith("bafyrei") and ref["validationStatus"] == "valid"
    assert root.headers["RateLimit-Policy"] == "5000;w=3600"
    strong = {"uri": ref["uri"], "cid": ref["cid"]}
    reply = await xrpc(
        sandbox,
        http,
        create,
        post_body("Fixed", reply={"root": strong, "parent": strong}),
        session["accessJwt"],
    )
    assert reply.status_code == 200
    missing = {"uri": ref["uri"][:-3] + "zzz", "cid": ref["cid"]}
    orphan = await xrpc(
        sandbox,
        http,
        create,
        post_body("x", reply={"root": missing, "parent": strong}),
        session["accessJwt"],
    )
    assert orphan.status_code == 400 and "Could not locate record" in orphan.json()["message"]
    first, second = sandbox.posts("bluesky")
    assert first["facets_ok"] and second["reply"]["parent"] == strong


async def test_bluesky_character_offsets_are_recorded_as_wrong(sandbox: Sandbox, http: Any) -> None:
    token = (await login(sandbox, http))["accessJwt"]
    text = "🔥 see https://s.example/1"
    body = post_body(text, facets=[link_facet(text, "https://s.example/1", chars=True)])
    assert (
        await xrpc(sandbox, http, "com.atproto.repo.createRecord", body, token)
    ).status_code == 200
    assert sandbox.posts("bluesky")[0]["facets_ok"] is False


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (post_body("x" * 301), "must not be longer than 300 graphemes"),
        (post_body("👨‍👩‍👧" * 200), "must not be longer than 3000 characters"),  # UTF-8 bytes
        (post_body("x", createdAt="yesterday"), "valid atproto datetime"),
        (post_body("x", langs=["en", "de", "fr", "es"]), "more than 3 elements"),
        (
            post_body("abc", facets=[{"index": {"byteStart": 1, "byteEnd": 9}, "features": []}]),
            "byte range",
        ),
        (
            post_body("abc", facets=[{"index": {"byteStart": 2, "byteEnd": 2}, "features": []}]),
            "byte range",
        ),
        ({**post_body("x"), "repo": "did:plc:someoneelse"}, "Could not find repo"),
        ({**post_body("x"), "record": {"text": "x"}}, "Invalid $type"),
        ({"repo": C.bluesky_did, "record": {}}, 'must have the property "collection"'),
    ],
)
async def test_bluesky_refusals(sandbox: Sandbox, http: Any, body: Any, words: str) -> None:
    token = (await login(sandbox, http))["accessJwt"]
    answer = await xrpc(sandbox, http, "com.atproto.repo.createRecord", body, token)
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest"
    assert words in answer.json()["message"]


async def test_bluesky_300_emoji_fit_and_duplicate_rkey_is_refused(
    sandbox: Sandbox, http: Any
) -> None:
    token = (await login(sandbox, http))["accessJwt"]
    body = {**post_body("🔥" * 300), "rkey": "3l6oveex3ii2l"}
    assert (
        await xrpc(sandbox, http, "com.atproto.repo.createRecord", body, token)
    ).status_code == 200
    again = await xrpc(sandbox, http, "com.atproto.repo.createRecord", body, token)
    assert again.status_code == 400


async def test_bluesky_login_expiry_and_refresh(sandbox: Sandbox, http: Any) -> None:
    wrong = await xrpc(
        sandbox,
        http,
        "com.atproto.server.createSession",
        {"identifier": C.bluesky_identifier, "password": "nope"},
    )
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
    )
    session = await login(sandbox, http)
    emulator: Any = sandbox.emulators["bluesky"]
    emulator.expire_access_tokens()
    expired = await xrpc(
        sandbox, http, "com.atproto.repo.createRecord", post_body("x"), session["accessJwt"]
    )
    assert (expired.status_code, expired.json()["error"]) == (400, "ExpiredToken")
    fresh = await xrpc(
        sandbox, http, "com.atproto.server.refreshSession", token=session["refreshJwt"]
    )
    assert fresh.status_code == 200
    posted = await xrpc(
        sandbox, http, "com.atproto.repo.createRecord", post_body("x"), fresh.json()["accessJwt"]
    )
    assert posted.status_code == 200
    reused = await xrpc(
        sandbox, http, "com.atproto.server.refreshSession", token=session["refreshJwt"]
    )
    assert reused.status_code == 400 and reused.json()["error"] == "ExpiredToken"
    assert emulator.sessions_created == 1


async def test_bluesky_rate_limit_shape(sandbox: Sandbox, http: Any) -> None:
    sandbox.fail("bluesky", 429, retry_after=10)
    asked_at = time.time()
    answer = await xrpc(sandbox, http, "com.atproto.server.createSession", {})
    assert answer.status_code == 429
    assert answer.json() == {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
    assert int(answer.headers["RateLimit-Reset"]) >= asked_at + 10  # epoch seconds
    assert answer.headers["RateLimit-Remaining"] == "0"


# -- X ---------------------------------------------------------------------------------------


def signer(**overrides: Any) -> Client:
    keys = {
        "client_secret": C.x_api_secret,
        "resource_owner_key": C.x_access_token,
        "resource_owner_secret": C.x_access_token_secret,
        **overrides,
    }
    return Client(keys.pop("client_key", C.x_api_key), **keys)


async def tweet(sandbox: Sandbox, http: Any, body: Any, client: Client | None = None) -> Any:
    url = f"{sandbox.base_url('x')}/2/tweets"
    raw = json.dumps(body)
    _, headers, _ = (client or signer()).sign(
        url, http_method="POST", body=raw, headers={"Content-Type": "application/json"}
    )
    return await http.post(url, content=raw, headers=headers)


async def test_x_verifies_the_signature_and_posts_a_thread(sandbox: Sandbox, http: Any) -> None:
    first = await tweet(sandbox, http, {"text": "Payments are down"})
    assert first.status_code == 201
    data = first.json()["data"]
    assert data["id"].isdigit() and data["edit_history_tweet_ids"] == [data["id"]]
    assert first.headers["x-rate-limit-limit"] == "100"
    assert int(first.headers["x-rate-limit-reset"]) > time.time()
    reply = await tweet(
        sandbox, http, {"text": "Fixed", "reply": {"in_reply_to_tweet_id": data["id"]}}
    )
    assert reply.status_code == 201
    url = f"{sandbox.base_url('x')}/2/users/me?user.fields=created_at"
    signed, headers, _ = signer().sign(url, http_method="GET")
    me = await http.get(signed, headers=headers)
    assert me.json()["data"]["username"] == "sandbox_status"
    tampered = await http.get(signed.replace("created_at", "description"), headers=headers)
    assert tampered.status_code == 401
    assert [t["in_reply_to_tweet_id"] for t in sandbox.posts("x")] == [None, data["id"]]


@pytest.mark.parametrize(
    ("client", "reason"),
    [
        (signer(client_secret="wrong"), "signature does not match"),
        (signer(resource_owner_secret="wrong"), "signature does not match"),
        (signer(client_key="someone-else"), "unknown consumer key"),
        (signer(timestamp=str(int(time.time()) - 900)), "outside the 5-minute window"),
    ],
)
async def test_x_refuses_bad_signatures(
    sandbox: Sandbox, http: Any, client: Any, reason: str
) -> None:
    answer = await tweet(sandbox, http, {"text": "x"}, client)
    assert (answer.status_code, answer.json()) == (
        401,
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    )
    (why,) = sandbox.emulators["x"].auth_failures  # type: ignore[attr-defined]
    assert reason in why
    assert sandbox.posts("x") == []


async def test_x_refuses_a_replayed_nonce(sandbox: Sandbox, http: Any) -> None:
    fixed = signer(nonce="same-nonce-twice", timestamp=str(int(time.time())))
    assert (await tweet(sandbox, http, {"text": "one"}, fixed)).status_code == 201
    assert (await tweet(sandbox, http, {"text": "two"}, fixed)).status_code == 401


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"text": "a" * 281}, 400),
        ({"text": "漢" * 141}, 400),  # weight 2 each: 282
        ({"text": "x", "reply": {"in_reply_to_tweet_id": "abc"}}, 400),
        ({"text": "x", "reply": {"in_reply_to_tweet_id": "123"}}, 403),
        ({"text": "x", "colour": "red"}, 400),
        ({}, 400),
    ],
)
async def test_x_refusals(sandbox: Sandbox, http: Any, body: Any, status: int) -> None:
    answer = await tweet(sandbox, http, body)
    assert answer.status_code == status and answer.json()["status"] == status


async def test_x_lengths_duplicates_and_429(sandbox: Sandbox, http: Any) -> None:
    assert (await tweet(sandbox, http, {"text": "漢" * 140})).status_code == 201
    assert (
        await tweet(sandbox, http, {"text": "a" * 257 + " https://t.example/x"})
    ).status_code == 201
    dup = await tweet(sandbox, http, {"text": "漢" * 140})
    assert (dup.status_code, dup.json()["detail"]) == (
        403,
        "You are not allowed to create a Tweet with duplicate content.",
    )
    sandbox.fail("x", 429, retry_after=60)
    asked_at = time.time()
    limited = await tweet(sandbox, http, {"text": "later"})
    assert limited.status_code == 429 and limited.json()["title"] == "Too Many Requests"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert int(limited.headers["x-rate-limit-reset"]) >= asked_at + 60
