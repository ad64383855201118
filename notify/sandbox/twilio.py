"""Twilio Programmable Messaging (REST API 2010-04-01), served under /twilio.

Enforces what the OpenAPI spec marks (To) and what the service adds (From or
MessagingServiceSid: 21603; Body or MediaUrl: 21602; a JSON body: 21604), with Twilio's
error JSON {code, message, more_info, status}. The Voice paths (the account's numbers, its
calls and their events) and the sandbox's control that places a call are in twilio_voice.py.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials
from notify.sandbox.twilio_lists import twilio_error as _error
from notify.sandbox.twilio_voice import CONTROL_PATH, DEFAULT_CALLER, VoiceLine

if TYPE_CHECKING:
    from notify.sandbox.twiml_player import CallTranscript

__all__ = ["TwilioEmulator", "segments"]

API = "/2010-04-01/Accounts/"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
ALPHANUMERIC_SENDER = re.compile(r"^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$")
MAX_BODY = 1600

# GSM 03.38: the basic table costs one septet, the extension table two (escape + char).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("^{}\\[~]|€\f")


def segments(body: str) -> tuple[int, str]:
    """(number of SMS segments, "GSM-7" or "UCS-2") for `body`, packed as carriers do."""
    if all(c in GSM_BASIC or c in GSM_EXTENSION for c in body):
        costs = [2 if c in GSM_EXTENSION else 1 for c in body]
        return _pack(costs, single=160, multi=153), "GSM-7"
    costs = [2 if ord(c) > 0xFFFF else 1 for c in body]  # non-BMP: a surrogate pair
    return _pack(costs, single=70, multi=67), "UCS-2"


def _pack(costs: list[int], *, single: int, multi: int) -> int:
    if sum(costs) <= single:
        return 1
    # An escape sequence or surrogate pair is never split across two segments.
    count, used = 1, 0
    for cost in costs:
        if used + cost > multi:
            count, used = count + 1, 0
        used += cost
    return count


class TwilioEmulator(Emulator):
    name = "twilio"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "sms": {
                "type": "sms",
                "base_url": cls.base_url(root),
                "account_sid": credentials.twilio_account_sid,
                "auth_token": credentials.twilio_auth_token,
                "from": "+15005550006",  # Twilio's own test number that always works
                "to": ["+14155550100"],
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self._by_sid: dict[str, dict[str, Any]] = {}
        self.voice = VoiceLine(state)

    def reset(self) -> None:
        super().reset()
        self._by_sid.clear()
        self.voice.reset()

    async def place_call(
        self, to: str, caller: str = DEFAULT_CALLER, press: str | None = None
    ) -> CallTranscript:
        """Call the account's number `to` as a phone would (see twilio_voice.py); raises
        twilio_voice.UnknownNumber when the account owns no such number."""
        return await self.voice.place_call(to, caller, press)

    def rate_limited(self, retry_after: float) -> Response:
        # Twilio documents no Retry-After for Messages: clients back off on their own.
        return _error(429, 20429, "Too Many Requests")

    def injected_failure(self, status: int) -> Response:
        messages = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
        return _error(status, 20000 + status, messages.get(status, f"HTTP {status}"))

    async def handle(self, req: Request) -> Response:
        if req.path == CONTROL_PATH:
            return await self.voice.control(req)
        if not req.path.startswith(API):
            return self._not_found(req)
        rest = req.path[len(API) :]
        sid, _, tail = rest.partition("/")
        if not tail and sid.endswith(".json"):
            sid, tail = sid[: -len(".json")], ".json"
        denied = self._authenticate(req, sid)
        if denied is not None:
            return denied
        if tail == ".json" and req.method == "GET":
            return Response(200, self._account())
        if tail == "Messages.json" and req.method == "POST":
            return self._create_message(req, sid)
        if tail.startswith("Messages/") and tail.endswith(".json") and req.method == "GET":
            message = self._by_sid.get(tail[len("Messages/") : -len(".json")])
            return Response(200, message) if message else self._not_found(req)
        if tail in (".json", "Messages.json"):
            return _error(405, 20004, "Method not allowed")
        return self.voice.handle(req, tail) or self._not_found(req)

    def _not_found(self, req: Request) -> Response:
        path = f"/2010-04-01{req.path.split('/2010-04-01', 1)[-1]}"
        return _error(404, 20404, f"The requested resource {path} was not found")

    def _authenticate(self, req: Request, path_sid: str) -> Response | None:
        creds = self.credentials
        user, password = "", ""
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(auth[6:].strip(), validate=True).decode()
            except (binascii.Error, UnicodeDecodeError):
                decoded = ""
            user, _, password = decoded.partition(":")
        if user == path_sid == creds.twilio_account_sid and password == creds.twilio_auth_token:
            return None
        denied = _error(401, 20003, "Authenticate")
        denied.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
        return denied

    def _date(self) -> str:
        # Twilio's RFC 2822 dates: "Thu, 30 Jul 2015 20:12:31 +0000".
        return format_datetime(datetime.fromtimestamp(int(self.state.clock()), UTC))

    def _uri(self, suffix: str) -> str:
        return f"{API}{self.credentials.twilio_account_sid}{suffix}"

    def _account(self) -> dict[str, Any]:
        now = self._date()
        sid = self.credentials.twilio_account_sid
        return {
            "sid": sid,
            "owner_account_sid": sid,
            "friendly_name": "notify sandbox",
            "status": "active",
            "type": "Full",
            "date_created": now,
            "date_updated": now,
            "uri": self._uri(".json"),
            "subresource_uris": {
                "calls": self._uri("/Calls.json"),
                "incoming_phone_numbers": self._uri("/IncomingPhoneNumbers.json"),
                "messages": self._uri("/Messages.json"),
            },
        }

    def _create_message(self, req: Request, account_sid: str) -> Response:
        if req.content_type != "application/x-www-form-urlencoded" and req.content_type:
            # Twilio reads only form fields: a JSON body has no To as far as it can tell.
            return _error(400, 21604, "A 'To' phone number is required.")
        fields = req.form()
        form = {k: v[-1] for k, v in fields.items()}
        media = fields.get("MediaUrl", [])
        problem = self._validate(form, media)
        if problem is not None:
            return problem
        body = form.get("Body", "")
        count, encoding = segments(body)
        service = form.get("MessagingServiceSid") or None
        sid = self.state.new_id("SM")
        now = self._date()
        resource: dict[str, Any] = {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form.get("From") or None,
            "messaging_service_sid": service,
            "num_media": str(len(media)),
            # Under a Messaging Service the sender is picked later, so segments start at "0".
            "num_segments": "0" if service else str(count),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "accepted" if service else "queued",
            "subresource_uris": {"media": self._uri(f"/Messages/{sid}/Media.json")},
            "to": form["To"],
            "uri": self._uri(f"/Messages/{sid}.json"),
        }
        self._by_sid[sid] = resource
        stored = dict(resource, segments=count, encoding=encoding, media_urls=media)
        stored["status_callback"] = form.get("StatusCallback")
        self._posts.append(stored)
        return Response(201, resource)

    def _validate(self, form: dict[str, str], media: list[str]) -> Response | None:
        to, sender = form.get("To", ""), form.get("From", "")
        service = form.get("MessagingServiceSid", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if service and (
            not SERVICE_SID.match(service)
            or service != self.credentials.twilio_messaging_service_sid
        ):
            return _error(400, 21701, f"The Messaging Service Sid {service} is invalid.")
        if sender and not (E164.match(sender) or ALPHANUMERIC_SENDER.match(sender)):
            return _error(
                400,
                21212,
                f"The 'From' number {sender} is not a valid phone number, shortcode, "
                "or alphanumeric sender ID.",
            )
        if not form.get("Body") and not media:
            return _error(400, 21602, "Message body is required.")
        if len(form.get("Body", "")) > MAX_BODY:
            return _error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if not E164.match(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        callback = form.get("StatusCallback")
        if callback is not None:
            parts = urlsplit(callback)
            if parts.scheme not in ("http", "https") or not parts.netloc or "_" in parts.netloc:
                return _error(400, 21609, f"The StatusCallback URL {callback} is not valid.")
        return None
