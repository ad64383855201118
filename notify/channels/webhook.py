"""A signed JSON POST to any endpoint, with Statuspage-like field names.

The body carries the incident and the update. Every request carries the Standard Webhooks
(standardwebhooks.com) headers `webhook-id` (the delivery's key: the same for every retry of one
delivery, so receivers dedupe on it) and `webhook-timestamp` (Unix seconds); with a `secret`
also `webhook-signature: v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`, so the
spec's libraries verify it in any language. The key is the base64-decoded part of a `whsec_…`
secret, else the secret's UTF-8 bytes. The older `X-Notify-Signature` / `X-Notify-Timestamp` /
`X-Notify-Delivery` headers are still sent for receivers written before (deprecated).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from notify import __version__
from notify.channels.base import (
    ChannelNotVerified,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import Answer, HttpChannel, Request, failed, failed_answer, label

ID_HEADER = "webhook-id"
TIMESTAMP_HEADER = "webhook-timestamp"
SIGNATURE_HEADER = "webhook-signature"
SECRET_PREFIX = "whsec_"
# Deprecated: the signature notify sent before Standard Webhooks, for receivers written for it.
LEGACY_SIGNATURE_HEADER = "X-Notify-Signature"
LEGACY_TIMESTAMP_HEADER = "X-Notify-Timestamp"
LEGACY_DELIVERY_HEADER = "X-Notify-Delivery"
_OWN_HEADERS = frozenset(
    h.lower()
    for h in (
        ID_HEADER,
        TIMESTAMP_HEADER,
        SIGNATURE_HEADER,
        LEGACY_SIGNATURE_HEADER,
        LEGACY_TIMESTAMP_HEADER,
        LEGACY_DELIVERY_HEADER,
    )
)


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: the base64-decoded part of `whsec_…`, else its UTF-8 bytes.
    ValueError when a `whsec_` secret is not base64."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("the part after whsec_ is not base64") from None
        if not key:
            raise ValueError("the part after whsec_ is empty")
        return key
    return secret.encode()


def sign(secret: str, webhook_id: str, timestamp: str, body: bytes) -> str:
    """The Standard Webhooks signature of one request: "v1,<base64>"."""
    message = f"{webhook_id}.{timestamp}.".encode() + body
    mac = hmac.new(signing_key(secret), message, hashlib.sha256).digest()
    return f"v1,{base64.b64encode(mac).decode()}"


def legacy_sign(secret: str, timestamp: str, body: bytes) -> str:
    """The deprecated X-Notify-Signature value: "v1=<hex>" over "<timestamp>.<body>"."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    tolerance: int = 300,
    now: float | None = None,
) -> bool:
    """True when `headers` (webhook-id, webhook-timestamp, webhook-signature) sign `body` under
    `secret` and the timestamp is within `tolerance` seconds of `now`: what the Standard
    Webhooks libraries check. `body` must be the raw bytes received. The signature header may
    list several space-separated signatures (a sender rotating secrets); one match is enough."""
    lower = {str(k).lower(): str(v) for k, v in headers.items()}
    webhook_id = lower.get(ID_HEADER, "")
    try:
        sent_at = int(lower.get(TIMESTAMP_HEADER, "").strip())
    except ValueError:
        return False
    current = time.time() if now is None else now
    if not webhook_id or abs(current - sent_at) > tolerance:
        return False
    try:
        expected = sign(secret, webhook_id, str(sent_at), body).encode()
    except ValueError:
        return False
    offered = lower.get(SIGNATURE_HEADER, "").split()
    # compare_digest on every candidate: timing says nothing about which one came close
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in offered]
    return any(matches)


