"""The sandbox's SMTP server: AUTH, the envelope, and the checks that catch our own bugs."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid

import pytest

from notify.sandbox import Credentials, Sandbox

CREDS = Credentials()


def _email(**overrides: str | None) -> EmailMessage:
    message = EmailMessage()
    headers: dict[str, str | None] = {
        "From": "Acme Status <status@sandbox.test>",
        "To": "oncall@example.com",
        "Subject": "[Acme] Payments API errors",
        "Date": formatdate(localtime=True),
        "Message-ID": make_msgid(domain="sandbox.test"),
        **overrides,
    }
    for name, value in headers.items():
        if value is not None:
            message[name] = value
    message.set_content("We are investigating.")
    return message


@pytest.fixture
def smtp_sandbox() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        yield sb


def test_smtp_login_and_delivery_are_stored_with_the_envelope(smtp_sandbox: Sandbox) -> None:
    with smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp:
        smtp.login(CREDS.smtp_username, CREDS.smtp_password)
        smtp.send_message(_email(), to_addrs=["oncall@example.com", "lead@example.com"])
    (received,) = smtp_sandbox.emails()
    assert received["Subject"] == "[Acme] Payments API errors"
    assert received.get_content().strip() == "We are investigating."
    assert received.envelope_from == "status@sandbox.test"
    assert received.rcpt_tos == ("oncall@example.com", "lead@example.com")
    assert received.authenticated_as == CREDS.smtp_username


def test_smtp_wrong_password_gets_535(smtp_sandbox: Sandbox) -> None:
    with (
        smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPAuthenticationError) as caught,
    ):
        smtp.login(CREDS.smtp_username, "wrong-password")
    assert caught.value.smtp_code == 535


def test_smtp_accepts_unauthenticated_mail_unless_auth_is_required() -> None:
    with Sandbox() as open_sb:
        with smtplib.SMTP(open_sb.smtp_host, open_sb.smtp_port, timeout=10) as smtp:
            smtp.send_message(_email())
        assert open_sb.emails()[0].authenticated_as is None
    with Sandbox(smtp_auth_required=True) as strict:
        with (
            smtplib.SMTP(strict.smtp_host, strict.smtp_port, timeout=10) as smtp,
            pytest.raises(smtplib.SMTPSenderRefused) as caught,
        ):
            smtp.send_message(_email())
        assert caught.value.smtp_code == 530
        assert strict.emails() == []


@pytest.mark.parametrize("missing", ["Message-ID", "From", "Date"])
def test_smtp_rejects_a_message_without_required_headers(
    smtp_sandbox: Sandbox, missing: str
) -> None:
    with (
        smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as caught,
    ):
        raw = _email(**{missing: None}).as_bytes(policy=SMTP_POLICY)
        smtp.sendmail("status@sandbox.test", ["oncall@example.com"], raw)
    assert caught.value.smtp_code == 554
    assert f"missing {missing} header".encode() in caught.value.smtp_error
    assert smtp_sandbox.emails() == []


def test_smtp_rejects_a_bare_lf_header_injection(smtp_sandbox: Sandbox) -> None:
    raw = (
        b"From: status@sandbox.test\r\nTo: oncall@example.com\r\n"
        b"Date: " + formatdate().encode() + b"\r\nMessage-ID: <1@sandbox.test>\r\n"
        b"Subject: Outage\nBcc: everyone@example.com\r\n\r\nbody\r\n"
    )
    with smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp:
        smtp.ehlo()
        smtp.mail("status@sandbox.test")
        smtp.rcpt("oncall@example.com")
        assert smtp.docmd("DATA")[0] == 354
        smtp.send(raw + b".\r\n")  # raw bytes: smtplib.data() would "fix" the bare LF
        code, reason = smtp.getreply()
    assert code == 554
    assert b"header injection" in reason


def test_smtp_rejects_a_duplicated_header_from_an_injected_crlf(smtp_sandbox: Sandbox) -> None:
    raw = (
        _email()
        .as_bytes(policy=SMTP_POLICY)
        .replace(b"To: oncall@example.com", b"To: a@example.com\r\nTo: b@x.y")
    )
    with (
        smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp,
        pytest.raises(smtplib.SMTPDataError) as caught,
    ):
        smtp.sendmail("status@sandbox.test", ["a@example.com"], raw)
    assert caught.value.smtp_code == 554
    assert b"2 to headers" in caught.value.smtp_error


def test_smtp_injected_failure_uses_the_given_reply_code(smtp_sandbox: Sandbox) -> None:
    smtp_sandbox.fail("smtp", 451)
    with smtplib.SMTP(smtp_sandbox.smtp_host, smtp_sandbox.smtp_port, timeout=10) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as caught:
            smtp.send_message(_email())
        smtp.send_message(_email())  # the next message goes through
    assert caught.value.smtp_code == 451
    assert len(smtp_sandbox.emails()) == 1
