"""SendGrid v3 Mail Send: `POST /v3/mail/send` with a Bearer API key.

The body is checked against sendgrid/mail_v3.json plus the documented rules the schema cannot
express (at most 1,000 recipients per request, a subject somewhere, text/plain before
text/html, no reserved headers). Like SendGrid, every problem found is reported at once.
"""

from __future__ import annotations

import math
import secrets
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response
from notify.sandbox.credentials import Credentials

__all__ = ["SendgridEmulator"]

MAX_BODY_BYTES = 30 * 1024 * 1024
MAX_RECIPIENTS = 1000
HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html"
RESERVED_HEADERS = frozenset(
    h.lower()
    for h in (
        "x-sg-id",
        "x-sg-eid",
        "received",
        "dkim-signature",
        "Content-Type",
        "Content-Transfer-Encoding",
        "To",
        "From",
        "Subject",
        "Reply-To",
        "CC",
        "BCC",
    )
)
AUTH_ERROR = "The provided authorization grant is invalid, expired, or revoked"


def _errors(status: int, *errors: tuple[str | None, str]) -> Response:
    listed = [{"message": message, "field": field, "help": None} for field, message in errors]
    return Response(status, {"errors": listed})


def _valid_email(value: Any) -> bool:
    from email_validator import EmailNotValidError, validate_email

    if not isinstance(value, str) or not value:
        return False
    try:
        validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError:
        return False
    return True


