"""Twilio Voice (REST API 2010-04-01) for the Twilio emulator: the account's numbers, its calls.

Served by `TwilioEmulator` under /twilio/2010-04-01/Accounts/{AccountSid}/ (Basic auth):

    GET  IncomingPhoneNumbers.json        PhoneNumber (digits, * for any one), FriendlyName
    GET  IncomingPhoneNumbers/{Sid}.json
    POST IncomingPhoneNumbers/{Sid}.json  VoiceUrl, VoiceMethod, VoiceFallbackUrl, ... (form)
    GET  Calls.json                       To, From, Status, StartTime, StartTime< / > / <= / >=
    GET  Calls/{Sid}.json
    GET  Calls/{CallSid}/Events.json      each TwiML document fetched, request and response

Lists page as Twilio's do (PageSize 1..1000, default 50; Page and PageToken; next_page_uri null
on the last page); calls are listed newest first. The account owns one number, +15005550006.

A call is placed by the sandbox's own control, which needs no Twilio credentials (it stands
for a phone): `POST /twilio/_sandbox/calls` with JSON `{"to": "+15005550006", "from":
"+14155550123", "press": "1"}` ("from" and "press" optional) answers 200 with the transcript,
`{"call_sid", "to", "from", "lines": [{"kind", "text"}, ...]}`; 404 when no number of the
account is `to`, 400 for a bad body. `Sandbox.call()` and `notify sandbox call` use it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit

from notify.sandbox.core.emulator import Request, Response, SandboxState
from notify.sandbox.twilio_lists import keep_time, page, time_bounds, twilio_error
from notify.sandbox.twiml_player import CallTranscript, Leg, play_call

__all__ = ["CONTROL_PATH", "DEFAULT_CALLER", "SANDBOX_NUMBER", "UnknownNumber", "VoiceLine"]

SANDBOX_NUMBER = "+15005550006"
DEFAULT_CALLER = "+14155550123"
CONTROL_PATH = "/_sandbox/calls"
API = "/2010-04-01/Accounts/"
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_METHOD_FIELDS = (
    "VoiceMethod",
    "VoiceFallbackMethod",
    "SmsMethod",
    "SmsFallbackMethod",
    "StatusCallbackMethod",
)
_URL_FIELDS = ("VoiceUrl", "VoiceFallbackUrl", "SmsUrl", "SmsFallbackUrl", "StatusCallback")
_TIME_FILTERS = ("StartTime", "StartTime<", "StartTime>", "StartTime<=", "StartTime>=")
_CALL_SUBRESOURCES = (
    "events",
    "notifications",
    "recordings",
    "payments",
    "siprec",
    "streams",
    "transcriptions",
    "user_defined_message_subscriptions",
    "user_defined_messages",
)


class UnknownNumber(LookupError):
    """A call to a number this account does not own."""


def rfc2822(seconds: float) -> str:
    """Twilio's dates: "Thu, 30 Jul 2015 20:12:31 +0000"."""
    return format_datetime(datetime.fromtimestamp(int(seconds), UTC))


