"""The sandbox's SMTP server: aiosmtpd on the sandbox's own loop.

It accepts AUTH LOGIN/PLAIN with the sandbox credentials (535 otherwise), and, unless the
sandbox requires AUTH, unauthenticated mail too. It is stricter than most servers about the
message itself (a Message-ID, From and Date, and no header injection) so that it catches
our own bugs. No STARTTLS: a certificate would cost a dependency; the demo uses security: none.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
import weakref
from dataclasses import dataclass, field
from typing import Any

from notify.sandbox.core.knobs import Knobs
from notify.sandbox.core.recording import RawEmail, Recording
from notify.sandbox.credentials import Credentials

__all__ = ["HOSTNAME", "SmtpServer", "channels", "check_message", "start_smtp_server"]

HOSTNAME = "smtp.sandbox.test"
# Headers RFC 5322 §3.6 allows at most once: a second one is what an injected CRLF makes.
_SINGLETONS = (
    "from", "sender", "reply-to", "to", "cc", "bcc", "message-id",
    "in-reply-to", "references", "subject", "date",
)  # fmt: skip
_REQUIRED = ("Message-ID", "From", "Date")


def channels(host: str, port: int, credentials: Credentials) -> dict[str, dict[str, Any]]:
    """The channels.yaml entry of an email channel that sends through this server."""
    c = credentials
    return {
        "email": {
            "type": "email",
            "host": host,
            "port": port,
            "security": "none",
            "username": c.smtp_username,
            "password": c.smtp_password,
            "from": f"Status <{c.smtp_username}>",
            "to": ["oncall@example.com"],
        }
    }


def check_message(raw: bytes) -> str | None:
    """Why a message must be rejected, or None. `raw` has CRLF line ends as sent."""
    head = raw.split(b"\r\n\r\n", 1)[0]
    if b"\n" in raw and b"\r\n" not in raw:
        return "bare LF line endings; SMTP needs CRLF (RFC 5321 §2.3.8)"
    seen: dict[str, int] = {}
    for number, line in enumerate(head.split(b"\r\n"), start=1):
        if b"\r" in line or b"\n" in line:
            return f"bare CR or LF in header line {number} (header injection?)"
        if line[:1] in (b" ", b"\t"):
            continue  # a folded continuation of the previous header
        name, colon, _ = line.partition(b":")
        if not colon or not name or b" " in name:
            shown = line[:40].decode("utf-8", "replace")
            return f"header line {number} is not 'Name: value': {shown!r}"
        key = name.decode("ascii", "replace").lower()
        seen[key] = seen.get(key, 0) + 1
    for required in _REQUIRED:
        if required.lower() not in seen:
            return f"missing {required} header"
    for key in _SINGLETONS:
        if seen.get(key, 0) > 1:
            return f"{seen[key]} {key} headers; RFC 5322 allows one (header injection?)"
    return None


class _Handler:
    """aiosmtpd hooks: through the knobs, check, and record each message."""

    def __init__(self, knobs: Knobs, recording: Recording) -> None:
        self.knobs = knobs
        self.recording = recording

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        refusal = await self.knobs.before_mail()
        if refusal is not None:
            return refusal
        raw: bytes = envelope.original_content or b""
        problem = check_message(raw)
        if problem is not None:
            return f"554 5.6.0 Message rejected: {problem}"
        login = getattr(getattr(session, "auth_data", None), "login", None)
        self.recording.store_email(
            RawEmail(
                raw,
                envelope.mail_from or "",
                tuple(envelope.rcpt_tos),
                login.decode("utf-8", "replace") if isinstance(login, bytes) else None,
            )
        )
        return "250 2.0.0 OK: queued"


def _authenticator(credentials: Credentials) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    user, password = credentials.smtp_username.encode(), credentials.smtp_password.encode()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data.login == user and data.password == password
        # handled=False lets aiosmtpd answer 235 / 535 5.7.8 itself; the LoginPassword is
        # kept on the session as auth_data.
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    return authenticate


@dataclass
class SmtpServer:
    """The listening server and its live connections, so stop() can close them too."""

    server: asyncio.Server
    protocols: weakref.WeakSet[asyncio.BaseProtocol] = field(default_factory=weakref.WeakSet)

    @property
    def port(self) -> int:
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def close(self) -> None:
        self.server.close()
        for protocol in list(self.protocols):
            transport = getattr(protocol, "transport", None)
            if transport is not None:
                transport.close()
        await self.server.wait_closed()
        await asyncio.sleep(0)  # let connection_lost callbacks run before the loop stops


# aiosmtpd logs a deprecation warning of its own on every AUTH (Session.login_data) through the
# "mail.log" logger; with no logging configured it would reach the terminal of `notify demo`.
logging.getLogger("mail.log").setLevel(logging.ERROR)


async def start_smtp_server(
    host: str,
    port: int,
    *,
    credentials: Credentials,
    auth_required: bool,
    knobs: Knobs,
    recording: Recording,
) -> SmtpServer:
    """Listen for SMTP on the running loop."""
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = _Handler(knobs, recording)
    authenticator = _authenticator(credentials)
    protocols: weakref.WeakSet[asyncio.BaseProtocol] = weakref.WeakSet()

    def factory() -> asyncio.BaseProtocol:
        with warnings.catch_warnings():
            # aiosmtpd warns that AUTH without TLS is unsafe: true, and fine for a local fake.
            warnings.simplefilter("ignore")
            protocol = SMTP(
                handler,
                hostname=HOSTNAME,
                ident="notify sandbox ESMTP",
                auth_required=auth_required,
                auth_require_tls=False,
                authenticator=authenticator,
                enable_SMTPUTF8=True,
                data_size_limit=25 * 1024 * 1024,
                loop=loop,
            )
        protocols.add(protocol)
        return protocol

    server = await loop.create_server(factory, host, port)
    return SmtpServer(server, protocols)
