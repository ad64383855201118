"""The sandbox core over real sockets: routing and addresses, keep-alive, the knobs, recording."""

from __future__ import annotations

import asyncio
import time

import h11
import httpx
import pytest

from notify.sandbox import Credentials, Sandbox

CREDS = Credentials()


def twilio_messages(sb: Sandbox) -> str:
    return f"{sb.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}/Messages.json"


TWILIO_AUTH = (CREDS.twilio_account_sid, CREDS.twilio_auth_token)
SMS = {"To": "+14155550100", "From": "+15005550006", "Body": "Payments API is degraded."}
SLACK_AUTH = {"Authorization": f"Bearer {CREDS.slack_token}"}


# -- routing and addresses -----------------------------------------------------------------


async def test_base_urls_follow_the_provider_layout(sandbox: Sandbox) -> None:
    root = sandbox.url
    assert root.startswith("http://127.0.0.1:")
    assert sandbox.base_url("slack") == f"{root}/slack/api"
    assert sandbox.base_url("twilio") == f"{root}/twilio"
    assert sandbox.webhook_url("slack").endswith(
        f"/slack/hooks/services/T0SANDBOX/B0SANDBOX/{CREDS.slack_webhook_secret}"
    )
    assert (
        sandbox.webhook_url("teams", "ops") == f"{root}/teams/workflows/ops?sig={CREDS.teams_sig}"
    )
    assert sandbox.webhook_url("webhook", "hooks") == f"{root}/webhook/hooks"
    with pytest.raises(ValueError, match="unknown provider"):
        sandbox.base_url("pagerduty")
    with pytest.raises(ValueError, match="no webhook URL"):
        sandbox.webhook_url("twilio")


async def test_unknown_provider_is_a_404_listing_the_real_ones(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sandbox.url}/pagerduty/v2/enqueue", json={})
    assert response.status_code == 404
    assert "slack" in response.json()["providers"]
    assert sandbox.requests("pagerduty")[0].status == 404


