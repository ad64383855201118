"""SMS through Twilio's Messages API: one message per recipient, no threading (SMS cannot).

Twilio answers errors as JSON {code, message, more_info, status}; the code, not the HTTP status,
says what to fix, so each known code gets its own hint. Messages has no idempotency key and no
Retry-After: a 429 / 20429 was never processed, so the dispatcher may safely retry it with backoff.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from notify.channels.base import (
    ChannelCheckError,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import (
    Answer,
    HttpChannel,
    Request,
    failed,
    failed_answer,
    label,
    one_line,
)

_ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
_SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
_API = "2010-04-01"
_E164_HINT = "write it in E.164 like +14155550100 (or set default_region for national numbers)"

# Twilio error code -> what the user should check. Codes: twilio.com/docs/api/errors.
_HINTS: dict[int, str] = {
    20003: "check account_sid and auth_token",
    20404: "check account_sid and the messaging_service_sid / from number belong to this account",
    21211: f"check the recipient's number: {_E164_HINT}",
    21408: "enable SMS to this country in the Twilio console (Messaging > Geo permissions)",
    21602: "the rendered message is empty: check the template's short or sms block",
    21603: "set from or messaging_service_sid",
    21604: "the recipient is missing: check to",
    21606: "the from number cannot send SMS: use an SMS-capable number of this account",
    21610: (
        "the recipient replied STOP to this sender and will get nothing until they reply START; "
        "add them to `notify suppress` to stop trying"
    ),
    21612: "Twilio cannot route from this sender to that number: check from and the country",
    21614: "the recipient's number is not a mobile number",
    21617: "the message is over 1600 characters: shorten the short block or lower max_segments",
    21659: "from is not a Twilio number of this account: check from",
}


# The Twilio account, the same for every type that talks to it (SMS, the support line).
TWILIO_ACCOUNT_FIELDS = (
    Field(
        "account_sid",
        required=True,
        help="the Twilio Account SID (AC + 32 hex), from the console's dashboard",
    ),
    Field(
        "auth_token",
        required=True,
        secret=True,
        help="the Twilio auth token, e.g. ${TWILIO_AUTH_TOKEN}",
    ),
)


def account_sid_problem(sid: str) -> tuple[str, str] | None:
    """The `account_sid` problem of a value that is no Twilio Account SID, else None."""
    if _ACCOUNT_SID.match(sid):
        return None
    return (
        "account_sid",
        "is not a Twilio Account SID: copy it from the console (AC followed by 32 hex digits)",
    )


class SmsChannel(HttpChannel):
    spec = ChannelSpec(
        type="sms",
        fields=(
            Field("provider", default="twilio", choices=("twilio",), help="the SMS provider"),
            *TWILIO_ACCOUNT_FIELDS,
            Field("from", help="the sending number in E.164 (+15005550006) or a sender ID"),
            Field(
                "messaging_service_sid",
                help="a Messaging Service SID (MG + 32 hex), instead of from",
            ),
            Field(
                "to",
                "str_or_list",
                required=True,
                help="phone numbers in E.164, or an audience file with a phone column",
            ),
            Field("max_segments", "int", default=4, help="longest message allowed, in segments"),
            Field("default_region", help="region for national-format numbers, like US or GB"),
            Field(
                "skip_invalid",
                "bool",
                default=False,
                help="leave an audience file's invalid rows out (reported) instead of refusing",
            ),
            Field("status_callback", "url", help="URL Twilio calls with delivery status"),
        ),
        part="short",
        format="plain",
        per_recipient=True,
        default_base_url="https://api.twilio.com",
        threading="none: SMS cannot thread",
        summary="text messages through Twilio, one per recipient",
    )

    @property
    def _sid(self) -> str:
        return self.settings.account_sid or ""

    def _auth(self) -> tuple[str, str]:
        return (self._sid, self.settings.auth_token or "")

    def validate(self) -> list[tuple[str, str]]:
        problem = account_sid_problem(self._sid)
        problems: list[tuple[str, str]] = [problem] if problem else []
        service = self.settings.messaging_service_sid
        if bool(self.settings.from_) == bool(service):
            problems.append(
                ("from", "set exactly one of from (a number) and messaging_service_sid")
            )
        if service and not _SERVICE_SID.match(service):
            problems.append(
                (
                    "messaging_service_sid",
                    "is not a Messaging Service SID: copy it from the console "
                    "(MG followed by 32 hex digits)",
                )
            )
        if not 1 <= self.settings.max_segments <= 10:
            problems.append(
                ("max_segments", "must be between 1 and 10 (Twilio's limit is 1600 characters)")
            )
        region = self.settings.default_region
        if region:
            import phonenumbers

            if region.upper() not in phonenumbers.SUPPORTED_REGIONS:
                problems.append(
                    ("default_region", f"{region!r} is not a region code: use one like US or GB")
                )
        return problems

    @functools.cached_property
    def _region(self) -> str | None:  # asked once per recipient: read once
        region = self.settings.default_region
        return region.upper() if region else None

    def recipients(self) -> list[Recipient]:
        to = self.settings.to
        # Not list(): an audience file (notify.audience.Audience) is read row by row.
        entries: Iterable[Any] = [to] if isinstance(to, str | Mapping) else (to or [])
        seen: set[str] = set()
        found: list[Recipient] = []
        region = self._region
        for entry in entries:
            # Audience files give rows with a phone column; the whole row reaches templates.
            fields = dict(entry) if isinstance(entry, Mapping) else {}
            raw = str(fields.get("phone", "") if fields else entry).strip()
            address = _e164(raw, region) or raw  # E.164 when it parses (validate_recipient says)
            if address in seen:  # "+1 415 555 0100" and "+14155550100" are one person
                continue
            seen.add(address)
            found.append(Recipient(address=address, fields=fields))
        return found

    def validate_recipient(self, recipient: Recipient) -> str | None:
        if _e164(recipient.address, self._region) is None:
            return f"{recipient.address!r} is not a valid phone number: {_E164_HINT}"
        return None

    def measure(self, message: Message) -> Length | None:
        from notify.render.length import sms_length

        return sms_length(message.text, max_segments=self.settings.max_segments)

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        form = {"To": recipient.address, "Body": message.text}
        if self.settings.messaging_service_sid:
            form["MessagingServiceSid"] = self.settings.messaging_service_sid
        else:
            form["From"] = self.settings.from_ or ""
        if self.settings.status_callback:
            form["StatusCallback"] = self.settings.status_callback
        url = f"{self.base_url}/{_API}/Accounts/{self._sid}/Messages.json"
        return Request("POST", url, data=form, auth=self._auth())

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        data = answer.fields
        if answer.ok and data.get("sid"):
            return Receipt(ok=True, provider_message_id=str(data["sid"]), status_code=answer.status)
        return self._failure(answer, data, recipient)

    def _failure(self, answer: Answer, data: dict[str, Any], recipient: Recipient) -> Receipt:
        status = answer.status
        code = data.get("code")
        words = str(data.get("message") or "").strip()
        if 200 <= status < 300:  # a 2xx without a sid: not Twilio, or a proxy in between
            return failed(
                f"{label(self)}: Twilio answered {status} without a message sid: "
                "check base_url points at the Twilio API",
                status_code=status,
            )
        if code is None:
            if status in (401, 403):
                return failed(
                    f"Twilio rejected the credentials of {label(self)} (HTTP {status}) — "
                    f"{_HINTS[20003]}",
                    status_code=status,
                )
            return failed_answer(answer, f"Twilio answered HTTP {status}: {answer.snippet()}")
        code_number = int(code) if str(code).isdigit() else -1
        retryable = status == 429 or code_number == 20429 or status >= 500
        hint = _HINTS.get(code_number)
        if code_number == 20003:
            hint = f"{hint} of {label(self)} (e.g. ${{TWILIO_AUTH_TOKEN}})"
        if code_number == 21211:
            hint = f"check {recipient.address}: {_E164_HINT}"
        if hint is None and (status == 429 or code_number == 20429):
            hint = "Twilio's rate limit: notify backs off and retries; lower rate_limit to avoid it"
        elif hint is None and retryable:
            hint = "Twilio failed; a later retry may succeed"
        elif hint is None:
            hint = f"see {data.get('more_info') or 'twilio.com/docs/api/errors'}"
        text = f"Twilio error {code}: {words or 'no message'} — {hint}"
        return failed_answer(answer, text, retryable=retryable)

    async def check_online(self, ctx: DeliveryContext) -> str:
        url = f"{self.base_url}/{_API}/Accounts/{self._sid}.json"
        answer = await self.call(ctx, Request("GET", url, auth=self._auth()))
        data = answer.fields
        if answer.status != 200:
            code = data.get("code", answer.status)
            said = one_line(data.get("message") or answer.text, 200)
            hint = _HINTS[20003] if answer.status in (401, 403, 404) else "try again later"
            raise ChannelCheckError(one_line(f"Twilio error {code}: {said} — {hint}"))
        name = data.get("friendly_name") or self._sid
        state = data.get("status") or "unknown"
        if state != "active":
            raise ChannelCheckError(
                one_line(
                    f"Twilio account {name} is {state}: reactivate it in the console before sending"
                )
            )
        return f"account {name} ({state})"


@functools.lru_cache(maxsize=262_144)
def _e164(number: str, region: str | None) -> str | None:
    """The number in E.164, or None when it is not a valid number. Cached: a 100,000-row audience
    is checked at load, again at preflight, and normalised once more, and parsing is slow."""
    from notify.phones import e164

    return e164(number, region)
