"""Email over SMTP or SendGrid: one message per recipient, threaded per incident by Message-ID.

Each recipient gets their own message (their own To, unsubscribe link and thread), so an
incident reads as one conversation in every mailbox: later updates carry In-Reply-To (the
previous message) and References (every earlier message of the incident, oldest first).

SMTP (the default provider): one transaction per recipient, connections pooled per channel
(smtp_pool.py); 4xx "try later" is retryable, 5xx is final and quoted.
SendGrid (`provider: sendgrid`): up to 1,000 recipients per API request (sendgrid.py), the
same headers per recipient; the dispatcher sends the channel's deliveries in batches.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
from collections.abc import Iterable, Mapping
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from notify.channels.base import (
    BatchItem,
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
from notify.channels.http import label, one_line
from notify.channels.smtp_pool import (
    SmtpPool,
    SmtpSettings,
    connect,
    quit_quietly,
    smtp_failure,
)

if TYPE_CHECKING:
    from notify.channels.sendgrid import SendgridMailer

# Fold only past RFC 5322's hard limit: List-Unsubscribe must stay on one line (a folded header
# broke DKIM in nodemailer#1654), and no header we write comes near 998 characters.
# 7bit: non-ASCII bodies go quoted-printable/base64, safe through servers without 8BITMIME.
_POLICY = SMTP_POLICY.clone(max_line_length=998, cte_type="7bit")
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def one_line_header(text: str) -> str:
    """Header-safe: CR, LF and other control characters become spaces (no header injection)."""
    if not text.isprintable():  # the rare case; checking first keeps 100,000 headers cheap
        text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())


_one_line = one_line_header


def _header_line(name: str, value: str) -> str:
    """One header as EmailMessage would write it under _POLICY. Plain ASCII (the usual case)
    goes as it is (lines may run to 998 characters); anything else through the policy's header
    factory, for RFC 2047 encoded words and folding. Values are one line already (_one_line)."""
    if value.isascii() and "=?" not in value:
        return f"{name}: {value}\r\n"
    return str(_POLICY.header_factory(name, value).fold(policy=_POLICY))


@functools.lru_cache(maxsize=64)
def _address_of(value: str) -> str:
    """The address in "Name <address>" (parseaddr is slow, and asked once per message)."""
    return parseaddr(value)[1]


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
        self._pool: SmtpPool | None = None
        self._bodies: dict[Message, bytes] = {}  # compose_bytes' cache of MIME bodies

    # --- settings -------------------------------------------------------------------------------

    @property
    def _sender(self) -> str:
        return _address_of(str(self.settings.get("from") or ""))

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

    @property
    def _sendgrid(self) -> bool:
        return self.settings.get("provider") == "sendgrid"

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if self._sendgrid:
            if not self.settings.get("api_key"):
                problems.append(
                    ("api_key", "provider sendgrid needs api_key, e.g. ${SENDGRID_API_KEY}")
                )
        else:
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

    @staticmethod
    def _address_problem(address: str) -> str | None:
        return _address_problem(address)

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
        msg["Subject"] = self.subject_of(message)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = self.new_message_id()
        if self.settings.get("reply_to"):
            msg["Reply-To"] = _one_line(str(self.settings["reply_to"]))
        for name, value in self.thread_headers(thread).items():
            msg[name] = value
        for name, value in self.unsubscribe_headers(recipient).items():
            msg[name] = value
        msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation auto-replies to this
        msg.set_content(message.text)
        if message.html:
            msg.add_alternative(message.html, subtype="html")  # last part = preferred
        return msg

    def compose_bytes(
        self, message: Message, recipient: Recipient, thread: ThreadRef
    ) -> tuple[bytes, str]:
        """`compose(...).as_bytes()`, fast: the MIME body (text + HTML parts) of one rendered
        message is built once and reused for every recipient; only the headers differ. Building
        the whole EmailMessage per recipient was most of a 10,000-recipient send's CPU time."""
        body = self._bodies.get(message)
        if body is None:
            skeleton = EmailMessage(policy=_POLICY)
            skeleton.set_content(message.text)
            if message.html:
                skeleton.add_alternative(message.html, subtype="html")
            body = skeleton.as_bytes(policy=_POLICY)  # MIME-Version, Content-* and the parts
            if len(self._bodies) >= 32:  # per-recipient templates: keep the cache small
                self._bodies.pop(next(iter(self._bodies)))
            self._bodies[message] = body
        message_id = self.new_message_id()
        name = recipient.fields.get("name")
        headers = [
            ("From", _one_line(str(self.settings.get("from") or ""))),
            (
                "To",
                formataddr((_one_line(str(name)), recipient.address))
                if name
                else recipient.address,
            ),
            ("Subject", self.subject_of(message)),
            ("Date", formatdate(usegmt=True)),
            ("Message-ID", message_id),
        ]
        if self.settings.get("reply_to"):
            headers.append(("Reply-To", _one_line(str(self.settings["reply_to"]))))
        headers += list(self.thread_headers(thread).items())
        headers += list(self.unsubscribe_headers(recipient).items())
        headers.append(("Auto-Submitted", "auto-generated"))
        head = "".join(_header_line(k, v) for k, v in headers)
        return head.encode("ascii") + body, message_id

    # Shared with the SendGrid path (sendgrid.py): the same headers whichever provider sends.

    def subject_of(self, message: Message) -> str:
        return _one_line(message.subject or "") or "Incident update"

    def new_message_id(self) -> str:
        domain = self.settings.get("message_id_domain") or self._sender.rpartition("@")[2]
        return make_msgid(domain=str(domain or "notify.invalid"))

    @staticmethod
    def thread_headers(thread: ThreadRef) -> dict[str, str]:
        """In-Reply-To the previous message, References every earlier one (RFC 5322 §3.6.4)."""
        earlier = [str(h["message_id"]) for h in thread.history if h.get("message_id")]
        previous = thread.previous.get("message_id") if thread.previous else None
        if previous and str(previous) not in earlier:
            earlier.append(str(previous))
        if not earlier:
            return {}
        return {"In-Reply-To": str(previous or earlier[-1]), "References": " ".join(earlier)}

    def unsubscribe_headers(self, recipient: Recipient) -> dict[str, str]:
        """RFC 2369 + RFC 8058 one-click unsubscribe, on one line (folding breaks DKIM)."""
        url = self._unsubscribe(recipient)
        if not url:
            return {}
        one_click = "List-Unsubscribe=One-Click"
        return {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": one_click}

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

    def _mailer(self) -> SendgridMailer:
        from notify.channels.sendgrid import SendgridMailer

        return SendgridMailer(self)

    def batch_size(self) -> int:
        from notify.channels.sendgrid import MAX_RECIPIENTS

        return MAX_RECIPIENTS if self._sendgrid else 1

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        if self._sendgrid:
            return await self._mailer().send(items, ctx)
        receipts = []
        for item in items:  # SMTP has no batches: one transaction each
            one = dataclasses.replace(ctx, delivery_key=item.delivery_key)
            receipts.append(await self.send(item.message, item.recipient, item.thread, one))
        return receipts

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        if self._sendgrid:
            item = BatchItem(message, recipient, thread, ctx.delivery_key)
            return (await self._mailer().send([item], ctx))[0]
        if (self._sender + recipient.address).isascii():
            data, message_id = self.compose_bytes(message, recipient, thread)
        else:
            # Non-ASCII addresses need SMTPUTF8 and raw UTF-8 headers: the general path.
            msg = self.compose(message, recipient, thread)
            data = msg.as_bytes(policy=_POLICY.clone(utf8=True))
            message_id = str(msg["Message-ID"])
        try:
            await self._pool_here().sendmail(self._sender, recipient.address, data)
        except Exception as exc:
            refused = smtp_failure(exc, label(self), self._server)
            if refused is None:
                raise  # network trouble: the dispatcher retries it
            return refused
        return Receipt(
            ok=True, provider_message_id=message_id, thread_data={"message_id": message_id}
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        if self._sendgrid:
            return await self._mailer().check(ctx)
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