async def test_every_request_is_recorded_with_its_answer(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        await client.post(twilio_messages(sandbox), data=SMS, auth=("AC-wrong", "nope"))
    first, second = sandbox.requests("twilio")
    assert (first.method, first.status, second.status) == ("POST", 201, 401)
    assert (
        first.path == "/twilio/2010-04-01/Accounts/" + CREDS.twilio_account_sid + "/Messages.json"
    )
    assert first.form()["Body"] == [SMS["Body"]]
    assert first.response_body["sid"].startswith("SM")
    assert second.response_body["code"] == 20003
    assert len(sandbox.posts("twilio")) == 1  # only what was accepted


# -- keep-alive and concurrency ------------------------------------------------------------


async def _one_connection(url: str, count: int) -> list[int]:
    """`count` requests one after another on ONE socket; the statuses, in order."""
    parsed = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    conn = h11.Connection(h11.CLIENT)
    body = "&".join(f"{k}={v}" for k, v in SMS.items()).replace("+", "%2B").encode()
    auth = httpx.BasicAuth(*TWILIO_AUTH)._auth_header
    statuses: list[int] = []
    try:
        for _ in range(count):
            request = h11.Request(
                method="POST",
                target=parsed.raw_path,
                headers=[
                    ("Host", f"{parsed.host}:{parsed.port}"),
                    ("Authorization", auth),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Content-Length", str(len(body))),
                ],
            )
            writer.write(conn.send(request) + conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    assert data, "the server closed a keep-alive connection"
                    conn.receive_data(data)
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
                elif isinstance(event, h11.EndOfMessage):
                    break
            conn.start_next_cycle()
    finally:
        writer.close()
        await writer.wait_closed()
    return statuses


async def test_fifty_keep_alive_clients_of_twenty_requests_each(sandbox: Sandbox) -> None:
    url = twilio_messages(sandbox)
    results = await asyncio.gather(*(_one_connection(url, 20) for _ in range(50)))
    assert all(statuses == [201] * 20 for statuses in results)
    sids = {post["sid"] for post in sandbox.posts("twilio")}
    assert len(sids) == 1000


async def test_a_malformed_request_gets_a_400_not_a_hang(sandbox: Sandbox) -> None:
    parsed = httpx.URL(sandbox.url)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    writer.write(b"THIS IS NOT HTTP\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400")


# -- knobs ---------------------------------------------------------------------------------


async def test_latency_delays_every_answer(sandbox: Sandbox) -> None:
    sandbox.set_latency(0.3)
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        response = await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed >= 0.3  # a lower bound only: a sleep never ends early


async def test_rate_limit_answers_in_the_providers_own_429(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit("twilio", 2, period=60)
    sandbox.set_rate_limit("slack", 1, period=60)
    message = {"channel": "C0123456789", "text": "Investigating"}
    async with httpx.AsyncClient() as client:
        sms = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
        slack_url = f"{sandbox.base_url('slack')}/chat.postMessage"
        slack = [await client.post(slack_url, json=message, headers=SLACK_AUTH) for _ in range(2)]
    assert [r.status_code for r in sms] == [201, 201, 429]
    assert sms[2].json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert "retry-after" not in sms[2].headers  # Twilio documents none for Messages
    assert slack[1].status_code == 429
    assert slack[1].json() == {"ok": False, "error": "ratelimited"}
    assert 55 <= int(slack[1].headers["retry-after"]) <= 60  # whole seconds to the next token
    assert len(sandbox.posts("twilio")) == 2  # a 429 was never processed


async def test_injected_failures_hit_the_next_requests_then_stop(sandbox: Sandbox) -> None:
    sandbox.fail("twilio", 503, times=2)
    sandbox.fail("slack", 429, retry_after=7)
    async with httpx.AsyncClient() as client:
        sms = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
        slack = await client.post(f"{sandbox.base_url('slack')}/auth.test", headers=SLACK_AUTH)
    assert [r.status_code for r in sms] == [503, 503, 201]
    assert sms[0].json()["code"] == 20503
    assert slack.status_code == 429
    assert slack.headers["retry-after"] == "7"
    assert [r.status for r in sandbox.requests("twilio")] == [503, 503, 201]


async def test_reset_forgets_everything_received_and_every_knob(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit("twilio", 1, period=60)
    sandbox.fail("twilio", 500, times=5)
    async with httpx.AsyncClient() as client:
        await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        sandbox.reset()
        assert sandbox.requests() == []
        responses = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
    assert [r.status_code for r in responses] == [201, 201, 201]


def test_a_background_sandbox_serves_plain_synchronous_callers() -> None:
    with Sandbox() as sb, httpx.Client() as client:
        sb.fail("twilio", 500)
        first = client.post(twilio_messages(sb), data=SMS, auth=TWILIO_AUTH)
        second = client.post(twilio_messages(sb), data=SMS, auth=TWILIO_AUTH)
        posts = sb.posts("twilio")
        posts[0]["body"] = "changed by the caller"
        assert sb.posts("twilio")[0]["body"] == SMS["Body"]  # posts() hands out copies
    assert (first.status_code, second.status_code) == (500, 201)
    with pytest.raises(httpx.ConnectError):
        httpx.get(sb.url, timeout=2)


def test_missing_emulators_are_listed_not_fatal() -> None:
    sb = Sandbox()
    assert {"slack", "twilio", "webhook"} <= set(sb.emulators)
    assert not set(sb.missing) & set(sb.emulators)


def test_the_core_knows_no_provider() -> None:
    """notify/sandbox/core/ imports nothing of notify but itself and the dummy credentials, so a
    new emulator never means a change there."""
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("notify")
    allowed = ("notify.sandbox.core", "notify.sandbox.credentials")
    for module in sorted(m for m in graph.modules if m.startswith("notify.sandbox.core")):
        imported = graph.find_modules_directly_imported_by(module)
        outside = {m for m in imported if m.startswith("notify") and not m.startswith(allowed)}
        assert not outside, f"{module} imports {sorted(outside)}"
