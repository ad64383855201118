"""Email over SMTP: one message per recipient, threaded per incident by Message-ID.

Each recipient gets their own transaction (their own To, unsubscribe link and thread), so an
incident reads as one conversation in every mailbox: later updates carry In-Reply-To (the
previous message) and References (every earlier message of the incident, oldest first).
Connections are pooled per channel (smtp_pool.py). SMTP answers map onto receipts by class:
4xx "try later" is retryable, 5xx is final and quoted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import Any
from urllib.parse import quote, urlsplit

from notify.channels._http import failed, label, one_line, register_secrets
from notify.channels.base import (
    Channel,
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
from notify.channels.smtp_pool import (
    SmtpPool,
    SmtpSettings,
    connect,
    quit_quietly,
    smtp_failure,
)

# Fold only past RFC 5322's hard limit: List-Unsubscribe must stay on one line (a folded header
# broke DKIM in nodemailer#1654), and no header we write comes near 998 characters.
# 7bit: non-ASCII bodies go quoted-printable/base64, safe through servers without 8BITMIME.
_POLICY = SMTP_POLICY.clone(max_line_length=998, cte_type="7bit")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _one_line(text: str) -> str:
    """Header-safe: CR, LF and other control characters become spaces (no header injection)."""
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


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
            Field("api_key", secret=True, help="SendGrid API key (provider: sendgrid)"),
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
        ),
        part="body",
        format="email",
        per_recipient=True,
        http=False,
        threading="In-Reply-To and References chain every update of an incident per recipient",
        summary="email over SMTP, one message per recipient",
    )

    def __init__(self, name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(name, settings)
        register_secrets(self)
        self._pool: SmtpPool | None = None

    # --- settings -------------------------------------------------------------------------------

    @property
    def _sender(self) -> str:
        return parseaddr(str(self.settings.get("from") or ""))[1]

    @property
    def _server(self) -> str:
        return f"{self.settings.get('host')}:{self.settings.get('port')}"

    def _smtp(self) -> SmtpSettings:
        return SmtpSettings(
            host=str(self.settings.get("host") or ""),
            port=int(self.settings.get("port") or 587),
            security=str(self.settings.get("security") or "starttls"),
            username=self.settings.get("username") or None,
            password=self.settings.get("password") or None,
            timeout=self.timeout,
        )

    def validate(self) -> list[tuple[str, str]]:
        if self.settings.get("provider") == "sendgrid":
            return [("provider", "sendgrid is not supported in this version: use provider: smtp")]
        problems: list[tuple[str, str]] = []
        if not self.settings.get("host"):
            problems.append(("host", "set the SMTP server, like smtp.example.com"))
        if bool(self.settings.get("username")) != bool(self.settings.get("password")):
            problems.append(("username", "set username and password together, or neither"))
        for key in ("from", "reply_to"):
            value = self.settings.get(key)
            if value and self._address_problem(parseaddr(str(value))[1]):
                problems.append((key, f"{value!r} is not an email address"))
        url = self.settings.get("unsubscribe_url")
        if url:
            parts = urlsplit(str(url))
            if parts.scheme != "https" and parts.hostname not in _LOCAL_HOSTS:
                problems.append(("unsubscribe_url", "must be an https:// URL (RFC 8058)"))
            elif "{recipient}" not in str(url) and "{token}" not in str(url):
                problems.append(
                    ("unsubscribe_url", "put {recipient} or {token} in it, to know who left")
                )
        return problems

    # --- recipients -----------------------------------------------------------------------------

    def recipients(self) -> list[Recipient]:
        to = self.settings.get("to")
        entries: list[Any] = [to] if isinstance(to, str | Mapping) else list(to or [])
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

    @staticmethod
    def _address_problem(address: str) -> str | None:
        from email_validator import EmailNotValidError, validate_email

        try:
            validate_email(address, check_deliverability=False)
        except EmailNotValidError as exc:
            return str(exc)
        return None

    def validate_recipient(self, recipient: Recipient) -> str | None:
        problem = self._address_problem(recipient.address)
        if problem:
            return (
                f"{recipient.address!r} is not a valid email address ({problem.rstrip('.')}): "
                "write it like name@example.com"
            )
        url = str(self.settings.get("unsubscribe_url") or "")
        if "{token}" in url and not self._token(recipient):
            return (
                f"unsubscribe_url uses {{token}} but {recipient.address} has none: "
                "add a token column to the audience file"
            )
        return None

    @staticmethod
    def _token(recipient: Recipient) -> str:
        return str(recipient.fields.get("token") or recipient.fields.get("unsubscribe_token") or "")

    def measure(self, message: Message) -> Length | None:
        return None  # no length limit worth refusing a message for

    # --- composing ------------------------------------------------------------------------------

    def compose(self, message: Message, recipient: Recipient, thread: ThreadRef) -> EmailMessage:
        """The message one recipient gets, with its thread headers."""
        msg = EmailMessage(policy=_POLICY)
        msg["From"] = _one_line(str(self.settings.get("from") or ""))
        name = recipient.fields.get("name")
        msg["To"] = (
            formataddr((_one_line(str(name)), recipient.address)) if name else recipient.address
        )
        msg["Subject"] = _one_line(message.subject or "") or "Incident update"
        msg["Date"] = formatdate(usegmt=True)
        domain = self.settings.get("message_id_domain") or self._sender.rpartition("@")[2]
        msg["Message-ID"] = make_msgid(domain=str(domain or "notify.invalid"))
        if self.settings.get("reply_to"):
            msg["Reply-To"] = _one_line(str(self.settings["reply_to"]))
        earlier = [str(h["message_id"]) for h in thread.history if h.get("message_id")]
        previous = thread.previous.get("message_id") if thread.previous else None
        if previous and str(previous) not in earlier:
            earlier.append(str(previous))
        if earlier:
            msg["In-Reply-To"] = str(previous or earlier[-1])
            msg["References"] = " ".join(earlier)
        url = self._unsubscribe(recipient)
        if url:
            msg["List-Unsubscribe"] = f"<{url}>"
            msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to this
        msg.set_content(message.text)
        if message.html:
            msg.add_alternative(message.html, subtype="html")  # last part = preferred
        return msg

    def _unsubscribe(self, recipient: Recipient) -> str | None:
        template = str(self.settings.get("unsubscribe_url") or "")
        if not template:
            return None
        url = template.replace("{recipient}", quote(recipient.address, safe="@"))
        return _one_line(url.replace("{token}", quote(self._token(recipient), safe="")))

    # --- sending --------------------------------------------------------------------------------

    def _pool_here(self) -> SmtpPool:
        # A pool belongs to one event loop (its sockets do): a new run gets a new pool.
        if self._pool is None or self._pool.loop is not asyncio.get_running_loop():
            size = int(self.settings.get("concurrency") or 4)
            self._pool = SmtpPool(self._smtp(), size)
        return self._pool

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        if self.settings.get("provider") == "sendgrid":
            return failed(f"{label(self)}: provider sendgrid is not supported in this version")
        msg = self.compose(message, recipient, thread)
        # Non-ASCII addresses need SMTPUTF8 and raw UTF-8 headers; everything else stays 7-bit.
        ascii_only = (self._sender + recipient.address).isascii()
        policy = _POLICY if ascii_only else _POLICY.clone(utf8=True)
        data = msg.as_bytes(policy=policy)
        message_id = str(msg["Message-ID"])
        try:
            await self._pool_here().sendmail(self._sender, recipient.address, data)
        except Exception as exc:
            receipt = smtp_failure(exc, label(self), self._server)
            if receipt is None:
                raise  # network trouble: the dispatcher retries it
            return receipt
        return Receipt(
            ok=True, provider_message_id=message_id, thread_data={"message_id": message_id}
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        if self.settings.get("provider") == "sendgrid":
            raise ChannelCheckError("provider sendgrid is not supported in this version")
        settings = self._smtp()
        try:
            client = await connect(settings)
        except Exception as exc:
            receipt = smtp_failure(exc, label(self), self._server)
            if receipt is None:
                reason = one_line(exc, 200) or type(exc).__name__
                raise ChannelCheckError(
                    f"{label(self)}: could not reach {settings.host}:{settings.port} ({reason}): "
                    "check host, port and security"
                ) from None
            raise ChannelCheckError(receipt.error or "SMTP check failed") from None
        await quit_quietly(client)
        proven = f"logged in as {settings.username}" if settings.username else "connected"
        return f"{proven} at {settings.host}:{settings.port} ({settings.security})"

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and pool.loop is asyncio.get_running_loop():
            await pool.close()
