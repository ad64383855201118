"""The sandbox's Teams, Discord, Telegram, Mastodon, Bluesky, X and SendGrid emulators, driven
over real sockets the way an adapter (or a curious user with httpx) would talk to them."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from oauthlib.oauth1 import Client

from notify.sandbox import Credentials, Sandbox
from notify.sandbox.core.http import Request

C = Credentials()
CARD = "application/vnd.microsoft.card.adaptive"


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


def teams_message(*texts: str) -> dict[str, Any]:
    body = [{"type": "TextBlock", "text": t, "wrap": True} for t in texts]
    content = {"type": "AdaptiveCard", "version": "1.4", "body": body}
    return {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}


# -- Teams -----------------------------------------------------------------------------------


async def test_teams_accepts_a_card_with_202_and_keeps_its_text(sb: Sandbox, http: Any) -> None:
    answer = await http.post(sb.webhook_url("teams", "ops"), json=teams_message("Down", "Fixing"))
    assert answer.status_code == 202 and answer.content == b""
    (post,) = sb.posts("teams")
    assert post["workflow_id"] == "ops" and post["texts"] == ["Down", "Fixing"]


@pytest.mark.parametrize(
    ("mutate", "status", "words"),
    [
        (lambda url, body: (url.replace("sig=", "sig=x"), body), 401, "signature is not valid"),
        (lambda url, body: (url.split("?")[0], body), 401, "Shared Access"),
        (lambda url, body: (url, {**body, "type": "card"}), 400, "'type' must be 'message'"),
        (lambda url, body: (url, {**body, "attachments": []}), 400, "non-empty array"),
        (
            lambda url, body: (url, {"type": "message", "attachments": [{"contentType": "x"}]}),
            400,
            "contentType",
        ),
        (lambda url, body: (url, teams_message("x" * 29 * 1024)), 413, "limit is 28672 bytes"),
    ],
)
async def test_teams_refusals(sb: Sandbox, http: Any, mutate: Any, status: int, words: str) -> None:
    url, body = mutate(sb.webhook_url("teams"), teams_message("Down"))
    answer = await http.post(url, json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]["message"]
    assert C.teams_sig not in answer.text
    assert sb.posts("teams") == []


async def test_teams_card_without_version_is_refused(sb: Sandbox, http: Any) -> None:
    body = teams_message("x")
    del body["attachments"][0]["content"]["version"]
    answer = await http.post(sb.webhook_url("teams"), json=body)
    assert answer.status_code == 400 and "version" in answer.json()["error"]["message"]


async def test_teams_throttling_says_when_to_retry(sb: Sandbox, http: Any) -> None:
    sb.fail("teams", 429, retry_after=2.5)
    answer = await http.post(sb.webhook_url("teams"), json=teams_message("x"))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"


# -- Discord ---------------------------------------------------------------------------------


async def test_discord_wait_true_returns_the_message(sb: Sandbox, http: Any) -> None:
    answer = await http.post(
        sb.webhook_url("discord"),
        params={"wait": "true"},
        json={"content": "Payments are down", "username": "Acme Status"},
    )
    assert answer.status_code == 200
    message = answer.json()
    assert message["id"].isdigit() and message["content"] == "Payments are down"
    assert message["webhook_id"] == C.discord_webhook_id and message["timestamp"]
    quiet = await http.post(sb.webhook_url("discord"), json={"content": "again"})
    assert quiet.status_code == 204
    assert [p["content"] for p in sb.posts("discord")] == ["Payments are down", "again"]


@pytest.mark.parametrize(
    ("url_change", "status", "code"),
    [
        (("sandbox-discord-webhook-token", "wrong-token"), 401, 50027),
        (("100000000000000001", "100000000000000009"), 404, 10015),
    ],
)
async def test_discord_auth(
    sb: Sandbox, http: Any, url_change: Any, status: int, code: int
) -> None:
    answer = await http.post(sb.webhook_url("discord").replace(*url_change), json={"content": "x"})
    assert (answer.status_code, answer.json()["code"]) == (status, code)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"title": "t"}] * 11}, "embeds"),
        ({"embeds": [{"title": "x" * 257}]}, "embeds.0.title"),
        ({"embeds": [{"description": "x" * 4096}, {"description": "y" * 2000}]}, "embeds"),
        ({"embeds": [{"fields": [{"name": "n"}]}]}, "embeds.0.fields.0.value"),
        ({"content": "x", "username": "u" * 81}, "username"),
        ({"content": "x", "username": "Discord Status"}, "username"),
        ({"content": "x", "allowed_mentions": {"parse": ["all"]}}, "allowed_mentions.parse.0"),
        (
            {"content": "x", "allowed_mentions": {"parse": ["users"], "users": ["1"]}},
            "allowed_mentions",
        ),
    ],
)
async def test_discord_invalid_form_body(sb: Sandbox, http: Any, body: Any, field: str) -> None:
    answer = await http.post(sb.webhook_url("discord"), json=body)
    error = answer.json()
    assert answer.status_code == 400 and error["code"] == 50035
    node = error["errors"]
    for part in field.split("."):
        node = node[part]
    assert node["_errors"][0]["message"]
    assert sb.posts("discord") == []


@pytest.mark.parametrize("body", [{}, {"content": "   "}, {"embeds": []}])
async def test_discord_empty_message(sb: Sandbox, http: Any, body: Any) -> None:
    answer = await http.post(sb.webhook_url("discord"), json=body)
    assert answer.json() == {"message": "Cannot send an empty message", "code": 50006}


@pytest.mark.parametrize(
    ("allowed", "pings"),
    [
        (None, True),
        ({"parse": []}, False),
        ({"parse": ["everyone"]}, True),
        ({"parse": ["users"]}, False),
    ],
)
async def test_discord_records_everyone_pings(
    sb: Sandbox, http: Any, allowed: Any, pings: bool
) -> None:
    body: dict[str, Any] = {"content": "@everyone payments are down"}
    if allowed is not None:
        body["allowed_mentions"] = allowed
    assert (await http.post(sb.webhook_url("discord"), json=body)).status_code == 204
    assert sb.posts("discord")[0]["would_ping_everyone"] is pings


async def test_discord_threads_must_exist(sb: Sandbox, http: Any) -> None:
    url = sb.webhook_url("discord")
    unknown = await http.post(url, params={"thread_id": "42"}, json={"content": "x"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, 10003)
    opened = await http.post(
        url, params={"wait": "true"}, json={"content": "Down", "thread_name": "Payments"}
    )
    thread = opened.json()["channel_id"]
    assert thread == opened.json()["id"]
    follow = await http.post(
        url, params={"wait": "true", "thread_id": thread}, json={"content": "Fixed"}
    )
    assert follow.json()["channel_id"] == thread
    assert [p["thread_id"] for p in sb.posts("discord")] == [thread, thread]


async def test_discord_rate_limit_shape(sb: Sandbox, http: Any) -> None:
    sb.fail("discord", 429, retry_after=1.5)
    answer = await http.post(sb.webhook_url("discord"), json={"content": "x"})
    assert answer.status_code == 429
    assert answer.json() == {
        "message": "You are being rate limited.",
        "retry_after": 1.5,
        "global": False,
        "code": 0,
    }
    for header in (
        "Retry-After",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "X-RateLimit-Reset-After",
        "X-RateLimit-Bucket",
        "X-RateLimit-Scope",
    ):
        assert header in answer.headers
    assert answer.headers["X-RateLimit-Reset-After"] == "1.500"


# -- Telegram --------------------------------------------------------------------------------


def bot(sb: Sandbox, method: str = "sendMessage", token: str = C.telegram_token) -> str:
    return f"{sb.base_url('telegram')}/bot{token}/{method}"


def tg(text: str, **extra: Any) -> dict[str, Any]:
    return {"chat_id": int(C.telegram_chat_id), "text": text, "parse_mode": "HTML", **extra}


async def test_telegram_parses_html_and_threads_replies(sb: Sandbox, http: Any) -> None:
    first = (await http.post(bot(sb), json=tg("<b>Down</b> &amp; <i>slow</i> &lt;api&gt;"))).json()
    assert first["ok"] and first["result"]["text"] == "Down & slow <api>"
    assert first["result"]["entities"] == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 7, "length": 4},
    ]
    reply = {"message_id": first["result"]["message_id"]}
    second = (await http.post(bot(sb), json=tg("Fixed", reply_parameters=reply))).json()
    assert second["result"]["message_id"] > first["result"]["message_id"]
    assert second["result"]["reply_to_message"]["message_id"] == reply["message_id"]
    legacy = await http.post(
        bot(sb),
        data={
            "chat_id": C.telegram_chat_id,
            "text": "ok",
            "reply_to_message_id": str(reply["message_id"]),
        },
    )
    assert legacy.json()["ok"]
    assert [p["reply_to_message_id"] for p in sb.posts("telegram")] == [None, 1, 1]


@pytest.mark.parametrize(
    ("body", "status", "description"),
    [
        (tg("x", chat_id=-1009), 400, "Bad Request: chat not found"),
        (tg("Load < 5"), 400, 'Unsupported start tag "" at byte offset 5'),
        (tg("a<br>b"), 400, 'Unsupported start tag "br"'),
        (tg("R&D"), 400, "can't parse entities"),
        (tg("&nbsp;"), 400, 'Unsupported HTML entity "&nbsp;"'),
        (tg("<b>open"), 400, 'Can\'t find end tag corresponding to start tag "b"'),
        (tg("<b><i>x</b></i>"), 400, 'expected "</i>", found "</b>"'),
        (tg('<span class="x">s</span>'), 400, 'must have class "tg-spoiler"'),
        (tg("<b> </b>"), 400, "Bad Request: message text is empty"),
        (tg("😀" * 2049), 400, "Bad Request: message is too long"),
        (tg("x", reply_parameters={"message_id": 99}), 400, "message to be replied not found"),
        (tg("Done.", parse_mode="MarkdownV2"), 400, "Character '.' is reserved"),
        (tg("*bold", parse_mode="MarkdownV2"), 400, "Can't find end of Bold entity"),
    ],
)
async def test_telegram_refusals(
    sb: Sandbox, http: Any, body: Any, status: int, description: str
) -> None:
    answer = await http.post(bot(sb), json=body)
    assert answer.status_code == status
    data = answer.json()
    assert data["ok"] is False and data["error_code"] == status
    assert description in data["description"]
    assert sb.posts("telegram") == []


async def test_telegram_counts_parsed_utf16_text(sb: Sandbox, http: Any) -> None:
    assert (await http.post(bot(sb), json=tg("&lt;" * 4096))).json()["ok"]  # 4,096 after parsing
    assert (await http.post(bot(sb), json=tg("😀" * 2048))).json()["ok"]  # 4,096 UTF-16 units
    markdown = tg("*Done*\\. See [status](https://s.example/x)", parse_mode="MarkdownV2")
    result = (await http.post(bot(sb), json=markdown)).json()["result"]
    assert result["text"] == "Done. See status"
    assert [e["type"] for e in result["entities"]] == ["bold", "text_link"]


async def test_telegram_auth_get_me_and_missing_reply_allowed(sb: Sandbox, http: Any) -> None:
    wrong = await http.post(bot(sb, token="100001:nope"), json=tg("x"))
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    me = (await http.get(bot(sb, "getMe"))).json()["result"]
    assert me["is_bot"] and me["id"] == 100001
    lenient = {"message_id": 7, "allow_sending_without_reply": True}
    assert (await http.post(bot(sb), json=tg("x", reply_parameters=lenient))).json()["ok"]


async def test_telegram_429(sb: Sandbox, http: Any) -> None:
    sb.fail("telegram", 429, retry_after=3.2)
    answer = await http.post(bot(sb), json=tg("x"))
    assert answer.status_code == 429
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 4",
        "parameters": {"retry_after": 4},
    }


# -- Mastodon --------------------------------------------------------------------------------

MASTODON_AUTH = {"Authorization": f"Bearer {C.mastodon_token}"}


async def toot(sb: Sandbox, http: Any, headers: Any = None, **body: Any) -> httpx.Response:
    headers = {**MASTODON_AUTH, **(headers or {})}
    response: httpx.Response = await http.post(
        f"{sb.base_url('mastodon')}/api/v1/statuses", json=body, headers=headers
    )
    return response


async def test_mastodon_posts_a_thread_with_rate_limit_headers(sb: Sandbox, http: Any) -> None:
    first = await toot(sb, http, status="Down <now>", visibility="unlisted", language="en")
    assert first.status_code == 200
    status = first.json()
    assert isinstance(status["id"], str) and status["content"] == "<p>Down &lt;now&gt;</p>"
    assert status["visibility"] == "unlisted" and status["url"].endswith(status["id"])
    assert first.headers["X-RateLimit-Limit"] == "300"
    assert first.headers["X-RateLimit-Remaining"] == "299"
    assert first.headers["X-RateLimit-Reset"].endswith("Z")  # ISO-8601, not epoch
    second = await toot(sb, http, status="Fixed", in_reply_to_id=status["id"])
    assert second.json()["in_reply_to_id"] == status["id"]
    orphan = await toot(sb, http, status="x", in_reply_to_id="12345")
    assert (orphan.status_code, orphan.json()) == (404, {"error": "Record not found"})


async def test_mastodon_counts_graphemes_and_urls_as_23(sb: Sandbox, http: Any) -> None:
    url = "https://status.acme.example/incidents/" + "p" * 100
    assert (await toot(sb, http, status="a" * 476 + " " + url)).status_code == 200  # 500
    assert (await toot(sb, http, status="👍🏽" * 500)).status_code == 200
    over = await toot(sb, http, status="a" * 477 + " " + url)
    assert over.status_code == 422
    assert over.json() == {"error": "Validation failed: Text character limit of 500 exceeded"}
    cw = await toot(sb, http, status="a" * 490, spoiler_text="b" * 11)
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
    sb: Sandbox, http: Any, body: Any, status: int, error: str
) -> None:
    answer = await toot(sb, http, **body)
    assert answer.status_code == status and error in answer.json()["error"]


async def test_mastodon_idempotency_key_returns_the_same_status(sb: Sandbox, http: Any) -> None:
    key = {"Idempotency-Key": "incident-1-update-1"}
    first = await toot(sb, http, key, status="Down")
    again = await toot(sb, http, key, status="Down")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = await toot(sb, http, {"Idempotency-Key": "incident-1-update-2"}, status="Down 2")
    assert other.json()["id"] != first.json()["id"]
    assert sb.emulators["mastodon"].creations == 2  # type: ignore[attr-defined]
    assert len(sb.posts("mastodon")) == 2


async def test_mastodon_auth_instance_and_account(sb: Sandbox, http: Any) -> None:
    base = sb.base_url("mastodon")
    bad = await toot(sb, http, {"Authorization": "Bearer nope"}, status="x")
    assert (bad.status_code, bad.json()) == (401, {"error": "The access token is invalid"})
    instance = (await http.get(f"{base}/api/v2/instance")).json()
    assert instance["configuration"]["statuses"] == {
        "max_characters": 500,
        "max_media_attachments": 4,
        "characters_reserved_per_url": 23,
    }
    me = await http.get(f"{base}/api/v1/accounts/verify_credentials", headers=MASTODON_AUTH)
    assert me.json()["acct"] == "status"
    sb.fail("mastodon", 429, retry_after=30)
    limited = await toot(sb, http, status="x")
    assert (limited.status_code, limited.json()) == (429, {"error": "Too many requests"})
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"].endswith("Z")


# -- Bluesky ---------------------------------------------------------------------------------


async def xrpc(sb: Sandbox, http: Any, method: str, body: Any = None, token: str = "") -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await http.post(f"{sb.base_url('bluesky')}/xrpc/{method}", json=body, headers=headers)


async def login(sb: Sandbox, http: Any) -> dict[str, Any]:
    creds = {"identifier": C.bluesky_identifier, "password": C.bluesky_app_password}
    answer = await xrpc(sb, http, "com.atproto.server.createSession", creds)
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


async def test_bluesky_session_post_and_reply(sb: Sandbox, http: Any) -> None:
    session = await login(sb, http)
    assert session["did"] == C.bluesky_did and session["active"] is True
    text = "🔥 Payments down: https://status.acme.example/i/1"
    facet = link_facet(text, "https://status.acme.example/i/1")
    create = "com.atproto.repo.createRecord"
    root = await xrpc(
        sb, http, create, post_body(text, facets=[facet], langs=["en"]), session["accessJwt"]
    )
    assert root.status_code == 200
    ref = root.json()
    assert ref["uri"].startswith(f"at://{C.bluesky_did}/app.bsky.feed.post/")
    assert ref["cid"].startswith("bafyrei") and ref["validationStatus"] == "valid"
    assert root.headers["RateLimit-Policy"] == "5000;w=3600"
    strong = {"uri": ref["uri"], "cid": ref["cid"]}
    reply = await xrpc(
        sb,
        http,
        create,
        post_body("Fixed", reply={"root": strong, "parent": strong}),
        session["accessJwt"],
    )
    assert reply.status_code == 200
    missing = {"uri": ref["uri"][:-3] + "zzz", "cid": ref["cid"]}
    orphan = await xrpc(
        sb,
        http,
        create,
        post_body("x", reply={"root": missing, "parent": strong}),
        session["accessJwt"],
    )
    assert orphan.status_code == 400 and "Could not locate record" in orphan.json()["message"]
    first, second = sb.posts("bluesky")
    assert first["facets_ok"] and second["reply"]["parent"] == strong


async def test_bluesky_character_offsets_are_recorded_as_wrong(sb: Sandbox, http: Any) -> None:
    token = (await login(sb, http))["accessJwt"]
    text = "🔥 see https://s.example/1"
    body = post_body(text, facets=[link_facet(text, "https://s.example/1", chars=True)])
    assert (await xrpc(sb, http, "com.atproto.repo.createRecord", body, token)).status_code == 200
    assert sb.posts("bluesky")[0]["facets_ok"] is False


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
async def test_bluesky_refusals(sb: Sandbox, http: Any, body: Any, words: str) -> None:
    token = (await login(sb, http))["accessJwt"]
    answer = await xrpc(sb, http, "com.atproto.repo.createRecord", body, token)
    assert answer.status_code == 400 and answer.json()["error"] == "InvalidRequest"
    assert words in answer.json()["message"]


async def test_bluesky_300_emoji_fit_and_duplicate_rkey_is_refused(sb: Sandbox, http: Any) -> None:
    token = (await login(sb, http))["accessJwt"]
    body = {**post_body("🔥" * 300), "rkey": "3l6oveex3ii2l"}
    assert (await xrpc(sb, http, "com.atproto.repo.createRecord", body, token)).status_code == 200
    again = await xrpc(sb, http, "com.atproto.repo.createRecord", body, token)
    assert again.status_code == 400


async def test_bluesky_login_expiry_and_refresh(sb: Sandbox, http: Any) -> None:
    wrong = await xrpc(
        sb,
        http,
        "com.atproto.server.createSession",
        {"identifier": C.bluesky_identifier, "password": "nope"},
    )
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
    )
    session = await login(sb, http)
    emulator: Any = sb.emulators["bluesky"]
    emulator.expire_access_tokens()
    expired = await xrpc(
        sb, http, "com.atproto.repo.createRecord", post_body("x"), session["accessJwt"]
    )
    assert (expired.status_code, expired.json()["error"]) == (400, "ExpiredToken")
    fresh = await xrpc(sb, http, "com.atproto.server.refreshSession", token=session["refreshJwt"])
    assert fresh.status_code == 200
    posted = await xrpc(
        sb, http, "com.atproto.repo.createRecord", post_body("x"), fresh.json()["accessJwt"]
    )
    assert posted.status_code == 200
    reused = await xrpc(sb, http, "com.atproto.server.refreshSession", token=session["refreshJwt"])
    assert reused.status_code == 400 and reused.json()["error"] == "ExpiredToken"
    assert emulator.sessions_created == 1


async def test_bluesky_rate_limit_shape(sb: Sandbox, http: Any) -> None:
    sb.fail("bluesky", 429, retry_after=10)
    asked_at = time.time()
    answer = await xrpc(sb, http, "com.atproto.server.createSession", {})
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


async def tweet(sb: Sandbox, http: Any, body: Any, client: Client | None = None) -> Any:
    url = f"{sb.base_url('x')}/2/tweets"
    raw = json.dumps(body)
    _, headers, _ = (client or signer()).sign(
        url, http_method="POST", body=raw, headers={"Content-Type": "application/json"}
    )
    return await http.post(url, content=raw, headers=headers)


async def test_x_verifies_the_signature_and_posts_a_thread(sb: Sandbox, http: Any) -> None:
    first = await tweet(sb, http, {"text": "Payments are down"})
    assert first.status_code == 201
    data = first.json()["data"]
    assert data["id"].isdigit() and data["edit_history_tweet_ids"] == [data["id"]]
    assert first.headers["x-rate-limit-limit"] == "100"
    assert int(first.headers["x-rate-limit-reset"]) > time.time()
    reply = await tweet(sb, http, {"text": "Fixed", "reply": {"in_reply_to_tweet_id": data["id"]}})
    assert reply.status_code == 201
    url = f"{sb.base_url('x')}/2/users/me?user.fields=created_at"
    signed, headers, _ = signer().sign(url, http_method="GET")
    me = await http.get(signed, headers=headers)
    assert me.json()["data"]["username"] == "sandbox_status"
    tampered = await http.get(signed.replace("created_at", "description"), headers=headers)
    assert tampered.status_code == 401
    assert [t["in_reply_to_tweet_id"] for t in sb.posts("x")] == [None, data["id"]]


@pytest.mark.parametrize(
    ("client", "reason"),
    [
        (signer(client_secret="wrong"), "signature does not match"),
        (signer(resource_owner_secret="wrong"), "signature does not match"),
        (signer(client_key="someone-else"), "unknown consumer key"),
        (signer(timestamp=str(int(time.time()) - 900)), "outside the 5-minute window"),
    ],
)
async def test_x_refuses_bad_signatures(sb: Sandbox, http: Any, client: Any, reason: str) -> None:
    answer = await tweet(sb, http, {"text": "x"}, client)
    assert (answer.status_code, answer.json()) == (
        401,
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    )
    (why,) = sb.emulators["x"].auth_failures  # type: ignore[attr-defined]
    assert reason in why
    assert sb.posts("x") == []


async def test_x_refuses_a_replayed_nonce(sb: Sandbox, http: Any) -> None:
    fixed = signer(nonce="same-nonce-twice", timestamp=str(int(time.time())))
    assert (await tweet(sb, http, {"text": "one"}, fixed)).status_code == 201
    assert (await tweet(sb, http, {"text": "two"}, fixed)).status_code == 401


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
async def test_x_refusals(sb: Sandbox, http: Any, body: Any, status: int) -> None:
    answer = await tweet(sb, http, body)
    assert answer.status_code == status and answer.json()["status"] == status


async def test_x_lengths_duplicates_and_429(sb: Sandbox, http: Any) -> None:
    assert (await tweet(sb, http, {"text": "漢" * 140})).status_code == 201
    assert (await tweet(sb, http, {"text": "a" * 257 + " https://t.example/x"})).status_code == 201
    dup = await tweet(sb, http, {"text": "漢" * 140})
    assert (dup.status_code, dup.json()["detail"]) == (
        403,
        "You are not allowed to create a Tweet with duplicate content.",
    )
    sb.fail("x", 429, retry_after=60)
    asked_at = time.time()
    limited = await tweet(sb, http, {"text": "later"})
    assert limited.status_code == 429 and limited.json()["title"] == "Too Many Requests"
    assert limited.headers["x-rate-limit-remaining"] == "0"
    assert int(limited.headers["x-rate-limit-reset"]) >= asked_at + 60


# -- SendGrid --------------------------------------------------------------------------------

SENDGRID_AUTH = {"Authorization": f"Bearer {C.sendgrid_api_key}"}


def mail(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [
            {
                "to": [{"email": "ana@acme.example", "name": "Ana"}],
                "cc": [{"email": "ops@acme.example"}],
                "headers": {"List-Unsubscribe": "<https://acme.example/u/1>"},
            },
            {"to": [{"email": "bo@acme.example"}], "subject": "For Bo"},
        ],
        "from": {"email": "status@sandbox.test", "name": "Acme Status"},
        "subject": "[Acme] Payments",
        "content": [
            {"type": "text/plain", "value": "Down"},
            {"type": "text/html", "value": "<p>Down</p>"},
        ],
    }
    body.update(changes)
    return body


async def send_mail(sb: Sandbox, http: Any, body: Any, key: str = C.sendgrid_api_key) -> Any:
    url = f"{sb.base_url('sendgrid')}/v3/mail/send"
    return await http.post(url, json=body, headers={"Authorization": f"Bearer {key}"})


async def test_sendgrid_accepts_and_expands_recipients(sb: Sandbox, http: Any) -> None:
    answer = await send_mail(sb, http, mail())
    assert answer.status_code == 202 and answer.content == b""
    assert answer.headers["X-Message-Id"]
    posts = sb.posts("sendgrid")
    assert [(p["to"], p["kind"], p["subject"]) for p in posts] == [
        ("ana@acme.example", "to", "[Acme] Payments"),
        ("ops@acme.example", "cc", "[Acme] Payments"),
        ("bo@acme.example", "to", "For Bo"),
    ]
    assert posts[0]["headers"] == {"List-Unsubscribe": "<https://acme.example/u/1>"}
    assert {p["message_id"] for p in posts} == {answer.headers["X-Message-Id"]}


def many(n: int) -> list[dict[str, Any]]:
    return [{"to": [{"email": f"r{i}@acme.example"}]} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (mail(personalizations=[]), "personalizations"),
        (mail(personalizations=[{"cc": [{"email": "a@acme.example"}]}]), "personalizations.0.to"),
        (
            mail(personalizations=[{"to": [{"email": "not-an-address"}]}]),
            "personalizations.0.to.0.email",
        ),
        (mail(personalizations=many(1001)), "personalizations"),
        (
            mail(
                personalizations=[
                    {"to": [{"email": "a@acme.example"}], "bcc": [{"email": "A@acme.example"}]}
                ]
            ),
            "personalizations.0.bcc",
        ),
        (mail(**{"from": {"name": "x"}}), "from.email"),
        (mail(**{"from": {"email": "status at acme"}}), "from.email"),
        (mail(subject=None), "subject"),
        (mail(content=[]), "content"),
        (
            mail(
                content=[
                    {"type": "text/html", "value": "<p>x</p>"},
                    {"type": "text/plain", "value": "x"},
                ]
            ),
            "content",
        ),
        (mail(content=[{"type": "text/plain", "value": ""}]), "content.0.value"),
        (mail(headers={"Subject": "sneaky"}), "headers.Subject"),
    ],
)
async def test_sendgrid_refusals(sb: Sandbox, http: Any, body: Any, field: str) -> None:
    if body.get("subject") is None:
        body.pop("subject", None)
        body["personalizations"][1].pop("subject", None)
    answer = await send_mail(sb, http, body)
    assert answer.status_code == 400
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert sb.posts("sendgrid") == []


async def test_sendgrid_subject_per_personalization_or_template_is_enough(
    sb: Sandbox, http: Any
) -> None:
    each = mail(personalizations=[{"to": [{"email": "a@acme.example"}], "subject": "A"}])
    del each["subject"]
    assert (await send_mail(sb, http, each)).status_code == 202
    templated = {k: v for k, v in mail().items() if k not in ("subject", "content")}
    assert (await send_mail(sb, http, {**templated, "template_id": "d-1"})).status_code == 202


async def test_sendgrid_auth_size_and_429(sb: Sandbox, http: Any) -> None:
    wrong = await send_mail(sb, http, mail(), key="SG.nope")
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["message"] == (
        "The provided authorization grant is invalid, expired, or revoked"
    )
    emulator = sb.emulators["sendgrid"]
    huge = Request(
        "POST",
        "/v3/mail/send",
        headers={k.lower(): v for k, v in SENDGRID_AUTH.items()},
        body=b"{" + b" " * (30 * 1024 * 1024) + b"}",
    )
    assert (await emulator.handle(huge)).status == 413
    sb.fail("sendgrid", 429, retry_after=5)
    limited = await send_mail(sb, http, mail())
    assert limited.status_code == 429 and limited.json()["errors"][0]["message"]
    assert sb.posts("sendgrid") == []
