"""The receiver of notify's generic signed webhooks: signature, timestamp window, body shape."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from notify.sandbox import Credentials, Sandbox
from notify.sandbox.webhook import sign

CREDS = Credentials()


def _signed(
    body: bytes, *, at: int | None = None, secret: str = CREDS.webhook_secret
) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "webhook-id": "msg_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(secret, "msg_1", stamp, body),
    }


WEBHOOK_BODY = json.dumps(
    {"incident": {"id": "db-1", "status": "investigating"}, "update": {"number": 1}}
).encode()


async def test_webhook_accepts_a_correctly_signed_body(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook", "statuspage"),
            content=WEBHOOK_BODY,
            headers={**_signed(WEBHOOK_BODY), "X-Team": "ops"},
        )
    assert response.status_code == 200
    assert response.json() == {"received": True}
    (post,) = sandbox.posts("webhook")
    assert post["name"] == "statuspage"
    assert post["body"]["incident"]["id"] == "db-1"
    assert post["headers"]["x-team"] == "ops"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "invalid signature"),
        ({"webhook-id": "msg_1", "webhook-timestamp": "1700000000"}, "invalid signature"),
        ("wrong-secret", "invalid signature"),
        ("stale", "stale timestamp"),
    ],
)
async def test_webhook_refuses_bad_signatures_and_stale_timestamps(
    sandbox: Sandbox, headers: Any, error: str
) -> None:
    if headers == "wrong-secret":
        headers = _signed(WEBHOOK_BODY, secret="not-the-secret")
    elif headers == "stale":
        headers = _signed(WEBHOOK_BODY, at=int(time.time()) - 301)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook"), content=WEBHOOK_BODY, headers=headers
        )
    assert response.status_code == 401
    assert response.json() == {"error": error}
    assert sandbox.posts("webhook") == []


async def test_webhook_needs_an_incident_and_an_update(sandbox: Sandbox) -> None:
    body = json.dumps({"incident": {"id": "db-1"}}).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook"), content=body, headers=_signed(body)
        )
        garbage = await client.post(
            sandbox.webhook_url("webhook"), content=b"{", headers=_signed(b"{")
        )
    assert response.status_code == 400
    assert "update" in response.json()["error"]
    assert garbage.status_code == 400
