"""The sandbox core over real sockets: routing, keep-alive, the knobs, recording, SMTP,
the signed-webhook receiver, and the `notify sandbox` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import smtplib
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import h11
import httpx
import pytest

from notify.errors import InputError
from notify.sandbox import Credentials, Sandbox
from notify.sandbox.cli import channels_yaml, parse_failure, parse_rate
from notify.sandbox.webhook import sign
from tests.conftest import ROOT

CREDS = Credentials()


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        yield sb


def twilio_messages(sb: Sandbox) -> str:
    return f"{sb.base_url('twilio')}/2010-04-01/Accounts/{CREDS.twilio_account_sid}/Messages.json"


TWILIO_AUTH = (CREDS.twilio_account_sid, CREDS.twilio_auth_token)
SMS = {"To": "+14155550100", "From": "+15005550006", "Body": "Payments API is degraded."}
SLACK_AUTH = {"Authorization": f"Bearer {CREDS.slack_token}"}


# -- routing and addresses -----------------------------------------------------------------


async def test_base_urls_follow_the_provider_layout(sandbox: Sandbox) -> None:
    root = sandbox.url
    assert root.startswith("http://127.0.0.1:")
    assert sandbox.base_url("slack") == f"{root}/slack/api"
    assert sandbox.base_url("twilio") == f"{root}/twilio"
    assert sandbox.webhook_url("slack").endswith(
        f"/slack/hooks/services/T0SANDBOX/B0SANDBOX/{CREDS.slack_webhook_secret}"
    )
    assert (
        sandbox.webhook_url("teams", "ops") == f"{root}/teams/workflows/ops?sig={CREDS.teams_sig}"
    )
    assert sandbox.webhook_url("webhook", "hooks") == f"{root}/webhook/hooks"
    with pytest.raises(ValueError, match="unknown provider"):
        sandbox.base_url("pagerduty")
    with pytest.raises(ValueError, match="no webhook URL"):
        sandbox.webhook_url("twilio")


async def test_unknown_provider_is_a_404_listing_the_real_ones(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{sandbox.url}/pagerduty/v2/enqueue", json={})
    assert response.status_code == 404
    assert "slack" in response.json()["providers"]
    assert sandbox.requests("pagerduty")[0].status == 404


async def test_every_request_is_recorded_with_its_answer(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        await client.post(twilio_messages(sandbox), data=SMS, auth=("AC-wrong", "nope"))
    first, second = sandbox.requests("twilio")
    assert (first.method, first.status, second.status) == ("POST", 201, 401)
    assert (
        first.path == "/twilio/2010-04-01/Accounts/" + CREDS.twilio_account_sid + "/Messages.json"
    )
    assert first.form()["Body"] == [SMS["Body"]]
    assert first.response_body["sid"].startswith("SM")
    assert second.response_body["code"] == 20003
    assert len(sandbox.posts("twilio")) == 1  # only what was accepted


# -- keep-alive and concurrency ------------------------------------------------------------


async def _one_connection(url: str, count: int) -> list[int]:
    """`count` requests one after another on ONE socket; the statuses, in order."""
    parsed = httpx.URL(url)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    conn = h11.Connection(h11.CLIENT)
    body = "&".join(f"{k}={v}" for k, v in SMS.items()).replace("+", "%2B").encode()
    auth = httpx.BasicAuth(*TWILIO_AUTH)._auth_header
    statuses: list[int] = []
    try:
        for _ in range(count):
            request = h11.Request(
                method="POST",
                target=parsed.raw_path,
                headers=[
                    ("Host", f"{parsed.host}:{parsed.port}"),
                    ("Authorization", auth),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Content-Length", str(len(body))),
                ],
            )
            writer.write(conn.send(request) + conn.send(h11.Data(data=body)))
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            while True:
                event = conn.next_event()
                if event is h11.NEED_DATA:
                    data = await reader.read(65536)
                    assert data, "the server closed a keep-alive connection"
                    conn.receive_data(data)
                elif isinstance(event, h11.Response):
                    statuses.append(event.status_code)
                elif isinstance(event, h11.EndOfMessage):
                    break
            conn.start_next_cycle()
    finally:
        writer.close()
        await writer.wait_closed()
    return statuses


async def test_fifty_keep_alive_clients_of_twenty_requests_each(sandbox: Sandbox) -> None:
    url = twilio_messages(sandbox)
    results = await asyncio.gather(*(_one_connection(url, 20) for _ in range(50)))
    assert all(statuses == [201] * 20 for statuses in results)
    sids = {post["sid"] for post in sandbox.posts("twilio")}
    assert len(sids) == 1000


async def test_a_malformed_request_gets_a_400_not_a_hang(sandbox: Sandbox) -> None:
    parsed = httpx.URL(sandbox.url)
    reader, writer = await asyncio.open_connection(parsed.host, parsed.port)
    writer.write(b"THIS IS NOT HTTP\r\n\r\n")
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    assert answer.startswith(b"HTTP/1.1 400")


# -- knobs ---------------------------------------------------------------------------------


async def test_latency_delays_every_answer(sandbox: Sandbox) -> None:
    sandbox.set_latency(0.3)
    async with httpx.AsyncClient() as client:
        started = time.monotonic()
        response = await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        elapsed = time.monotonic() - started
    assert response.status_code == 201
    assert elapsed >= 0.3  # a lower bound only: a sleep never ends early


async def test_rate_limit_answers_in_the_providers_own_429(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit("twilio", 2, period=60)
    sandbox.set_rate_limit("slack", 1, period=60)
    message = {"channel": "C0123456789", "text": "Investigating"}
    async with httpx.AsyncClient() as client:
        sms = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
        slack_url = f"{sandbox.base_url('slack')}/chat.postMessage"
        slack = [await client.post(slack_url, json=message, headers=SLACK_AUTH) for _ in range(2)]
    assert [r.status_code for r in sms] == [201, 201, 429]
    assert sms[2].json() == {
        "code": 20429,
        "message": "Too Many Requests",
        "more_info": "https://www.twilio.com/docs/errors/20429",
        "status": 429,
    }
    assert "retry-after" not in sms[2].headers  # Twilio documents none for Messages
    assert slack[1].status_code == 429
    assert slack[1].json() == {"ok": False, "error": "ratelimited"}
    assert 55 <= int(slack[1].headers["retry-after"]) <= 60  # whole seconds to the next token
    assert len(sandbox.posts("twilio")) == 2  # a 429 was never processed


async def test_injected_failures_hit_the_next_requests_then_stop(sandbox: Sandbox) -> None:
    sandbox.fail("twilio", 503, times=2)
    sandbox.fail("slack", 429, retry_after=7)
    async with httpx.AsyncClient() as client:
        sms = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
        slack = await client.post(f"{sandbox.base_url('slack')}/auth.test", headers=SLACK_AUTH)
    assert [r.status_code for r in sms] == [503, 503, 201]
    assert sms[0].json()["code"] == 20503
    assert slack.status_code == 429
    assert slack.headers["retry-after"] == "7"
    assert [r.status for r in sandbox.requests("twilio")] == [503, 503, 201]


async def test_reset_forgets_everything_received_and_every_knob(sandbox: Sandbox) -> None:
    sandbox.set_rate_limit("twilio", 1, period=60)
    sandbox.fail("twilio", 500, times=5)
    async with httpx.AsyncClient() as client:
        await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
        sandbox.reset()
        assert sandbox.requests() == []
        responses = [
            await client.post(twilio_messages(sandbox), data=SMS, auth=TWILIO_AUTH)
            for _ in range(3)
        ]
    assert [r.status_code for r in responses] == [201, 201, 201]


def test_a_background_sandbox_serves_plain_synchronous_callers() -> None:
    with Sandbox() as sb, httpx.Client() as client:
        sb.fail("twilio", 500)
        first = client.post(twilio_messages(sb), data=SMS, auth=TWILIO_AUTH)
        second = client.post(twilio_messages(sb), data=SMS, auth=TWILIO_AUTH)
        posts = sb.posts("twilio")
        posts[0]["body"] = "changed by the caller"
        assert sb.posts("twilio")[0]["body"] == SMS["Body"]  # posts() hands out copies
    assert (first.status_code, second.status_code) == (500, 201)
    with pytest.raises(httpx.ConnectError):
        httpx.get(sb.url, timeout=2)


def test_missing_emulators_are_listed_not_fatal() -> None:
    sb = Sandbox()
    assert {"slack", "twilio", "webhook"} <= set(sb.emulators)
    assert not set(sb.missing) & set(sb.emulators)


# -- SMTP ----------------------------------------------------------------------------------


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
def smtp_sandbox() -> Any:
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


# -- the generic signed webhook ------------------------------------------------------------


def _signed(
    body: bytes, *, at: int | None = None, secret: str = CREDS.webhook_secret
) -> dict[str, str]:
    stamp = int(time.time()) if at is None else at
    return {
        "Content-Type": "application/json",
        "X-Notify-Timestamp": str(stamp),
        "X-Notify-Signature": sign(secret, stamp, body),
    }


WEBHOOK_BODY = json.dumps(
    {"incident": {"id": "db-1", "status": "investigating"}, "update": {"number": 1}}
).encode()


async def test_webhook_accepts_a_correctly_signed_body(sandbox: Sandbox) -> None:
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook", "statuspage"),
            content=WEBHOOK_BODY,
            headers={**_signed(WEBHOOK_BODY), "X-Team": "ops"},
        )
    assert response.status_code == 200
    assert response.json() == {"received": True}
    (post,) = sandbox.posts("webhook")
    assert post["name"] == "statuspage"
    assert post["body"]["incident"]["id"] == "db-1"
    assert post["headers"]["x-team"] == "ops"


@pytest.mark.parametrize(
    ("headers", "error"),
    [
        ({}, "invalid signature"),
        ({"X-Notify-Timestamp": "1700000000"}, "invalid signature"),
        ("wrong-secret", "invalid signature"),
        ("stale", "stale timestamp"),
    ],
)
async def test_webhook_refuses_bad_signatures_and_stale_timestamps(
    sandbox: Sandbox, headers: Any, error: str
) -> None:
    if headers == "wrong-secret":
        headers = _signed(WEBHOOK_BODY, secret="not-the-secret")
    elif headers == "stale":
        headers = _signed(WEBHOOK_BODY, at=int(time.time()) - 301)
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook"), content=WEBHOOK_BODY, headers=headers
        )
    assert response.status_code == 401
    assert response.json() == {"error": error}
    assert sandbox.posts("webhook") == []


async def test_webhook_needs_an_incident_and_an_update(sandbox: Sandbox) -> None:
    body = json.dumps({"incident": {"id": "db-1"}}).encode()
    async with httpx.AsyncClient() as client:
        response = await client.post(
            sandbox.webhook_url("webhook"), content=body, headers=_signed(body)
        )
        garbage = await client.post(
            sandbox.webhook_url("webhook"), content=b"{", headers=_signed(b"{")
        )
    assert response.status_code == 400
    assert "update" in response.json()["error"]
    assert garbage.status_code == 400


# -- `notify sandbox` ----------------------------------------------------------------------


def test_rate_and_failure_options_parse() -> None:
    assert parse_rate("twilio=10/s") == ("twilio", 10.0, 1.0)
    assert parse_rate("slack=1/min") == ("slack", 1.0, 60.0)
    assert parse_rate("x=300/15min") == ("x", 300.0, 900.0)
    assert parse_failure("slack=503x2") == ("slack", 503, 2)
    assert parse_failure("smtp=451") == ("smtp", 451, 1)
    with pytest.raises(InputError, match="--rate-limit") as caught:
        parse_rate("twilio=fast")
    assert "twilio=10/s" in str(caught.value)
    with pytest.raises(InputError, match="STATUS"):
        parse_failure("slack=oops")


def test_channels_yaml_points_every_channel_at_the_sandbox() -> None:
    import yaml

    with Sandbox() as sb:
        config = yaml.safe_load(channels_yaml(sb))
    channels = config["channels"]
    assert channels["sandbox-sms"]["base_url"] == sb.base_url("twilio")
    assert channels["sandbox-sms"]["from"] == "+15005550006"
    assert channels["sandbox-slack"]["token"] == CREDS.slack_token
    assert channels["sandbox-email"]["port"] == sb.smtp_port
    assert channels["sandbox-webhook"]["secret"] == CREDS.webhook_secret


def test_notify_sandbox_serves_shows_requests_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "HOME": str(tmp_path)}
    code = "from notify.sandbox.cli import sandbox_command; sandbox_command()"
    args = ["--port", "0", "--smtp-port", "0", "--fail", "slack=503"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            lines.append(line)
        banner = "".join(lines)
        url = banner.split("listening on ", 1)[1].split()[0]
        assert f"twilio    {url}/twilio" in banner
        assert "account_sid: AC00000000000000000000000000000001" in banner
        response = httpx.post(
            f"{url}/slack/api/chat.postMessage", json={"channel": "C0123456789", "text": "hi"}
        )
        assert response.status_code == 503
        line = ""
        while not line.strip():
            line = proc.stdout.readline()
        assert "slack" in line and "/slack/api/chat.postMessage" in line and "503" in line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "stopped" in out


def test_notify_sandbox_refuses_an_unknown_provider() -> None:
    from click.testing import CliRunner

    from notify.sandbox.cli import sandbox_command

    result = CliRunner().invoke(sandbox_command, ["--fail", "pagerduty=500"])
    assert isinstance(result.exception, InputError)
    assert "pagerduty" in str(result.exception)
    assert "slack" in str(result.exception)  # the hint lists the valid ones
