"""A receiver of notify's generic signed webhooks, served under /webhook/{name}.

It verifies exactly what the README tells receivers to verify:
X-Notify-Timestamp (unix seconds) and X-Notify-Signature: v1=<hex HMAC-SHA256 of
"{timestamp}.{raw body}" under the shared secret>, within five minutes of now.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response
from notify.sandbox.credentials import Credentials

__all__ = ["TOLERANCE_SECONDS", "WebhookEmulator", "sign"]

TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The X-Notify-Signature value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


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
        timestamp = req.headers.get("x-notify-timestamp", "").strip()
        if not timestamp.isdigit() or not self._signature_ok(req, timestamp):
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
            {"name": name, "timestamp": int(timestamp), "headers": dict(req.headers), "body": body}
        )
        return Response(200, {"received": True})

    def _signature_ok(self, req: Request, timestamp: str) -> bool:
        expected = sign(self.credentials.webhook_secret, timestamp, req.body)
        # Several signatures may be sent (comma-separated) while a secret is being rotated.
        offered = [s.strip() for s in req.headers.get("x-notify-signature", "").split(",")]
        return any(hmac.compare_digest(expected, s) for s in offered if s)


def _shape_problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    for key in ("incident", "update"):
        if not isinstance(body.get(key), dict):
            return f"body must carry an {key!r} object"
    return None
