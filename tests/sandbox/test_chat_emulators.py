"""The Teams, Discord and Telegram emulators, driven over real sockets as an adapter would.

Also how the Bot API reads a boolean parameter, which every emulator shares.
"""

from __future__ import annotations

from typing import Any

import pytest

from notify.sandbox import Credentials, Sandbox

C = Credentials()
CARD = "application/vnd.microsoft.card.adaptive"


def teams_message(*texts: str) -> dict[str, Any]:
    body = [{"type": "TextBlock", "text": t, "wrap": True} for t in texts]
    content = {"type": "AdaptiveCard", "version": "1.4", "body": body}
    return {"type": "message", "attachments": [{"contentType": CARD, "content": content}]}


# -- Teams -----------------------------------------------------------------------------------


async def test_teams_accepts_a_card_with_202_and_keeps_its_text(
    sandbox: Sandbox, http: Any
) -> None:
    answer = await http.post(
        sandbox.webhook_url("teams", "ops"), json=teams_message("Down", "Fixing")
    )
    assert answer.status_code == 202 and answer.content == b""
    (post,) = sandbox.posts("teams")
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
async def test_teams_refusals(
    sandbox: Sandbox, http: Any, mutate: Any, status: int, words: str
) -> None:
    url, body = mutate(sandbox.webhook_url("teams"), teams_message("Down"))
    answer = await http.post(url, json=body)
    assert answer.status_code == status
    assert words in answer.json()["error"]["message"]
    assert C.teams_sig not in answer.text
    assert sandbox.posts("teams") == []


async def test_teams_card_without_version_is_refused(sandbox: Sandbox, http: Any) -> None:
    body = teams_message("x")
    del body["attachments"][0]["content"]["version"]
    answer = await http.post(sandbox.webhook_url("teams"), json=body)
    assert answer.status_code == 400 and "version" in answer.json()["error"]["message"]


async def test_teams_throttling_says_when_to_retry(sandbox: Sandbox, http: Any) -> None:
    sandbox.fail("teams", 429, retry_after=2.5)
    answer = await http.post(sandbox.webhook_url("teams"), json=teams_message("x"))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "3"


# -- Discord ---------------------------------------------------------------------------------


async def test_discord_wait_true_returns_the_message(sandbox: Sandbox, http: Any) -> None:
    answer = await http.post(
        sandbox.webhook_url("discord"),
        params={"wait": "true"},
        json={"content": "Payments are down", "username": "Acme Status"},
    )
    assert answer.status_code == 200
    message = answer.json()
    assert message["id"].isdigit() and message["content"] == "Payments are down"
    assert message["webhook_id"] == C.discord_webhook_id and message["timestamp"]
    quiet = await http.post(sandbox.webhook_url("discord"), json={"content": "again"})
    assert quiet.status_code == 204
    assert [p["content"] for p in sandbox.posts("discord")] == ["Payments are down", "again"]


@pytest.mark.parametrize(
    ("url_change", "status", "code"),
    [
        (("sandbox-discord-webhook-token", "wrong-token"), 401, 50027),
        (("100000000000000001", "100000000000000009"), 404, 10015),
    ],
)
async def test_discord_auth(
    sandbox: Sandbox, http: Any, url_change: Any, status: int, code: int
) -> None:
    answer = await http.post(
        sandbox.webhook_url("discord").replace(*url_change), json={"content": "x"}
    )
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
async def test_discord_invalid_form_body(
    sandbox: Sandbox, http: Any, body: Any, field: str
) -> None:
    answer = await http.post(sandbox.webhook_url("discord"), json=body)
    error = answer.json()
    assert answer.status_code == 400 and error["code"] == 50035
    node = error["errors"]
    for part in field.split("."):
        node = node[part]
    assert node["_errors"][0]["message"]
    assert sandbox.posts("discord") == []


@pytest.mark.parametrize("body", [{}, {"content": "   "}, {"embeds": []}])
async def test_discord_empty_message(sandbox: Sandbox, http: Any, body: Any) -> None:
    answer = await http.post(sandbox.webhook_url("discord"), json=body)
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
    sandbox: Sandbox, http: Any, allowed: Any, pings: bool
) -> None:
    body: dict[str, Any] = {"content": "@everyone payments are down"}
    if allowed is not None:
        body["allowed_mentions"] = allowed
    assert (await http.post(sandbox.webhook_url("discord"), json=body)).status_code == 204
    assert sandbox.posts("discord")[0]["would_ping_everyone"] is pings


