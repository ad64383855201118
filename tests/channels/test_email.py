"""The email channel against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notify.channels.base import (
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.email import EmailChannel
from notify.channels.testing import delivery_context

USER, PASSWORD = "status@acme.example", "smtp-password-not-for-logs"
SUBJECT = "[Acme Cloud] Payments API errors"


@dataclass
class Received:
    peer: Any
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.raw, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class Mailbox:
    """aiosmtpd handler: refuses nobody@ (550) and busy@ (451), keeps everything else."""

    received: list[Received] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)
    quits: int = 0
    data_answer: str | None = None  # answer DATA with this instead of accepting
    servers: list[Any] = field(default_factory=list)  # one aiosmtpd protocol per connection

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 <nobody@example.com>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.2.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if server not in self.servers:
            self.servers.append(server)
        if self.data_answer:
            return self.data_answer
        raw = envelope.original_content or b""
        self.received.append(Received(session.peer, envelope.mail_from, envelope.rcpt_tos, raw))
        return "250 2.0.0 Ok: queued"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self.quits += 1
        return "221 Bye"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        expected = (USER.encode(), PASSWORD.encode())
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == expected
        if ok:
            self.logins.append(USER)
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 235 / 535

    @property
    def connections(self) -> int:
        return len({r.peer for r in self.received})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def controller() -> Iterator[Controller]:
    mailbox = Mailbox()
    port = free_port()
    server = Controller(
        mailbox,
        hostname="127.0.0.1",
        port=port,
        server_hostname="smtp.test",
        authenticator=mailbox.authenticate,
        auth_require_tls=False,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp(controller: Controller) -> tuple[Mailbox, int]:
    return controller.handler, controller.port


def ctx(number: int = 1) -> DeliveryContext:
    return delivery_context(  # no http: SMTP must not talk HTTP
        incident={"id": "inc-1", "title": "Payments API errors"},
        update={"number": number},
        org={"name": "Acme Cloud"},
        delivery_key=f"dk-{number}",
    )


def mail_channel(port: int, **settings: Any) -> EmailChannel:
    base: dict[str, Any] = {
        "provider": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from": "Acme Status <status@acme.example>",
        "to": ["alice@example.com"],
        "concurrency": 4,
        "timeout": 10.0,
    }
    return EmailChannel("status-email", {**base, **settings})


def update(number: int, status: str, subject: str = SUBJECT) -> Message:
    return Message(
        text=f"{status.title()}: update {number}.",
        subject=subject,
        html=f"<p><strong>{status.title()}</strong>: update {number}.</p>",
        status=status,
    )


async def first_update(ch: EmailChannel, address: str) -> Receipt:
    return await ch.send(update(1, "investigating"), Recipient(address), ThreadRef(), ctx())


def thread_of(receipts: list[Receipt]) -> ThreadRef:
    data = [dict(r.thread_data, provider_message_id=r.provider_message_id) for r in receipts]
    if not data:
        return ThreadRef()
    return ThreadRef(root=data[0], previous=data[-1], history=tuple(data))


async def test_an_incident_is_one_conversation_in_the_mailbox(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, reply_to="support@acme.example")
    alice = Recipient("alice@example.com", {"name": "Alice Liddell"})
    receipts: list[Receipt] = []
    for number, status in enumerate(["investigating", "identified", "resolved"], start=1):
        receipts.append(
            await ch.send(update(number, status), alice, thread_of(receipts), ctx(number))
        )
    await ch.close()

    assert all(r.ok for r in receipts)
    messages = [r.message for r in mailbox.received]
    ids = [m["Message-ID"] for m in messages]
    assert len(set(ids)) == 3 and all(i.endswith("@acme.example>") for i in ids)
    assert [r.provider_message_id for r in receipts] == ids
    assert [r.thread_data for r in receipts] == [{"message_id": i} for i in ids]
    assert [m["Subject"] for m in messages] == [SUBJECT] * 3
    assert messages[0]["In-Reply-To"] is None and messages[0]["References"] is None
    assert messages[1]["In-Reply-To"] == ids[0] and messages[1]["References"] == ids[0]
    assert messages[2]["In-Reply-To"] == ids[1]
    assert messages[2]["References"] == f"{ids[0]} {ids[1]}"  # oldest first
    first = messages[0]
    assert first["From"] == "Acme Status <status@acme.example>"
    assert first["To"] == "Alice Liddell <alice@example.com>"
    assert first["Reply-To"] == "support@acme.example" and first["Date"]
    assert mailbox.received[0].mail_from == "status@acme.example"
    assert first.get_content_type() == "multipart/alternative"
    plain, html = first.iter_parts()  # text first, HTML last (= preferred)
    assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
    assert plain.get_content().strip() == "Investigating: update 1."
    assert "<strong>Investigating</strong>" in html.get_content()


async def test_one_connection_carries_twenty_recipients(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, concurrency=1)
    people = [Recipient(f"user{n}@example.com") for n in range(20)]
    receipts = await asyncio.gather(
        *(ch.send(update(1, "investigating"), p, ThreadRef(), ctx()) for p in people)
    )
    await ch.close()

    assert all(r.ok for r in receipts)
    assert mailbox.connections == 1
    assert mailbox.quits == 1  # close() said goodbye
    assert sorted(r.rcpt_tos[0] for r in mailbox.received) == sorted(p.address for p in people)
    for received in mailbox.received:  # one transaction each: To is that recipient only
        assert received.rcpt_tos == [received.message["To"]]


async def test_concurrency_bounds_the_connections(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, concurrency=3)
    people = [Recipient(f"user{n}@example.com") for n in range(30)]
    receipts = await asyncio.gather(
        *(ch.send(update(1, "investigating"), p, ThreadRef(), ctx()) for p in people)
    )
    await ch.close()
    assert all(r.ok for r in receipts) and len(mailbox.received) == 30
    assert 1 <= mailbox.connections <= 3


async def test_login_with_username_and_password(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, username=USER, password=PASSWORD)
    receipt = await first_update(ch, "a@example.com")
    await ch.close()
    assert receipt.ok and mailbox.logins == [USER]


async def test_a_wrong_password_is_final_and_never_shown(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, username=USER, password="wrong-password-123")
    receipt = await first_update(ch, "a@example.com")
    await ch.close()
    assert not receipt.ok and not receipt.retryable and receipt.status_code == 535
    assert receipt.error is not None
    assert "status-email" in receipt.error and "check username/password" in receipt.error
    assert "wrong-password-123" not in receipt.error
    assert mailbox.received == []


async def test_a_refused_recipient_fails_alone(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, concurrency=1)
    people = [f"{name}@example.com" for name in ("a", "nobody", "b", "busy", "c")]
    receipts = {p: await first_update(ch, p) for p in people}
    await ch.close()

    refused, busy = receipts["nobody@example.com"], receipts["busy@example.com"]
    assert not refused.ok and not refused.retryable and refused.status_code == 550
    assert refused.error and "nobody@example.com (550 5.1.1" in refused.error
    assert not busy.ok and busy.retryable and busy.status_code == 451
    assert [r.rcpt_tos[0] for r in mailbox.received] == [f"{n}@example.com" for n in "abc"]
    assert mailbox.connections == 1  # RSET after each refusal, same connection


async def test_a_subject_cannot_inject_headers(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port)
    evil = update(1, "investigating", subject="Outage\r\nBcc: evil@attacker.example\nX-Evil: 1")
    receipt = await ch.send(evil, Recipient("a@example.com"), ThreadRef(), ctx())
    await ch.close()

    assert receipt.ok
    (received,) = mailbox.received
    assert received.rcpt_tos == ["a@example.com"]
    message = received.message
    assert message["Bcc"] is None and message["X-Evil"] is None
    assert message["Subject"] == "Outage Bcc: evil@attacker.example X-Evil: 1"


async def test_one_click_unsubscribe_headers_stay_on_one_line(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    url = "https://status.acme.example/notifications/unsubscribe/one-click?list=customers&who={recipient}"
    ch = mail_channel(port, unsubscribe_url=url)
    await first_update(ch, "alice+ops@example.com")
    await ch.close()

    raw = mailbox.received[0].raw
    expected = (
        b"List-Unsubscribe: <https://status.acme.example/notifications/unsubscribe/one-click"
        b"?list=customers&who=alice%2Bops@example.com>\r\n"
    )
    assert expected in raw
    assert b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in raw


async def test_a_421_drops_the_connection_and_is_retryable(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    ch = mail_channel(port, concurrency=1)
    mailbox.data_answer = "421 4.3.2 Service shutting down, closing channel"
    closing = await first_update(ch, "a@example.com")
    mailbox.data_answer = None
    after = await first_update(ch, "b@example.com")
    await ch.close()
    assert not closing.ok and closing.retryable and closing.status_code == 421
    assert after.ok and len(mailbox.servers) == 2  # a fresh connection for the next one


async def test_a_connection_the_server_dropped_is_replaced(controller: Controller) -> None:
    mailbox: Mailbox = controller.handler
    ch = mail_channel(controller.port, concurrency=1)
    first = await first_update(ch, "a@example.com")
    # The server hangs up the idle connection (a restart, an idle timeout).
    closed = threading.Event()

    def hang_up() -> None:
        mailbox.servers[0].transport.close()
        closed.set()

    controller.loop.call_soon_threadsafe(hang_up)
    assert await asyncio.to_thread(closed.wait, 10)
    try:
        second = await first_update(ch, "b@example.com")
    except ConnectionError:  # noticed mid-send: the dispatcher retries, on a new connection
        second = await first_update(ch, "b@example.com")
    await ch.close()
    assert first.ok and second.ok
    assert [r.rcpt_tos for r in mailbox.received] == [["a@example.com"], ["b@example.com"]]
    assert mailbox.connections == 2


async def test_unreachable_server_raises_for_the_dispatcher_to_retry() -> None:
    ch = mail_channel(free_port())
    with pytest.raises(OSError):
        await first_update(ch, "a@example.com")
    await ch.close()


async def test_starttls_required_but_not_offered_is_final(smtp: tuple[Mailbox, int]) -> None:
    _, port = smtp
    ch = mail_channel(port, security="starttls")
    receipt = await first_update(ch, "a@example.com")
    await ch.close()
    assert not receipt.ok and not receipt.retryable
    assert receipt.error and "security" in receipt.error


async def test_check_online_logs_in_and_sends_nothing(smtp: tuple[Mailbox, int]) -> None:
    mailbox, port = smtp
    proven = await mail_channel(port, username=USER, password=PASSWORD).check_online(ctx())
    assert proven == f"logged in as {USER} at 127.0.0.1:{port} (none)"
    with pytest.raises(ChannelCheckError, match="check username/password") as caught:
        await mail_channel(port, username=USER, password="not-the-password").check_online(ctx())
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(ChannelCheckError, match="could not reach"):
        await mail_channel(free_port()).check_online(ctx())
    assert mailbox.received == [] and mailbox.logins == [USER]


def test_recipients_are_deduplicated_and_keep_audience_columns() -> None:
    ch = mail_channel(
        25, to=["a@example.com", "A@Example.com", {"email": "b@example.com", "name": "Bo"}]
    )
    recipients = ch.recipients()
    assert [r.address for r in recipients] == ["a@example.com", "b@example.com"]
    assert recipients[1].fields["name"] == "Bo"


def test_an_invalid_address_is_explained() -> None:
    problem = mail_channel(25).validate_recipient(Recipient("alice@@example")) or ""
    assert problem.startswith("'alice@@example' is not a valid email address")
    assert mail_channel(25).validate_recipient(Recipient("alice@example.com")) is None
    tokens = mail_channel(25, unsubscribe_url="https://acme.example/u?t={token}")
    assert "token column" in (tokens.validate_recipient(Recipient("alice@example.com")) or "")
    assert tokens.validate_recipient(Recipient("alice@example.com", {"token": "t1"})) is None


@pytest.mark.parametrize(
    ("settings", "field", "words"),
    [
        ({"provider": "sendgrid"}, "api_key", "sendgrid needs api_key"),
        ({"host": None}, "host", "SMTP server"),
        ({"username": USER}, "username", "together"),
        ({"from": "not an address"}, "from", "not an email address"),
        ({"unsubscribe_url": "http://acme.example/u/{recipient}"}, "unsubscribe_url", "https"),
        ({"unsubscribe_url": "https://acme.example/u"}, "unsubscribe_url", "{recipient}"),
    ],
)
def test_validate_says_how_to_fix(settings: dict[str, Any], field: str, words: str) -> None:
    problems = mail_channel(25, **settings).validate()
    assert problems and problems[0][0] == field and words in problems[0][1]
    assert mail_channel(25).validate() == []


# --- against the sandbox's SMTP server --------------------------------------------------------


async def test_sandbox_lifecycle_is_one_conversation() -> None:
    from notify.sandbox import Credentials, Sandbox

    creds = Credentials()
    with Sandbox() as sb:
        ch = mail_channel(
            sb.smtp_port,
            host=sb.smtp_host,
            username=creds.smtp_username,
            password=creds.smtp_password,
        )
        bob = Recipient("bob@example.com")
        receipts: list[Receipt] = []
        for number, status in enumerate(["investigating", "identified", "resolved"], start=1):
            receipts.append(
                await ch.send(update(number, status), bob, thread_of(receipts), ctx(number))
            )
        sb.fail("smtp", 451)
        deferred = await ch.send(update(4, "resolved"), bob, thread_of(receipts), ctx(4))
        await ch.close()
        emails = sb.emails()

    assert all(r.ok for r in receipts)
    assert not deferred.ok and deferred.retryable and deferred.status_code == 451
    ids = [e["Message-ID"] for e in emails]
    assert ids == [r.provider_message_id for r in receipts]
    assert [e["In-Reply-To"] for e in emails] == [None, ids[0], ids[1]]
    assert emails[2]["References"] == f"{ids[0]} {ids[1]}"
    assert {e["Subject"] for e in emails} == {SUBJECT}
    assert all(e.rcpt_tos == ("bob@example.com",) for e in emails)
    assert all(e.authenticated_as == creds.smtp_username for e in emails)
