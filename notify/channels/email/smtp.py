"""The email channel's SMTP path: its messages composed, sent through a small connection pool.

Each recipient gets one MAIL/RCPT/DATA transaction with their own headers (headers.py); the MIME
body of one rendered message is built once and shared by all of them. Opening a connection costs
a TCP handshake, TLS and AUTH, so connections are opened lazily, at most `size` of them, and
reused for many transactions. aiosmtplib already sends RSET after a refused transaction; a
connection that broke (or whose RSET failed) is dropped and replaced. `smtp_failure` says what an
SMTP server's answer means for a delivery.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from notify.channels.base import (
    BatchItem,
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    Settings,
    ThreadRef,
)
from notify.channels.email.headers import POLICY, EmailHeaders, header_line
from notify.channels.http import failed, one_line
from notify.channels.settings import max_in_flight

if TYPE_CHECKING:
    import aiosmtplib

# Servers close idle connections (often after a minute or so): an idle one is probed with NOOP
# before reuse rather than losing a message to a dead socket.
_PROBE_AFTER_IDLE = 10.0
# Many providers cap messages per connection (100 is common): reconnect before hitting it.
_MAX_TRANSACTIONS = 100


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "starttls" | "tls" | "none"
    username: str | None = None
    password: str | None = None
    timeout: float = 15.0


@dataclass
class _Connection:
    client: aiosmtplib.SMTP
    transactions: int = 0
    idle_since: float = 0.0


async def connect(settings: SmtpSettings) -> aiosmtplib.SMTP:
    """A connected (and, with a username, logged-in) client. Raises aiosmtplib errors."""
    import aiosmtplib

    client = aiosmtplib.SMTP(
        hostname=settings.host,
        port=settings.port,
        use_tls=settings.security == "tls",
        # True: refuse to go on without STARTTLS; False: never (security: none, local relays)
        start_tls=settings.security == "starttls",
        tls_context=ssl.create_default_context() if settings.security != "none" else None,
        timeout=settings.timeout,
        local_hostname="notify.localdomain",  # skips socket.getfqdn(), a DNS lookup per connect
    )
    try:
        await client.connect()
        if settings.username:
            await client.login(settings.username, settings.password or "")
    except BaseException:
        client.close()
        raise
    return client


async def quit_quietly(client: aiosmtplib.SMTP) -> None:
    """QUIT politely; a connection that is already gone is just closed."""
    try:
        if client.is_connected:
            await client.quit()
    except Exception:
        client.close()


class SmtpPool:
    """At most `size` connections to one server, shared by the sends of one event loop."""

    def __init__(self, settings: SmtpSettings, size: int) -> None:
        self.settings = settings
        self.size = max(1, size)
        self.loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.size)
        self._idle: list[_Connection] = []
        self.opened = 0  # connections opened over the pool's life (tests, benchmarks)

    async def sendmail(self, sender: str, recipient: str, data: bytes) -> str:
        """One transaction to one recipient; returns the server's reply to DATA.

        Raises aiosmtplib errors: SMTPRecipientsRefused, SMTPResponseException and subclasses
        when the server answered, SMTPException / OSError when the connection failed.
        """
        import aiosmtplib

        async with self._slots:
            conn = await self._take()
            healthy = False
            try:
                options = [] if recipient.isascii() and sender.isascii() else ["SMTPUTF8"]
                _, reply = await conn.client.sendmail(
                    sender, [recipient], data, mail_options=options
                )
                healthy = True
                return reply
            except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused) as exc:
                # The server answered (and aiosmtplib sent RSET): the connection is still good,
                # unless the answer was 421, "closing the connection".
                healthy = getattr(exc, "code", 0) != 421
                raise
            finally:
                conn.transactions += 1
                self._give_back(conn, healthy)

    async def _take(self) -> _Connection:
        while self._idle:
            conn = self._idle.pop()
            if conn.transactions < _MAX_TRANSACTIONS and await self._alive(conn):
                return conn
            await quit_quietly(conn.client)
        client = await connect(self.settings)
        self.opened += 1
        return _Connection(client)

    async def _alive(self, conn: _Connection) -> bool:
        if not conn.client.is_connected:
            return False
        if time.monotonic() - conn.idle_since < _PROBE_AFTER_IDLE:
            return True
        try:
            await conn.client.noop()
        except Exception:
            return False
        return True

    def _give_back(self, conn: _Connection, healthy: bool) -> None:
        # Synchronous on purpose: it also runs while a cancelled send unwinds.
        if healthy and conn.client.is_connected:
            conn.idle_since = time.monotonic()
            self._idle.append(conn)
        else:
            conn.client.close()  # mid-command or gone: QUIT would only wait for nothing

    async def close(self) -> None:
        """QUIT every idle connection (sends in flight keep theirs until they finish)."""
        idle, self._idle = self._idle, []
        await asyncio.gather(*(quit_quietly(c.client) for c in idle))


def smtp_failure(exc: BaseException, who: str, server: str) -> Receipt | None:
    """A Receipt for what an SMTP server answered; None for network errors (OSError), which
    the caller lets propagate for the dispatcher to retry.

    4xx "try again later" is retryable, 5xx final with the server's own words; `who` names the
    channel ("email channel 'status-email'"), `server` is host:port.
    """
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused) and exc.recipients:
        refused = exc.recipients[0]
        code, said = refused.code, one_line(refused.message, 200)
        if 400 <= code < 500:
            return failed(
                f"{who}: {server} deferred {refused.recipient} ({code} {said}); "
                "it may accept it later",
                status_code=code,
                retryable=True,
            )
        return failed(
            f"{who}: {server} refused {refused.recipient} ({code} {said}): check the "
            "address, or add it to `notify suppress`",
            status_code=code,
        )
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return failed(
            f"{who}: {server} rejected the login ({exc.code} {one_line(exc.message, 200)}): "
            "check username/password",
            status_code=exc.code,
        )
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        code, said = exc.code, one_line(exc.message, 200)
        if isinstance(exc, aiosmtplib.SMTPSenderRefused) and code >= 500:
            hint = ": check from (the login may not be allowed to send as that address)"
        else:
            hint = "; it may accept it later" if 400 <= code < 500 else ""
        return failed(
            f"{who}: {server} refused the message ({code} {said}){hint}",
            status_code=code,
            retryable=400 <= code < 500,
        )
    if isinstance(exc, ssl.SSLCertVerificationError):
        return failed(
            f"{who}: the TLS certificate of {server} is not trusted ({exc.verify_message}): "
            "check host is the name on the certificate"
        )
    if isinstance(exc, OSError):
        return None
    if isinstance(exc, aiosmtplib.SMTPException):
        said = one_line(exc.message, 200).rstrip(".")
        if "STARTTLS" in said:
            hint = ": use security: tls for port 465, or security: none only for a local relay"
        elif "AUTH" in said:
            hint = ": log in over TLS (security: starttls or tls), or remove username/password"
        else:
            hint = ""
        return failed(f"{who}: {server}: {said}{hint}")
    return None


class SmtpProvider:
    """Sends an email channel's messages over SMTP, one transaction per recipient."""

    def __init__(self, settings: Settings, headers: EmailHeaders, who: str) -> None:
        self.headers = headers
        self.who = who  # "email channel 'status-email'", for errors
        self.smtp = SmtpSettings(
            host=settings.host or "",
            port=settings.port,
            security=settings.security,
            username=settings.username or None,
            password=settings.password or None,
            timeout=settings.timeout,
        )
        self.server = f"{settings.host}:{settings.port}"
        self.pool_size = max_in_flight(settings.concurrency)  # opened as the dispatcher needs
        self.username, self.password = settings.username, settings.password
        self._pool: SmtpPool | None = None
        self._bodies: dict[Message, bytes] = {}  # compose_bytes' cache of MIME bodies

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not self.smtp.host:
            problems.append(("host", "set the SMTP server, like smtp.example.com"))
        if bool(self.username) != bool(self.password):
            problems.append(("username", "set username and password together, or neither"))
        return problems

    def batch_size(self) -> int:
        return 1  # SMTP has no batches

    # --- composing ------------------------------------------------------------------------------

    def compose(self, message: Message, recipient: Recipient, thread: ThreadRef) -> EmailMessage:
        """The message one recipient gets, with its thread headers."""
        msg = EmailMessage(policy=POLICY)
        for name, value in self.headers.all(
            message, recipient, thread, self.headers.new_message_id()
        ):
            msg[name] = value
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
            skeleton = EmailMessage(policy=POLICY)
            skeleton.set_content(message.text)
            if message.html:
                skeleton.add_alternative(message.html, subtype="html")
            body = skeleton.as_bytes(policy=POLICY)  # MIME-Version, Content-* and the parts
            if len(self._bodies) >= 32:  # per-recipient templates: keep the cache small
                self._bodies.pop(next(iter(self._bodies)))
            self._bodies[message] = body
        message_id = self.headers.new_message_id()
        headers = self.headers.all(message, recipient, thread, message_id)
        head = "".join(header_line(k, v) for k, v in headers)
        return head.encode("ascii") + body, message_id

    # --- sending --------------------------------------------------------------------------------

    def _pool_here(self) -> SmtpPool:
        # A pool belongs to one event loop (its sockets do): a new run gets a new pool.
        if self._pool is None or self._pool.loop is not asyncio.get_running_loop():
            self._pool = SmtpPool(self.smtp, self.pool_size)
        return self._pool

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        sender = self.headers.sender
        if (sender + recipient.address).isascii():
            data, message_id = self.compose_bytes(message, recipient, thread)
        else:
            # Non-ASCII addresses need SMTPUTF8 and raw UTF-8 headers: the general path.
            msg = self.compose(message, recipient, thread)
            data = msg.as_bytes(policy=POLICY.clone(utf8=True))
            message_id = str(msg["Message-ID"])
        try:
            await self._pool_here().sendmail(sender, recipient.address, data)
        except Exception as exc:
            refused = smtp_failure(exc, self.who, self.server)
            if refused is None:
                raise  # network trouble: the dispatcher retries it
            return refused
        return Receipt(
            ok=True, provider_message_id=message_id, thread_data={"message_id": message_id}
        )

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        receipts = []
        for item in items:  # one transaction each
            one = dataclasses.replace(ctx, delivery_key=item.delivery_key)
            receipts.append(await self.send(item.message, item.recipient, item.thread, one))
        return receipts

    async def check(self, ctx: DeliveryContext) -> str:
        """Connect (and log in, with a username): proof without sending anything."""
        settings = self.smtp
        try:
            client = await connect(settings)
        except Exception as exc:
            receipt = smtp_failure(exc, self.who, self.server)
            if receipt is None:
                reason = one_line(exc, 200) or type(exc).__name__
                raise ChannelCheckError(
                    f"{self.who}: could not reach {settings.host}:{settings.port} ({reason}): "
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
