"""A small pool of SMTP connections for one email channel.

Opening a connection costs a TCP handshake, TLS and AUTH; a fan-out to thousands of recipients
sends one transaction each (per-recipient headers), so connections are opened lazily, at most
`size` of them, and reused for many MAIL/RCPT/DATA transactions. aiosmtplib already sends RSET after
a refused transaction; a connection that broke (or whose RSET failed) is dropped and replaced.
`smtp_failure` says what an SMTP server's answer means for a delivery.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from notify.channels.base import Receipt
from notify.channels.http import failed, one_line

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
