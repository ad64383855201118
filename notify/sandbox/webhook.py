"""A receiver of notify's generic signed webhooks, served under /webhook/{name}.

It verifies exactly what the README tells receivers to verify, the Standard Webhooks spec
(standardwebhooks.com): `webhook-id`, `webhook-timestamp` (Unix seconds, within five minutes of
now) and `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`
(several space-separated while a secret rotates), the key being the base64-decoded part of a
`whsec_` secret, else the secret's UTF-8 bytes. It records each webhook-id it accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response
from notify.sandbox.credentials import Credentials

__all__ = ["TOLERANCE_SECONDS", "WebhookEmulator", "sign"]

TOLERANCE_SECONDS = 300


def _key(secret: str) -> bytes:
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret[len("whsec_") :], validate=True)
        except (binascii.Error, ValueError):
            return b""
    return secret.encode()


def sign(secret: str, webhook_id: str, timestamp: int | str, body: bytes) -> str:
    """The webhook-signature value for `body` sent as `webhook_id` at `timestamp`."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(_key(secret), message, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


class WebhookEmulator(Emulator):
    name = "webhook"

    @classmethod
    def webhook_path(cls, credentials: Credentials, name: str) -> str:
        return f"/{name}"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "webhook": {
                "type": "webhook",
                "url": cls.webhook_url(root, credentials),
                "secret": credentials.webhook_secret,
            }
        }

    async def handle(self, req: Request) -> Response:
        name = req.path.strip("/")
        if not name:
            return Response(404, {"error": "POST to /webhook/<name>"})
        if req.method != "POST":
            return Response(405, {"error": "method not allowed"}, {"Allow": "POST"})
        webhook_id = req.headers.get("webhook-id", "").strip()
        timestamp = req.headers.get("webhook-timestamp", "").strip()
        if not webhook_id or not timestamp.isdigit():
            return Response(401, {"error": "invalid signature"})
        if not self._signature_ok(req, webhook_id, timestamp):
            return Response(401, {"error": "invalid signature"})
        if abs(self.state.clock() - int(timestamp)) > TOLERANCE_SECONDS:
            return Response(401, {"error": "stale timestamp"})
        try:
            body = json.loads(req.body)
        except ValueError:
            return Response(400, {"error": "body is not JSON"})
        problem = _shape_problem(body)
        if problem is not None:
            return Response(400, {"error": problem})
        self._posts.append(
            {
                "name": name,
                "id": webhook_id,
                "timestamp": int(timestamp),
                "headers": dict(req.headers),
                "body": body,
            }
        )
        return Response(200, {"received": True})

    def _signature_ok(self, req: Request, webhook_id: str, timestamp: str) -> bool:
        expected = sign(self.credentials.webhook_secret, webhook_id, timestamp, req.body)
        # Several signatures may be sent (space-separated) while a secret is being rotated.
        offered = req.headers.get("webhook-signature", "").split()
        return any(hmac.compare_digest(expected, s) for s in offered)


def _shape_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key in ("incident", "update"):
        if not isinstance(body.get(key), dict):
            return f"body must carry an {key!r} object"
    return None