class _Problems:
    """Every (field, message, help) found in one request, in SendGrid's error shape."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(self, field: str | None, message: str, anchor: str = "") -> None:
        help_url = f"{HELP}#{anchor}" if anchor else None
        self.items.append({"message": message, "field": field, "help": help_url})


class SendgridEmulator(Emulator):
    name = "sendgrid"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "sendgrid": {
                "type": "email",
                "provider": "sendgrid",
                "base_url": cls.base_url(root),
                "api_key": credentials.sendgrid_api_key,
                "from": f"Status <{credentials.smtp_username}>",
                "to": ["oncall@example.com"],
            }
        }

    async def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path == "/v3/scopes" and req.method == "GET":
            # What `notify check --online` asks: the key's scopes (the sandbox key has these).
            if not self._authorized(req):
                return _errors(401, (None, AUTH_ERROR))
            return Response(200, {"scopes": ["mail.send", "scopes.read"]})
        if path != "/v3/mail/send":
            return _errors(404, (None, "resource not found"))
        if req.method != "POST":
            return _errors(405, (None, "method not allowed"))
        if not self._authorized(req):
            return _errors(401, (None, AUTH_ERROR))
        if len(req.body) > MAX_BODY_BYTES:
            return _errors(413, (None, "content too large"))
        try:
            mail = req.json()
        except ValueError:
            return _errors(400, (None, "Bad Request"))
        if not isinstance(mail, dict):
            return _errors(400, (None, "Bad Request"))
        problems = _Problems()
        _check(mail, problems)
        if problems.items:
            return Response(400, {"errors": problems.items})
        message_id = secrets.token_urlsafe(16)
        self._posts.extend(_expand(mail, message_id))
        return Response(202, None, {"X-Message-Id": message_id})

    def _authorized(self, req: Request) -> bool:
        scheme, _, key = req.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and key.strip() == self.credentials.sendgrid_api_key

    def rate_limited(self, retry_after: float) -> Response:
        reset = math.ceil(self.state.clock() + retry_after)
        return Response(
            429,
            {"errors": [{"field": None, "message": "too many requests", "help": None}]},
            {
                "X-RateLimit-Limit": "600",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(reset),
            },
        )

    def injected_failure(self, status: int) -> Response:
        words = {
            400: "Bad Request",
            401: AUTH_ERROR,
            403: "access forbidden",
            404: "resource not found",
            413: "content too large",
            500: "internal server error",
            503: "service unavailable",
        }
        return _errors(status, (None, words.get(status, f"error {status}")))


def _check(mail: dict[str, Any], problems: _Problems) -> None:
    personalizations = mail.get("personalizations")
    if not isinstance(personalizations, list) or not personalizations:
        problems.add(
            "personalizations",
            "The personalizations field is required and must have at least one personalization.",
            "-Personalizations-Errors",
        )
        personalizations = []
    elif len(personalizations) > 1000:
        problems.add(
            "personalizations",
            "The personalizations field must have at most 1000 personalizations.",
            "-Personalizations-Errors",
        )
    total = 0
    every_has_subject = bool(personalizations)
    for i, item in enumerate(personalizations):
        where = f"personalizations.{i}"
        if not isinstance(item, dict):
            problems.add(where, "Invalid type. Expected: object.", "-Personalizations-Errors")
            every_has_subject = False
            continue
        total += _check_personalization(item, where, problems)
        subject = item.get("subject")
        every_has_subject = every_has_subject and isinstance(subject, str) and bool(subject)
    if total > MAX_RECIPIENTS:
        problems.add(
            "personalizations",
            "The total number of recipients must be less than 1000. This includes all recipients "
            "defined within the to, cc, and bcc parameters, across each object that you include "
            "in the personalizations array.",
            "-Personalizations-Errors",
        )
    sender = mail.get("from")
    if not isinstance(sender, dict) or "email" not in sender:
        problems.add(
            "from.email",
            "The from object must be provided for every email send. It is an object that "
            'requires the email parameter, but may also contain a name parameter.  e.g. {"email" '
            ': "example@example.com"}  or {"email" : "example@example.com", "name" : "Example '
            'Recipient"}.',
            "message.from",
        )
    elif not _valid_email(sender["email"]):
        problems.add(
            "from.email", "The from email does not contain a valid address.", "message.from"
        )
    reply_to = mail.get("reply_to")
    if reply_to is not None and not (
        isinstance(reply_to, dict) and _valid_email(reply_to.get("email"))
    ):
        problems.add(
            "reply_to.email",
            "The reply_to email does not contain a valid address.",
            "message.reply_to",
        )
    template = mail.get("template_id")
    subject = mail.get("subject")
    if subject is not None and (not isinstance(subject, str) or not subject):
        problems.add(
            "subject",
            "The subject must be a string at least one character in length.",
            "message.subject",
        )
    elif not subject and not every_has_subject and not template:
        problems.add(
            "subject",
            "The subject is required. You can get around this requirement if you use a template "
            "with a subject defined or if every personalization has a subject defined.",
            "message.subject",
        )
    _check_content(mail.get("content"), bool(template), problems)
    _check_headers(mail.get("headers"), "headers", problems)
    categories = mail.get("categories")
    if categories is not None and (
        not isinstance(categories, list)
        or len(categories) > 10
        or len(set(map(str, categories))) != len(categories)
        or any(not isinstance(c, str) or len(c) > 255 for c in categories)
    ):
        problems.add(
            "categories",
            "You may not have more than 10 unique categories of at most 255 characters each.",
            "message.categories",
        )
    asm = mail.get("asm")
    if asm is not None and not (isinstance(asm, dict) and isinstance(asm.get("group_id"), int)):
        problems.add("asm.group_id", "The asm object requires an integer group_id.", "message.asm")


def _check_personalization(item: dict[str, Any], where: str, problems: _Problems) -> int:
    """Check one personalization; returns how many recipients it has."""
    seen: set[str] = set()
    count = 0
    to = item.get("to")
    if not isinstance(to, list) or not to:
        problems.add(
            f"{where}.to",
            "The to array is required for all personalization objects, and must have at least "
            "one email object with a valid email address.",
            "message.personalizations.to",
        )
    for kind in ("to", "cc", "bcc"):
        people = item.get(kind)
        if people is None:
            continue
        if not isinstance(people, list):
            problems.add(
                f"{where}.{kind}", "Invalid type. Expected: array.", "-Personalizations-Errors"
            )
            continue
        for j, person in enumerate(people):
            address = person.get("email") if isinstance(person, dict) else None
            count += 1
            if not _valid_email(address):
                problems.add(
                    f"{where}.{kind}.{j}.email",
                    "Does not contain a valid address.",
                    "message.recipient.email",
                )
                continue
            assert isinstance(address, str)
            if address.lower() in seen:
                problems.add(
                    f"{where}.{kind}",
                    "Each email address in the personalization block should be unique between to, "
                    f"cc, and bcc. We found the first duplicate instance of [{address}] in the "
                    f"{where}.{kind} field.",
                    "message.recipient.duplicate",
                )
            seen.add(address.lower())
    sender = item.get("from")
    if sender is not None and not (isinstance(sender, dict) and _valid_email(sender.get("email"))):
        message = "The from email does not contain a valid address."
        problems.add(f"{where}.from.email", message, "message.from")
    subject = item.get("subject")
    if subject is not None and (not isinstance(subject, str) or not subject):
        problems.add(
            f"{where}.subject",
            "The subject must be a string at least one character in length.",
            "message.subject",
        )
    _check_headers(item.get("headers"), f"{where}.headers", problems)
    for name in ("substitutions", "custom_args"):
        values = item.get(name)
        if values is not None and not (
            isinstance(values, dict) and all(isinstance(v, str) for v in values.values())
        ):
            problems.add(
                f"{where}.{name}",
                f"The {name} object must map keys to string values.",
                f"message.personalizations.{name}",
            )
    send_at = item.get("send_at")
    if send_at is not None and (not isinstance(send_at, int) or isinstance(send_at, bool)):
        problems.add(
            f"{where}.send_at", "send_at must be a unix timestamp (integer).", "message.send_at"
        )
    return count


def _check_content(content: Any, has_template: bool, problems: _Problems) -> None:
    if content is None or content == []:
        if not has_template:
            problems.add(
                "content",
                "Unless a valid template_id is provided, the content parameter is required. There "
                "must be at least one defined content block. We typically suggest both text/plain "
                "and text/html blocks are included, but only one block is required.",
                "message.content",
            )
        return
    if not isinstance(content, list):
        problems.add("content", "Invalid type. Expected: array.", "message.content")
        return
    types: list[str] = []
    for i, block in enumerate(content):
        kind = block.get("type") if isinstance(block, dict) else None
        value = block.get("value") if isinstance(block, dict) else None
        if not isinstance(kind, str) or not kind:
            problems.add(
                f"content.{i}.type",
                "The content type must be a string at least one character in length.",
                "message.content.type",
            )
        else:
            types.append(kind.lower())
        if not isinstance(value, str) or not value:
            problems.add(
                f"content.{i}.value",
                "The content value must be a string at least one character in length.",
                "message.content.value",
            )
    plain = types.index("text/plain") if "text/plain" in types else None
    html = types.index("text/html") if "text/html" in types else None
    if (plain not in (None, 0)) or (html is not None and html != (0 if plain is None else 1)):
        problems.add(
            "content",
            "If present, text/plain content must be first, followed by text/html, followed by "
            "any other content.",
            "message.content.type",
        )


def _check_headers(headers: Any, where: str, problems: _Problems) -> None:
    if headers is None:
        return
    if not isinstance(headers, dict):
        problems.add(where, "Invalid type. Expected: object.", "message.headers")
        return
    for name, value in headers.items():
        if name.lower() in RESERVED_HEADERS:
            problems.add(
                f"{where}.{name}",
                f"The header {name} is reserved and cannot be set.",
                "message.headers",
            )
        elif not isinstance(value, str):
            problems.add(f"{where}.{name}", "Invalid type. Expected: string.", "message.headers")


def _expand(mail: dict[str, Any], message_id: str) -> list[dict[str, Any]]:
    """One stored record per recipient, with what that recipient's copy carries."""
    records: list[dict[str, Any]] = []
    root_headers = mail.get("headers") or {}
    for i, item in enumerate(mail["personalizations"]):
        sender = item.get("from") or mail["from"]
        for kind in ("to", "cc", "bcc"):
            for person in item.get(kind) or []:
                records.append(
                    {
                        "message_id": message_id,
                        "personalization": i,
                        "kind": kind,
                        "to": person["email"],
                        "name": person.get("name"),
                        "from": sender,
                        "subject": item.get("subject") or mail.get("subject"),
                        "headers": {**root_headers, **(item.get("headers") or {})},
                        "substitutions": item.get("substitutions") or {},
                        "dynamic_template_data": item.get("dynamic_template_data") or {},
                        "custom_args": item.get("custom_args") or {},
                        "send_at": item.get("send_at", mail.get("send_at")),
                        "content": mail.get("content") or [],
                        "template_id": mail.get("template_id"),
                        "categories": mail.get("categories") or [],
                        "reply_to": mail.get("reply_to"),
                    }
                )
    return records