class VoiceLine:
    """The account's incoming phone numbers, and the calls they received with their events."""

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._seed_sid = state.new_id("PN")  # stable across resets, like a number you own
        self.numbers: dict[str, dict[str, Any]] = {}
        self.calls: dict[str, dict[str, Any]] = {}  # by sid, oldest first
        self.events: dict[str, list[dict[str, Any]]] = {}
        self._started: dict[str, float] = {}  # each call's start, for the StartTime filters
        self.reset()

    @property
    def account_sid(self) -> str:
        return self.state.credentials.twilio_account_sid

    def uri(self, suffix: str) -> str:
        return f"{API}{self.account_sid}{suffix}"

    def reset(self) -> None:
        self.numbers.clear()
        self.calls.clear()
        self.events.clear()
        self._started.clear()
        self.add_number(
            SANDBOX_NUMBER,
            sid=self._seed_sid,
            voice_url="https://demo.twilio.com/welcome/voice/",
            voice_method="POST",
        )

    def add_number(self, phone_number: str, *, sid: str | None = None, **fields: Any) -> str:
        """Own one more number (`fields`: friendly_name, voice_url...); its sid."""
        sid = sid or self.state.new_id("PN")
        now = rfc2822(self.state.clock())
        digits = phone_number[2:]
        nanp = phone_number.startswith("+1") and len(digits) == 10
        friendly = f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if nanp else phone_number
        self.numbers[sid] = {
            "account_sid": self.account_sid,
            "address_requirements": "none",
            "address_sid": None,
            "api_version": "2010-04-01",
            "beta": False,
            "bundle_sid": None,
            "capabilities": {"fax": False, "mms": True, "sms": True, "voice": True},
            "date_created": now,
            "date_updated": now,
            "emergency_address_sid": None,
            "emergency_address_status": "unregistered",
            "emergency_status": "Inactive",
            "friendly_name": friendly,
            "identity_sid": None,
            "origin": "twilio",
            "phone_number": phone_number,
            "sid": sid,
            "sms_application_sid": "",
            "sms_fallback_method": "POST",
            "sms_fallback_url": "",
            "sms_method": "POST",
            "sms_url": "",
            "status": "in-use",
            "status_callback": "",
            "status_callback_method": "POST",
            "subresource_uris": {
                "assigned_add_ons": self.uri(f"/IncomingPhoneNumbers/{sid}/AssignedAddOns.json")
            },
            "trunk_sid": None,
            "type": "local",
            "uri": self.uri(f"/IncomingPhoneNumbers/{sid}.json"),
            "voice_application_sid": "",
            "voice_caller_id_lookup": False,
            "voice_fallback_method": "POST",
            "voice_fallback_url": "",
            "voice_method": "POST",
            "voice_receive_mode": "voice",
            "voice_url": "",
        }
        self.numbers[sid].update(fields)
        return sid

    # -- the REST API -------------------------------------------------------------------------

    def handle(self, req: Request, tail: str) -> Response | None:
        """Answer `tail` (the path after the account sid); None: not a Voice path."""
        if tail == "IncomingPhoneNumbers.json":
            return self._list_numbers(req) if req.method == "GET" else _not_allowed()
        if tail == "Calls.json":
            return self._list_calls(req) if req.method == "GET" else _not_allowed()
        parts = tail.split("/")
        if len(parts) == 2 and parts[0] == "IncomingPhoneNumbers" and parts[1].endswith(".json"):
            number = self.numbers.get(parts[1][: -len(".json")])
            if number is None:
                return None
            if req.method == "GET":
                return Response(200, number)
            return self._update_number(req, number) if req.method == "POST" else _not_allowed()
        if len(parts) in (2, 3) and parts[0] == "Calls":
            call_sid = parts[1].removesuffix(".json") if len(parts) == 2 else parts[1]
            call = self.calls.get(call_sid)
            if call is None or (len(parts) == 3 and parts[2] != "Events.json"):
                return None
            if req.method != "GET":
                return _not_allowed()
            if len(parts) == 2:
                return Response(200, call)
            return page(req, self.events[call_sid], call["subresource_uris"]["events"], "events")
        return None

    def _list_numbers(self, req: Request) -> Response:
        query = {k: v[-1] for k, v in req.query.items()}
        numbers = list(self.numbers.values())
        if "PhoneNumber" in query:
            wanted = query["PhoneNumber"]  # digits, and * for any one digit
            pattern = re.compile("".join(r"\d" if c == "*" else re.escape(c) for c in wanted))
            numbers = [n for n in numbers if pattern.search(n["phone_number"])]
        if "FriendlyName" in query:
            numbers = [n for n in numbers if n["friendly_name"] == query["FriendlyName"]]
        return page(req, numbers, self.uri("/IncomingPhoneNumbers.json"), "incoming_phone_numbers")

    def _update_number(self, req: Request, number: dict[str, Any]) -> Response:
        if req.content_type not in ("", "application/x-www-form-urlencoded"):
            return twilio_error(400, 20001, "Request body must be form-encoded")
        form = {k: v[-1] for k, v in req.form().items()}
        for name in _METHOD_FIELDS:
            if name in form:
                form[name] = form[name].upper()
                if form[name] not in ("GET", "POST"):
                    return twilio_error(400, 21403, f"{name} is not valid")
        for name in _URL_FIELDS:
            value = form.get(name, "")
            parts = urlsplit(value)
            if value and (parts.scheme not in ("http", "https") or not parts.netloc):
                return twilio_error(400, 21402, f"{name} is not valid")
        for name, value in form.items():
            key = _snake(name)
            if key in number and key not in ("sid", "account_sid", "uri", "phone_number"):
                number[key] = value if key != "voice_caller_id_lookup" else value == "true"
        number["date_updated"] = rfc2822(self.state.clock())
        return Response(200, number)

    def _list_calls(self, req: Request) -> Response:
        query = {k: v[-1] for k, v in req.query.items()}
        calls = list(reversed(self.calls.values()))  # newest first
        for name in ("To", "From", "Status"):
            if name in query:
                calls = [c for c in calls if c[name.lower()] == query[name]]
        for name in _TIME_FILTERS:
            if name not in query:
                continue
            bounds = time_bounds(query[name])
            if bounds is None:
                return twilio_error(400, 20001, f"{name} must be YYYY-MM-DD or an ISO date-time")
            calls = [c for c in calls if keep_time(name, self._started[c["sid"]], bounds)]
        return page(req, calls, self.uri("/Calls.json"), "calls")

    # -- placing a call -----------------------------------------------------------------------

    async def place_call(
        self, to: str, caller: str = DEFAULT_CALLER, press: str | None = None
    ) -> CallTranscript:
        """Call `to` from `caller` as a phone would; `press`: the key pressed at a Gather."""
        number = next((n for n in self.numbers.values() if n["phone_number"] == to), None)
        if number is None:
            owned = ", ".join(n["phone_number"] for n in self.numbers.values())
            raise UnknownNumber(f"{to} is not a number of this account (it owns {owned})")
        sid = self.state.new_id("CA")
        started = self.state.clock()
        creds = self.state.credentials
        leg = Leg(sid, creds.twilio_account_sid, creds.twilio_auth_token, caller, to, press)
        fallback = (number["voice_fallback_url"], number["voice_fallback_method"])
        if not number["voice_url"]:
            transcript = CallTranscript(sid, to, caller)
            transcript.add("say", "This number has no voice URL.")  # what Twilio's default says
            transcript.add("hangup")
        else:
            transcript = await play_call(leg, number["voice_url"], number["voice_method"], fallback)
        self.events[sid] = leg.events
        self._started[sid] = started
        self.calls[sid] = self._call_resource(sid, number, caller, started, round(leg.seconds))
        return transcript

    def _call_resource(
        self, sid: str, number: dict[str, Any], caller: str, started: float, duration: int
    ) -> dict[str, Any]:
        friendly = number["friendly_name"] if number["friendly_name"].startswith("(") else None
        return {
            "account_sid": self.account_sid,
            "annotation": None,
            "answered_by": None,
            "api_version": "2010-04-01",
            "caller_name": None,
            "date_created": rfc2822(started),
            "date_updated": rfc2822(started + duration),
            "direction": "inbound",
            "duration": str(duration),
            "end_time": rfc2822(started + duration),
            "forwarded_from": None,
            "from": caller,
            "from_formatted": caller,
            "group_sid": None,
            "parent_call_sid": None,
            "phone_number_sid": number["sid"],
            "price": None,
            "price_unit": "USD",
            "queue_time": "0",
            "sid": sid,
            "start_time": rfc2822(started),
            "status": "completed",
            "subresource_uris": {
                name: self.uri(f"/Calls/{sid}/{_camel(name)}.json") for name in _CALL_SUBRESOURCES
            },
            "to": number["phone_number"],
            "to_formatted": friendly or number["phone_number"],
            "trunk_sid": None,
            "uri": self.uri(f"/Calls/{sid}.json"),
        }

    async def control(self, req: Request) -> Response:
        """`POST /_sandbox/calls`: place a call, answer its transcript."""
        if req.method != "POST":
            return Response(405, {"error": "POST a JSON body here"}, {"Allow": "POST"})
        try:
            body = req.json()
        except ValueError as exc:
            return Response(400, {"error": f"the body is not JSON: {exc}"})
        if not isinstance(body, dict):
            return Response(400, {"error": "the body must be a JSON object"})
        to, caller = body.get("to"), body.get("from") or DEFAULT_CALLER
        press = body.get("press")
        for name, value in (("to", to), ("from", caller)):
            if not isinstance(value, str) or not E164.match(value):
                return Response(400, {"error": f"{name!r} must be a number in E.164 (+1...)"})
        if press is not None and (
            not isinstance(press, str) or not re.fullmatch(r"[0-9*#]", press)
        ):
            return Response(400, {"error": "'press' must be one key: 0-9, * or #"})
        try:
            transcript = await self.place_call(str(to), str(caller), press)
        except UnknownNumber as exc:
            return Response(404, {"error": str(exc)})
        return Response(200, transcript.to_json())


def _not_allowed() -> Response:
    return twilio_error(405, 20004, "Method not allowed")


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _camel(name: str) -> str:
    return "".join(part.title() for part in name.split("_"))