async def test_discord_threads_must_exist(sandbox: Sandbox, http: Any) -> None:
    url = sandbox.webhook_url("discord")
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
    assert [p["thread_id"] for p in sandbox.posts("discord")] == [thread, thread]


async def test_discord_rate_limit_shape(sandbox: Sandbox, http: Any) -> None:
    sandbox.fail("discord", 429, retry_after=1.5)
    answer = await http.post(sandbox.webhook_url("discord"), json={"content": "x"})
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


def bot(sandbox: Sandbox, method: str = "sendMessage", token: str = C.telegram_token) -> str:
    return f"{sandbox.base_url('telegram')}/bot{token}/{method}"


def tg(text: str, **extra: Any) -> dict[str, Any]:
    return {"chat_id": int(C.telegram_chat_id), "text": text, "parse_mode": "HTML", **extra}


async def test_telegram_parses_html_and_threads_replies(sandbox: Sandbox, http: Any) -> None:
    first = (
        await http.post(bot(sandbox), json=tg("<b>Down</b> &amp; <i>slow</i> &lt;api&gt;"))
    ).json()
    assert first["ok"] and first["result"]["text"] == "Down & slow <api>"
    assert first["result"]["entities"] == [
        {"type": "bold", "offset": 0, "length": 4},
        {"type": "italic", "offset": 7, "length": 4},
    ]
    reply = {"message_id": first["result"]["message_id"]}
    second = (await http.post(bot(sandbox), json=tg("Fixed", reply_parameters=reply))).json()
    assert second["result"]["message_id"] > first["result"]["message_id"]
    assert second["result"]["reply_to_message"]["message_id"] == reply["message_id"]
    legacy = await http.post(
        bot(sandbox),
        data={
            "chat_id": C.telegram_chat_id,
            "text": "ok",
            "reply_to_message_id": str(reply["message_id"]),
        },
    )
    assert legacy.json()["ok"]
    assert [p["reply_to_message_id"] for p in sandbox.posts("telegram")] == [None, 1, 1]


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
    sandbox: Sandbox, http: Any, body: Any, status: int, description: str
) -> None:
    answer = await http.post(bot(sandbox), json=body)
    assert answer.status_code == status
    data = answer.json()
    assert data["ok"] is False and data["error_code"] == status
    assert description in data["description"]
    assert sandbox.posts("telegram") == []


async def test_telegram_counts_parsed_utf16_text(sandbox: Sandbox, http: Any) -> None:
    assert (await http.post(bot(sandbox), json=tg("&lt;" * 4096))).json()[
        "ok"
    ]  # 4,096 after parsing
    assert (await http.post(bot(sandbox), json=tg("😀" * 2048))).json()["ok"]  # 4,096 UTF-16 units
    markdown = tg("*Done*\\. See [status](https://s.example/x)", parse_mode="MarkdownV2")
    result = (await http.post(bot(sandbox), json=markdown)).json()["result"]
    assert result["text"] == "Done. See status"
    assert [e["type"] for e in result["entities"]] == ["bold", "text_link"]


async def test_telegram_auth_get_me_and_missing_reply_allowed(sandbox: Sandbox, http: Any) -> None:
    wrong = await http.post(bot(sandbox, token="100001:nope"), json=tg("x"))
    assert (wrong.status_code, wrong.json()) == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    me = (await http.get(bot(sandbox, "getMe"))).json()["result"]
    assert me["is_bot"] and me["id"] == 100001
    lenient = {"message_id": 7, "allow_sending_without_reply": True}
    assert (await http.post(bot(sandbox), json=tg("x", reply_parameters=lenient))).json()["ok"]


async def test_telegram_429(sandbox: Sandbox, http: Any) -> None:
    sandbox.fail("telegram", 429, retry_after=3.2)
    answer = await http.post(bot(sandbox), json=tg("x"))
    assert answer.status_code == 429
    assert answer.json() == {
        "ok": False,
        "error_code": 429,
        "description": "Too Many Requests: retry after 4",
        "parameters": {"retry_after": 4},
    }


@pytest.mark.parametrize(
    ("flag", "sent"), [(" YES ", True), ("true", True), ("1", True), ("no", False)]
)
async def test_telegram_reads_a_form_boolean_as_the_bot_api_does(
    sandbox: Sandbox, http: Any, flag: str, sent: bool
) -> None:
    # Client::to_bool in telegram-bot-api: lower-cased, trimmed, then "true", "yes" or "1".
    form = {"chat_id": C.telegram_chat_id, "text": "x", "reply_to_message_id": "99"}
    answer = await http.post(bot(sandbox), data={**form, "allow_sending_without_reply": flag})
    assert answer.json()["ok"] is sent