def _iso(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return str(value)


def _update_entry(incident_id: str, update: Mapping[str, Any], body: str | None) -> dict[str, Any]:
    number = update.get("number")
    return {
        "id": f"{incident_id}-{number}",
        "status": update.get("status"),
        "body": body if body is not None else update.get("message"),
        "created_at": _iso(update.get("at") or update.get("created_at")),
        "update_number": number,
    }


def build_body(message: Message, ctx: DeliveryContext) -> dict[str, Any]:
    """The JSON document one delivery posts (Statuspage-like names, so receivers built for
    Statuspage webhooks need little change)."""
    incident, update, org = ctx.incident, ctx.update, ctx.org
    incident_id = str(incident.get("id") or "")
    current = _update_entry(incident_id, update, message.text)
    entries = {
        e.get("number"): _update_entry(incident_id, e, None)
        for e in incident.get("updates") or ()
        if isinstance(e, Mapping)
    }
    entries[update.get("number")] = current
    history = sorted(entries.values(), key=lambda e: e["update_number"] or 0, reverse=True)
    status_url = org.get("status_url")
    return {
        "meta": {
            "generated_at": _iso(datetime.now(UTC)),
            "notify_version": __version__,
            "delivery_key": ctx.delivery_key,
        },
        "page": {"name": org.get("name"), "url": status_url},
        "incident": {
            "id": incident_id,
            "name": incident.get("title"),
            "status": message.status or incident.get("status"),
            "impact": incident.get("impact"),
            "created_at": _iso(incident.get("started_at")),
            "updated_at": current["created_at"],
            "shortlink": message.link or status_url,
            "components": [{"name": str(c)} for c in incident.get("components") or ()],
            "incident_updates": history,  # newest first, as Statuspage orders them
        },
        "update": {
            "id": current["id"],
            "number": update.get("number"),
            "status": message.status or update.get("status"),
            "body": message.text,
            "subject": message.subject,
            "created_at": current["created_at"],
            "next_update_at": _iso(update.get("next_update_at")),
        },
    }


class WebhookChannel(HttpChannel):
    spec = ChannelSpec(
        type="webhook",
        fields=(
            Field("url", "url", required=True, help="the endpoint that receives the JSON POST"),
            Field(
                "secret",
                secret=True,
                help="signs each request as Standard Webhooks says (webhook-signature), "
                "e.g. ${HOOK_SECRET} holding whsec_<base64 key>",
            ),
            Field(
                "headers",
                "dict",
                secret=True,  # their values: Authorization and API keys (the names print)
                default=None,
                help="extra request headers, like Authorization",
            ),
        ),
        part="body",
        format="webhook",
        threading="none: each update is one POST carrying the incident's update history",
        summary="a signed JSON POST to any endpoint",
    )

    def target(self) -> str:
        # The endpoint's origin only: paths and queries of webhook URLs often hold tokens.
        parts = urlsplit(self.settings.url or "")
        host = parts.netloc.rpartition("@")[2]  # never the user part: it may hold a password
        return f"{parts.scheme}://{host}" if host else self.name

    def validate(self) -> list[tuple[str, str]]:
        headers = self.settings.headers or {}
        clash = sorted(k for k in headers if str(k).lower() in _OWN_HEADERS)
        if clash:
            return [("headers", f"{clash[0]} is set by notify itself: remove it from headers")]
        if self.settings.secret:
            try:
                signing_key(self.settings.secret)
            except ValueError as exc:
                return [("secret", f"{exc}: use whsec_ followed by the base64 of the key")]
        return []

    def measure(self, message: Message) -> Length | None:
        return None

    def request_headers(self, body: bytes, ctx: DeliveryContext) -> dict[str, str]:
        headers = {str(k): str(v) for k, v in (self.settings.headers or {}).items()}
        timestamp = str(int(time.time()))  # each attempt's own: a retry is not a replay
        headers.update(
            {
                "Content-Type": "application/json; charset=utf-8",
                "User-Agent": f"notify/{__version__}",
                ID_HEADER: ctx.delivery_key,  # the same for every retry of this delivery
                TIMESTAMP_HEADER: timestamp,
                LEGACY_DELIVERY_HEADER: ctx.delivery_key,
            }
        )
        secret = self.settings.secret
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, ctx.delivery_key, timestamp, body)
            headers[LEGACY_TIMESTAMP_HEADER] = timestamp
            headers[LEGACY_SIGNATURE_HEADER] = legacy_sign(secret, timestamp, body)
        return headers

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        raw = json.dumps(build_body(message, ctx), ensure_ascii=False, separators=(",", ":"))
        body = raw.encode()  # the exact bytes signed are the bytes sent
        return Request(
            "POST", self.settings.url, content=body, headers=self.request_headers(body, ctx)
        )

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        status = answer.status
        if answer.ok:
            answer_id = answer.fields.get("id")
            return Receipt(
                ok=True,
                provider_message_id=str(answer_id) if answer_id not in (None, "") else None,
                status_code=status,
            )
        who, said = label(self), answer.snippet()
        if status in (401, 403):
            error = (
                f"{who}: the endpoint refused the request ({status}: {said}): "
                "check secret and headers against what the receiver expects"
            )
            return failed(error, status_code=status)
        if 300 <= status < 400:
            return failed(
                f"{who}: the endpoint redirected ({status}): set url to the final address "
                "(redirects are not followed, so the signed body is never re-sent elsewhere)",
                status_code=status,
            )
        return failed_answer(answer, f"{who}: the endpoint answered {status}: {said}")

    async def check_online(self, ctx: DeliveryContext) -> str:
        # Only a delivery proves a receiver accepts notify's signed posts, and a check sends
        # nothing. HEAD (safe by HTTP's rules) at least shows the address resolves and answers;
        # a connection error fails the check.
        answer = await self.call(ctx, Request("HEAD", self.settings.url))
        raise ChannelNotVerified(
            f"{self.target()} answers (HEAD: {answer.status}), but only a delivery proves it "
            f"accepts signed posts: `notify send ... --to {self.name}` to a test receiver"
        )
