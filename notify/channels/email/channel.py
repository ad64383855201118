"""The email channel: one message per recipient, threaded per incident, over SMTP or SendGrid.

Each recipient gets their own message (their own To, unsubscribe link and thread), so an
incident reads as one conversation in every mailbox: later updates carry In-Reply-To (the
previous message) and References (every earlier message of the incident, oldest first); the
headers are built in headers.py whichever provider sends.

The provider is chosen once, when the channel is built: SMTP (smtp.py, the default) sends one
transaction per recipient over pooled connections, 4xx "try later" retryable and 5xx final and
quoted; SendGrid (`provider: sendgrid`, sendgrid.py) sends up to 1,000 recipients per API
request, and the dispatcher hands the channel its deliveries in batches.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit

from notify.channels.base import (
    BatchItem,
    Channel,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.email.headers import EmailHeaders, unsubscribe_token
from notify.channels.email.sendgrid import SendgridProvider
from notify.channels.email.smtp import SmtpProvider
from notify.channels.http import label

_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})
GMAIL_CLIP_BYTES = 102 * 1024  # Gmail shows "[Message clipped]" past 102 KB of HTML


class EmailProvider(Protocol):
    """What sends an email channel's messages: SMTP or SendGrid, chosen once per channel."""

    def validate(self) -> list[tuple[str, str]]:
        """The provider's own settings rules (host for SMTP, api_key for SendGrid)."""
        ...

    def batch_size(self) -> int: ...

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt: ...

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]: ...

    async def check(self, ctx: DeliveryContext) -> str:
        """Prove the credentials work without sending anything."""
        ...

    async def close(self) -> None: ...


@functools.lru_cache(maxsize=262_144)
def _address_problem(address: str) -> str | None:
    """What is wrong with an address, or None. Cached: a 100,000-row audience is checked when the
    config loads and again at preflight, and email_validator takes ~0.2 ms an address."""
    from email_validator import EmailNotValidError, validate_email

    try:
        # test_environment: accept the reserved .test domain, which rehearsals against
        # `notify sandbox` use; syntax is still checked, and nothing is looked up.
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        return str(exc)
    return None


class EmailChannel(Channel):
    spec = ChannelSpec(
        type="email",
        fields=(
            Field(
                "provider", default="smtp", choices=("smtp", "sendgrid"), help="smtp or sendgrid"
            ),
            Field("host", help="the SMTP server, like smtp.example.com"),
            Field("port", "int", default=587, help="587 for starttls, 465 for tls, 25 for none"),
            Field(
                "security",
                default="starttls",
                choices=("starttls", "tls", "none"),
                help="starttls (port 587), tls (implicit, port 465) or none (local relays only)",
            ),
            Field("username", help="SMTP login, e.g. ${SMTP_USER}; set together with password"),
            Field("password", secret=True, help="SMTP password, e.g. ${SMTP_PASSWORD}"),
            Field("api_key", secret=True, help="SendGrid API key, e.g. ${SENDGRID_API_KEY}"),
            Field(
                "base_url",
                "url",
                help="SendGrid API root (provider: sendgrid): default https://api.sendgrid.com, "
                "EU accounts https://api.eu.sendgrid.com",
            ),
            Field("from", required=True, help='the sender, like "Acme Status <status@acme.io>"'),
            Field(
                "to",
                "str_or_list",
                required=True,
                help="addresses, or an audience file with an email column",
            ),
            Field("reply_to", help="where replies go, if not to from"),
            Field(
                "unsubscribe_url",
                help="one-click unsubscribe URL (https) with {recipient} or {token} in it",
            ),
            Field("message_id_domain", help="domain of Message-IDs; default: the from domain"),
            Field(
                "skip_invalid",
                "bool",
                default=False,
                help="leave an audience file's invalid rows out (reported) instead of refusing",
            ),
        ),
        part="body",
        format="email",
        per_recipient=True,
        http=False,
        threading="In-Reply-To and References chain every update of an incident per recipient",
        summary="email over SMTP or SendGrid, one message per recipient",
    )

    def __init__(self, name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(name, settings)
        self.headers = EmailHeaders(self.settings)
        kind = SendgridProvider if self.settings.provider == "sendgrid" else SmtpProvider
        self.provider: EmailProvider = kind(self.settings, self.headers, label(self))

    def validate(self) -> list[tuple[str, str]]:
        problems = self.provider.validate()
        for key, value in (("from", self.settings.from_), ("reply_to", self.settings.reply_to)):
            if value and _address_problem(parseaddr(value)[1]):
                problems.append((key, f"{value!r} is not an email address"))
        url = self.settings.unsubscribe_url
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" and parts.hostname not in _LOCAL_HOSTS:
                problems.append(("unsubscribe_url", "must be an https:// URL (RFC 8058)"))
            elif "{recipient}" not in url and "{token}" not in url:
                problems.append(
                    ("unsubscribe_url", "put {recipient} or {token} in it, to know who left")
                )
        return problems

    def recipients(self) -> list[Recipient]:
        to = self.settings.to
        # Not list(): an audience file (notify.audience.Audience) is read row by row.
        entries: Iterable[Any] = [to] if isinstance(to, str | Mapping) else (to or [])
        seen: set[str] = set()
        found: list[Recipient] = []
        for entry in entries:
            # Audience files give rows with an email column; the whole row reaches templates.
            fields = dict(entry) if isinstance(entry, Mapping) else {}
            address = str(fields.get("email", "") if fields else entry).strip()
            if address.lower() in seen:
                continue
            seen.add(address.lower())
            found.append(Recipient(address=address, fields=fields))
        return found

    def validate_recipient(self, recipient: Recipient) -> str | None:
        problem = _address_problem(recipient.address)
        if problem:
            return (
                f"{recipient.address!r} is not a valid email address ({problem.rstrip('.')}): "
                "write it like name@example.com"
            )
        if "{token}" in self.headers.unsubscribe_url and not unsubscribe_token(recipient):
            return (
                f"unsubscribe_url uses {{token}} but {recipient.address} has none: "
                "add a token column to the audience file"
            )
        return None

    def measure(self, message: Message) -> Length | None:
        # No limit worth refusing a message for, but one worth knowing: Gmail clips an email
        # whose HTML is over 102 KB behind a "[Message clipped]" link (the status link with it).
        part = "html" if message.html is not None else "text"
        size = len((message.html if message.html is not None else message.text).encode())
        detail = {"part": part, "clipped_by_gmail": size > GMAIL_CLIP_BYTES}
        return Length(size, GMAIL_CLIP_BYTES, "bytes", detail=detail, enforced=False)

    def batch_size(self) -> int:
        return self.provider.batch_size()

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        return await self.provider.send(message, recipient, thread, ctx)

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        return await self.provider.send_batch(items, ctx)

    async def check_online(self, ctx: DeliveryContext) -> str:
        return await self.provider.check(ctx)

    async def close(self) -> None:
        await self.provider.close()
