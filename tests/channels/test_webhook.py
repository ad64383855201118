"""The webhook channel: a signed JSON POST carrying the incident and the update."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from notify.channels.base import (
    ChannelNotVerified,
    DeliveryContext,
    Message,
    Recipient,
    ThreadRef,
)
from notify.channels.testing import delivery_context, mock_client
from notify.channels.webhook import WebhookChannel, verify_signature

SECRET = "whsec-test-0123456789abcdef"
URL = "https://hooks.example.test/notify/in?auth=path-token-123"

Handler = Callable[[httpx.Request], httpx.Response]


def make_ctx(
    client: httpx.AsyncClient, number: int = 1, status: str = "investigating"
) -> DeliveryContext:
    earlier = [
        {"number": n, "status": s, "message": f"update {n}", "at": f"2026-11-22T14:0{n}:00Z"}
        for n, s in enumerate(["investigating", "identified", "resolved"][: number - 1], start=1)
    ]
    return delivery_context(
        client,
        incident={
            "id": "2026-11-22-payments-api",
            "title": "Payments API errors",
            "status": status,
            "impact": "major",
            "components": ["Payments API", "Checkout"],
            "started_at": "2026-11-22T14:00:00Z",
            "updates": earlier,
        },
        update={
            "number": number,
            "status": status,
            "message": f"update {number}",
            "at": f"2026-11-22T14:0{number}:00Z",
            "next_update_at": "2026-11-22T15:00:00Z" if status != "resolved" else None,
            "key": f"key-{number}",
        },
        org={"name": "Acme Cloud", "status_url": "https://status.acme.example"},
        delivery_key=f"dk-{number}",
    )


def channel(**settings: Any) -> WebhookChannel:
    return WebhookChannel("audit-hook", {"url": URL, "secret": SECRET, **settings})


def message(status: str = "investigating", text: str = "We are looking into errors.") -> Message:
    return Message(
        text=text,
        subject="[Acme Cloud] Payments API errors",
        status=status,
        link="https://status.acme.example/incidents/1",
    )


async def post(ch: WebhookChannel, handler: Handler, **ctx_args: Any) -> Any:
    async with mock_client(handler) as client:
        msg = message(ctx_args.get("status", "investigating"))
        return await ch.send(msg, Recipient(ch.target()), ThreadRef(), make_ctx(client, **ctx_args))


async def test_the_receiver_gets_a_signed_statuspage_like_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "evt_42"})

    ch = channel(headers={"Authorization": "Bearer receiver-key"})
    receipt = await post(ch, handler)

    assert receipt.ok and receipt.provider_message_id == "evt_42"
    (request,) = seen
    assert request.method == "POST" and str(request.url) == URL
    assert request.headers["content-type"].startswith("application/json")
    assert request.headers["authorization"] == "Bearer receiver-key"
    assert request.headers["webhook-id"] == "dk-1"
    raw = request.content
    assert verify_signature(SECRET, request.headers, raw)
    # Receivers written before Standard Webhooks keep working (deprecated headers).
    assert request.headers["x-notify-delivery"] == "dk-1"
    assert request.headers["x-notify-timestamp"] == request.headers["webhook-timestamp"]
    body = json.loads(raw)
    assert body["meta"]["delivery_key"] == "dk-1"
    assert body["page"] == {"name": "Acme Cloud", "url": "https://status.acme.example"}
    incident = body["incident"]
    assert incident["id"] == "2026-11-22-payments-api"
    assert incident["name"] == "Payments API errors"
    assert incident["impact"] == "major"
    assert incident["shortlink"] == "https://status.acme.example/incidents/1"
    assert incident["components"] == [{"name": "Payments API"}, {"name": "Checkout"}]
    update = body["update"]
    assert update["number"] == 1 and update["status"] == "investigating"
    assert update["body"] == "We are looking into errors."
    assert update["subject"] == "[Acme Cloud] Payments API errors"
    assert update["next_update_at"] == "2026-11-22T15:00:00Z"


async def test_later_updates_carry_the_incident_history_newest_first() -> None:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(204)

    ch = channel()
    for number, status in enumerate(["investigating", "identified", "resolved"], start=1):
        receipt = await post(ch, handler, number=number, status=status)
        assert receipt.ok and receipt.provider_message_id is None
        assert receipt.thread_data == {}

    last = bodies[-1]
    assert last["incident"]["status"] == "resolved"
    assert [u["update_number"] for u in last["incident"]["incident_updates"]] == [3, 2, 1]
    assert [u["status"] for u in last["incident"]["incident_updates"]] == [
        "resolved",
        "identified",
        "investigating",
    ]
    assert last["update"]["next_update_at"] is None
    assert len({b["update"]["id"] for b in bodies}) == 3


async def test_no_secret_means_no_signature_headers() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="thanks")

    receipt = await post(WebhookChannel("plain", {"url": URL}), handler)
    assert receipt.ok
    assert "webhook-signature" not in seen[0].headers
    assert "x-notify-signature" not in seen[0].headers
    assert seen[0].headers["webhook-id"] == "dk-1"
    assert seen[0].headers["webhook-timestamp"].isdigit()


def test_verify_signature_refuses_tampering_wrong_secret_and_replays() -> None:
    from notify.channels.webhook import sign

    body = b'{"update":{"status":"resolved"}}'
    now = time.time()
    ts = str(int(now))
    good = sign(SECRET, "msg_1", ts, body)

    def headers(signature: str, *, at: str = ts, webhook_id: str = "msg_1") -> dict[str, str]:
        return {"webhook-id": webhook_id, "webhook-timestamp": at, "webhook-signature": signature}

    assert verify_signature(SECRET, headers(good), body, now=now)
    assert verify_signature(SECRET, headers(f"v1,ZGVhZGJlZWY= {good}"), body, now=now)  # rotation
    assert not verify_signature(SECRET, headers(good), body + b" ", now=now)
    assert not verify_signature(SECRET, headers(good, webhook_id="msg_2"), body, now=now)
    assert not verify_signature("another-secret", headers(good), body, now=now)
    assert not verify_signature(SECRET, headers(good), body, now=now + 301)
    assert not verify_signature(SECRET, headers(good, at="yesterday"), body, now=now)
    assert not verify_signature(SECRET, headers(""), body, now=now)


def test_a_whsec_secret_is_its_base64_key_and_must_be_base64() -> None:
    import base64
    import hashlib
    import hmac

    from notify.channels.webhook import sign

    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    mac = hmac.new(key, b"msg_1.1700000000.{}", hashlib.sha256).digest()
    assert sign(secret, "msg_1", "1700000000", b"{}") == "v1," + base64.b64encode(mac).decode()
    problems = channel(secret="whsec_not base64!").validate()
    assert problems and problems[0][0] == "secret"


@pytest.mark.parametrize(
    ("status", "headers", "retryable", "retry_after"),
    [
        (429, {"Retry-After": "12"}, True, 12.0),
        (503, {}, True, None),
        (500, {"Retry-After": "3"}, True, 3.0),
        (400, {}, False, None),
        (404, {}, False, None),
        (301, {"Location": "https://elsewhere.example/"}, False, None),
    ],
)
async def test_answers_map_to_receipts(
    status: int, headers: dict[str, str], retryable: bool, retry_after: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, text="nope")

    receipt = await post(channel(), handler)
    assert not receipt.ok
    assert receipt.status_code == status
    assert receipt.retryable is retryable
    assert receipt.retry_after == retry_after
    assert receipt.error and "audit-hook" in receipt.error
    assert SECRET not in receipt.error and "path-token-123" not in receipt.error


async def test_a_refused_signature_says_what_to_check_without_the_secret() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": f"bad signature for secret {SECRET}"})

    receipt = await post(channel(), handler)
    assert not receipt.ok and not receipt.retryable
    assert receipt.error is not None
    assert "check secret and headers" in receipt.error
    assert SECRET not in receipt.error


async def test_network_errors_propagate_for_the_dispatcher_to_retry() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot connect to {request.url}")

    with pytest.raises(httpx.ConnectError):
        await post(channel(), handler)


def test_target_shows_the_endpoint_origin_only() -> None:
    assert channel().target() == "https://hooks.example.test"


def test_headers_cannot_override_the_signature() -> None:
    for name in ("webhook-signature", "Webhook-Id", "X-Notify-Signature"):
        problems = channel(headers={name: "v1,forged"}).validate()
        assert problems and problems[0][0] == "headers"


async def test_check_online_reaches_the_endpoint_but_does_not_claim_it_verified() -> None:
    seen: list[str] = []

    def endpoint(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(405)

    async with mock_client(endpoint) as client:
        with pytest.raises(ChannelNotVerified, match=r"answers \(HEAD: 405\)"):
            await channel().check_online(make_ctx(client))
    assert seen == ["HEAD"]  # nothing posted


# --- against the sandbox, over real sockets ---------------------------------------------------


async def test_sandbox_receiver_verifies_every_update_of_a_lifecycle() -> None:
    from notify.sandbox import Credentials, Sandbox

    creds = Credentials()
    with Sandbox() as sb:
        url = sb.webhook_url("webhook", "audit")
        signed = WebhookChannel("audit-hook", {"url": url, "secret": creds.webhook_secret})
        forged = WebhookChannel("audit-hook", {"url": url, "secret": "not-the-shared-secret"})
        receipts = []
        async with httpx.AsyncClient() as client:
            for number, status in enumerate(["investigating", "identified", "resolved"], start=1):
                ctx = make_ctx(client, number=number, status=status)
                receipts.append(
                    await signed.send(message(status), Recipient(url), ThreadRef(), ctx)
                )
            refused = await forged.send(message(), Recipient(url), ThreadRef(), make_ctx(client))
            sb.fail("webhook", 503)
            failing = await signed.send(message(), Recipient(url), ThreadRef(), make_ctx(client))
        posts = sb.posts("webhook")

    assert all(r.ok for r in receipts)
    assert [p["name"] for p in posts] == ["audit"] * 3
    assert [p["body"]["update"]["status"] for p in posts] == [
        "investigating",
        "identified",
        "resolved",
    ]
    assert [p["headers"]["x-notify-delivery"] for p in posts] == ["dk-1", "dk-2", "dk-3"]
    assert len(posts[2]["body"]["incident"]["incident_updates"]) == 3
    assert not refused.ok and not refused.retryable and refused.status_code == 401
    assert refused.error and "not-the-shared-secret" not in refused.error
    assert failing.retryable and failing.status_code == 503
