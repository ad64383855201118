"""The Slack and Twilio emulators, driven the way an adapter (or curl) would drive them."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest

from notify.sandbox import Credentials, Sandbox

CREDS = Credentials()
BEARER = {"Authorization": f"Bearer {CREDS.slack_token}"}
TWILIO_AUTH = (CREDS.twilio_account_sid, CREDS.twilio_auth_token)
CHANNEL = "C0123456789"


# -- Slack Web API -------------------------------------------------------------------------


async def slack(
    http: httpx.AsyncClient, sb: Sandbox, method: str, headers: Any = BEARER, **kwargs: Any
) -> httpx.Response:
    return await http.post(f"{sb.base_url('slack')}/{method}", headers=headers, **kwargs)


async def test_post_message_returns_channel_ts_and_message(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    response = await slack(
        http, sandbox, "chat.postMessage", json={"channel": CHANNEL, "text": "*Investigating*"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert body["channel"] == CHANNEL
    assert re.fullmatch(r"\d{10}\.\d{6}", body["ts"])
    assert body["message"]["text"] == "*Investigating*"
    assert body["message"]["ts"] == body["ts"]
    (post,) = sandbox.posts("slack")
    assert (post["channel"], post["ts"], post["text"]) == (CHANNEL, body["ts"], "*Investigating*")


async def test_timestamps_are_unique_and_increasing(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    stamps = []
    for n in range(20):
        response = await slack(
            http, sandbox, "chat.postMessage", json={"channel": CHANNEL, "text": f"#{n}"}
        )
        stamps.append(response.json()["ts"])
    assert len(set(stamps)) == 20
    assert stamps == sorted(stamps, key=float)


async def test_form_bodies_with_the_token_as_a_field_work_too(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "Resolved"}}]
    form = {"token": CREDS.slack_token, "channel": CHANNEL, "blocks": json.dumps(blocks)}
    response = await slack(http, sandbox, "chat.postMessage", headers={}, data=form)
    assert response.json()["ok"] is True
    assert sandbox.posts("slack")[0]["blocks"] == blocks


@pytest.mark.parametrize(
    ("headers", "error"),
    [({}, "not_authed"), ({"Authorization": "Bearer xoxb-not-the-token"}, "invalid_auth")],
)
async def test_bad_credentials_are_http_200_with_ok_false(
    sandbox: Sandbox, http: httpx.AsyncClient, headers: dict[str, str], error: str
) -> None:
    for method in ("chat.postMessage", "chat.update", "auth.test"):
        response = await slack(
            http, sandbox, method, headers=headers, json={"channel": CHANNEL, "text": "x"}
        )
        assert response.status_code == 200
        assert response.json() == {"ok": False, "error": error}
    assert sandbox.posts("slack") == []


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"channel": "#general", "text": "x"}, "channel_not_found"),
        ({"text": "x"}, "channel_not_found"),
        ({"channel": CHANNEL}, "no_text"),
        ({"channel": CHANNEL, "text": ""}, "no_text"),
        ({"channel": CHANNEL, "text": "x" * 40_001}, "msg_too_long"),
        ({"channel": CHANNEL, "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
    ],
)
async def test_post_message_refuses_what_slack_refuses(
    sandbox: Sandbox, http: httpx.AsyncClient, payload: dict[str, Any], error: str
) -> None:
    response = await slack(http, sandbox, "chat.postMessage", json=payload)
    assert response.status_code == 200
    assert response.json() == {"ok": False, "error": error}


async def test_a_body_that_is_not_json_is_invalid_json(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    response = await slack(
        http,
        sandbox,
        "chat.postMessage",
        headers={**BEARER, "Content-Type": "application/json"},
        content=b"{not json",
    )
    assert response.json() == {"ok": False, "error": "invalid_json"}


async def test_unknown_methods_are_404_unknown_method(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    response = await slack(http, sandbox, "chat.postEphemeralish", json={})
    assert response.status_code == 404
    assert response.json()["error"] == "unknown_method"


async def test_threads_reply_under_the_parent_and_flag_stray_replies(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    async def post(**fields: Any) -> str:
        response = await slack(
            http, sandbox, "chat.postMessage", json={"channel": CHANNEL, **fields}
        )
        assert response.json()["ok"] is True  # real Slack posts even a stray reply
        ts: str = response.json()["ts"]
        return ts

    parent = await post(text="Investigating")
    reply = await post(text="Identified", thread_ts=parent, reply_broadcast=True)
    await post(text="Reply to a reply", thread_ts=reply)
    await post(text="Reply to nothing", thread_ts="1111111111.000001")
    posts = {p["text"]: p for p in sandbox.posts("slack")}
    assert posts["Identified"]["thread_ts"] == parent
    assert posts["Identified"]["thread_ts_invalid"] is False
    assert posts["Identified"]["reply_broadcast"] is True
    assert posts["Reply to a reply"]["thread_ts_invalid"] is True
    assert posts["Reply to nothing"]["thread_ts_invalid"] is True
    assert posts["Investigating"]["reply_count"] == 1


async def test_chat_update_edits_the_message_and_keeps_its_history(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    first = await slack(
        http, sandbox, "chat.postMessage", json={"channel": CHANNEL, "text": "Investigating"}
    )
    ts = first.json()["ts"]
    response = await slack(
        http, sandbox, "chat.update", json={"channel": CHANNEL, "ts": ts, "text": "Resolved"}
    )
    body = response.json()
    assert body["ok"] is True
    assert (body["channel"], body["ts"], body["text"]) == (CHANNEL, ts, "Resolved")
    (post,) = sandbox.posts("slack")
    assert post["text"] == "Resolved"
    assert [e["previous_text"] for e in post["edits"]] == ["Investigating"]


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"channel": CHANNEL, "text": "x"}, "message_not_found"),
        ({"channel": CHANNEL, "ts": "1111111111.000001", "text": "x"}, "message_not_found"),
        ({"ts": "1111111111.000001", "text": "x"}, "channel_not_found"),
    ],
)
async def test_chat_update_needs_a_known_channel_and_ts(
    sandbox: Sandbox, http: httpx.AsyncClient, payload: dict[str, Any], error: str
) -> None:
    response = await slack(http, sandbox, "chat.update", json=payload)
    assert response.json() == {"ok": False, "error": error}


async def test_auth_test_describes_the_bot(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    body = (await slack(http, sandbox, "auth.test")).json()
    assert body["ok"] is True
    assert {"url", "team", "user", "team_id", "user_id", "bot_id"} <= set(body)


# -- Slack incoming webhooks ---------------------------------------------------------------


async def test_incoming_webhook_answers_plain_ok(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.post(
        sandbox.webhook_url("slack"), json={"text": "Resolved", "thread_ts": None}
    )
    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["content-type"].startswith("text/plain")
    assert sandbox.posts("slack")[0]["text"] == "Resolved"
    assert sandbox.posts("slack")[0]["via"] == "webhook"


TEXT = {"json": {"text": "x"}}
JSON_TYPE = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("url_change", "request_kwargs", "status", "text"),
    [
        ((CREDS.slack_webhook_secret, "wrongSecret"), TEXT, 403, "invalid_token"),
        (("T0SANDBOX", "T0OTHER00"), TEXT, 404, "no_service"),
        (None, {"json": {"username": "bot"}}, 400, "no_text"),
        (None, {"content": b"{oops", "headers": JSON_TYPE}, 400, "invalid_payload"),
    ],
)
async def test_incoming_webhook_errors_are_status_plus_plain_code(
    sandbox: Sandbox,
    http: httpx.AsyncClient,
    url_change: tuple[str, str] | None,
    request_kwargs: dict[str, Any],
    status: int,
    text: str,
) -> None:
    url = sandbox.webhook_url("slack")
    if url_change:
        url = url.replace(*url_change)
    response = await http.post(url, **request_kwargs)
    assert (response.status_code, response.text) == (status, text)
    assert sandbox.posts("slack") == []


# -- Twilio --------------------------------------------------------------------------------


def messages_url(sb: Sandbox, sid: str = CREDS.twilio_account_sid) -> str:
    return f"{sb.base_url('twilio')}/2010-04-01/Accounts/{sid}/Messages.json"


async def send_sms(
    http: httpx.AsyncClient, sb: Sandbox, auth: Any = TWILIO_AUTH, **fields: Any
) -> httpx.Response:
    form = {"To": "+14155550100", "From": "+15005550006", "Body": "Payments API is degraded."}
    form.update(fields)
    form = {k: v for k, v in form.items() if v is not None}
    return await http.post(messages_url(sb), data=form, auth=auth)


async def test_create_message_returns_the_message_resource(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    response = await send_sms(http, sandbox)
    assert response.status_code == 201
    message = response.json()
    assert re.fullmatch(r"SM[0-9a-f]{32}", message["sid"])
    assert message["status"] == "queued"
    assert message["num_segments"] == "1"
    assert (message["to"], message["from"]) == ("+14155550100", "+15005550006")
    assert message["body"] == "Payments API is degraded."
    assert message["error_code"] is None
    assert message["account_sid"] == CREDS.twilio_account_sid
    assert message["uri"].endswith(f"/Messages/{message['sid']}.json")
    assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000", message["date_created"])
    fetched = await http.get(f"{sandbox.base_url('twilio')}{message['uri']}", auth=TWILIO_AUTH)
    assert fetched.json() == message
    assert sandbox.posts("twilio")[0]["sid"] == message["sid"]


async def test_a_messaging_service_message_is_accepted_with_no_segments_yet(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    response = await send_sms(
        http, sandbox, From=None, MessagingServiceSid=CREDS.twilio_messaging_service_sid
    )
    message = response.json()
    assert response.status_code == 201
    assert (message["status"], message["num_segments"], message["from"]) == ("accepted", "0", None)
    assert sandbox.posts("twilio")[0]["segments"] == 1  # what it will cost, for tests


@pytest.mark.parametrize(
    "auth",
    [
        None,
        (CREDS.twilio_account_sid, "wrong-token"),
        ("AC" + "9" * 32, CREDS.twilio_auth_token),
    ],
)
async def test_wrong_credentials_get_20003(
    sandbox: Sandbox, http: httpx.AsyncClient, auth: Any
) -> None:
    response = await send_sms(http, sandbox, auth=auth)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize(
    ("fields", "code", "words"),
    [
        ({"To": None}, 21604, "'To' phone number is required"),
        ({"From": None}, 21603, "'From' phone number is required"),
        ({"Body": None}, 21602, "body is required"),
        ({"Body": "x" * 1601}, 21617, "1600 character limit"),
        ({"To": "4155550100"}, 21211, "The 'To' number 4155550100 is not a valid phone number"),
        ({"To": "+0123"}, 21211, "not a valid phone number"),
        ({"From": None, "MessagingServiceSid": "MG123"}, 21701, "Messaging Service Sid"),
        ({"From": "not a number!"}, 21212, "not a valid phone number, shortcode"),
        ({"StatusCallback": "https://bad_host.example/cb"}, 21609, "StatusCallback"),
    ],
)
async def test_create_message_refuses_what_twilio_refuses(
    sandbox: Sandbox, http: httpx.AsyncClient, fields: dict[str, Any], code: int, words: str
) -> None:
    response = await send_sms(http, sandbox, **fields)
    assert response.status_code == 400
    error = response.json()
    assert set(error) == {"code", "message", "more_info", "status"}
    assert (error["code"], error["status"]) == (code, 400)
    assert words in error["message"]
    assert sandbox.posts("twilio") == []


async def test_media_without_a_body_is_fine(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    response = await send_sms(http, sandbox, Body=None, MediaUrl="https://x.example/map.png")
    assert response.status_code == 201
    assert response.json()["num_media"] == "1"


async def test_a_json_body_is_refused_as_21604(sandbox: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.post(
        messages_url(sandbox),
        json={"To": "+14155550100", "From": "+15005550006", "Body": "hi"},
        auth=TWILIO_AUTH,
    )
    assert (response.status_code, response.json()["code"]) == (400, 21604)


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, "1"),
        ("a" * 161, "2"),
        ("a" * 306, "2"),
        ("a" * 307, "3"),
        ("€" * 80, "1"),  # extension-table characters cost two septets
        ("€" * 81, "2"),
        ("ж" * 70, "1"),  # outside GSM-7: UCS-2, 70 per single segment
        ("ж" * 71, "2"),
        ("🔥" * 35, "1"),  # non-BMP: two UTF-16 units each
        ("🔥" * 36, "2"),
    ],
)
async def test_num_segments_follow_gsm7_and_ucs2_rules(
    sandbox: Sandbox, http: httpx.AsyncClient, body: str, segments: str
) -> None:
    response = await send_sms(http, sandbox, Body=body)
    assert response.json()["num_segments"] == segments


async def test_the_account_resource_needs_the_same_credentials(
    sandbox: Sandbox, http: httpx.AsyncClient
) -> None:
    url = f"{sandbox.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}.json"
    account = await http.get(url, auth=TWILIO_AUTH)
    denied = await http.get(url, auth=(CREDS.twilio_account_sid, "nope"))
    assert account.status_code == 200
    assert account.json()["status"] == "active"
    assert account.json()["sid"] == CREDS.twilio_account_sid
    assert (denied.status_code, denied.json()["code"]) == (401, 20003)
