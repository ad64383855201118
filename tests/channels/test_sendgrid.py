"""The email channel with `provider: sendgrid`: many recipients per Mail Send request, each with
their own thread, unsubscribe link and delivery key; SendGrid's answers as receipts.

Unit tests answer through httpx.MockTransport; the end-to-end ones run the CLI against the
sandbox's SendGrid emulator and look at what it received.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from notify.channels.base import (
    BatchItem,
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.email import EmailChannel
from notify.channels.testing import delivery_context, mock_client
from notify.sandbox import Sandbox
from notify.sandbox.credentials import Credentials
from tests.conftest import Workspace, specs_dir

KEY = "SG.very-secret-sendgrid-key-for-tests"
BASE = "https://sendgrid.test"
SUBJECT = "[Acme Cloud] Payments API errors"
TITLE = "Payments API errors"

Handler = Callable[[httpx.Request], httpx.Response]


# -- helpers ----------------------------------------------------------------------------------


def sendgrid(**settings: Any) -> EmailChannel:
    base: dict[str, Any] = {
        "provider": "sendgrid",
        "api_key": KEY,
        "base_url": BASE,
        "from": "Acme Status <status@acme.example>",
        "to": ["alice@example.com"],
        "timeout": 10.0,
    }
    return EmailChannel("customers-email", {**base, **settings})


def update(number: int = 1, text: str = "Investigating: card payments fail.") -> Message:
    return Message(text=text, subject=SUBJECT, html=f"<p>{text}</p>", status="investigating")


def ctx(client: httpx.AsyncClient | None) -> DeliveryContext:
    return delivery_context(
        client,
        incident={"id": "inc-1", "title": TITLE},
        update={"number": 1},
        org={"name": "Acme Cloud"},
        delivery_key="dk-0",
    )


def items(
    *addresses: str, message: Message | None = None, thread: ThreadRef | None = None
) -> list[BatchItem]:
    return [
        BatchItem(message or update(), Recipient(a), thread or ThreadRef(), f"dk-{i}")
        for i, a in enumerate(addresses)
    ]


class FakeSendgrid:
    """Accepts every mail (202 + X-Message-Id) unless given other answers, and keeps requests."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.answers:
            return self.answers.pop(0)
        return httpx.Response(202, headers={"X-Message-Id": f"req{len(self.requests)}"})

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


async def send_batch(ch: EmailChannel, handler: Handler, batch: list[BatchItem]) -> list[Receipt]:
    async with mock_client(handler) as client:
        return await ch.send_batch(batch, ctx(client))


def thread_of(*message_ids: str) -> ThreadRef:
    data = tuple(
        {"message_id": m, "provider_message_id": f"x.{i}"} for i, m in enumerate(message_ids)
    )
    return ThreadRef(root=data[0], previous=data[-1], history=data) if data else ThreadRef()


def mail_spec() -> Any:
    folder = specs_dir()
    if folder is None or not (folder / "sendgrid" / "mail_v3.json").is_file():
        pytest.skip("no ../shared/specs/sendgrid/mail_v3.json (or $NOTIFY_SPECS): nothing to check")
    openapi_core = pytest.importorskip("openapi_core")
    spec = json.loads((folder / "sendgrid" / "mail_v3.json").read_text(encoding="utf-8"))
    return openapi_core.OpenAPI.from_dict(spec, config=openapi_core.Config(spec_validator_cls=None))


def assert_spec_accepts(request: httpx.Request) -> None:
    """openapi-core validates the request exactly as it went out (path, auth header, body)."""
    from types import SimpleNamespace

    from openapi_core.datatypes import RequestParameters
    from werkzeug.datastructures import Headers, ImmutableMultiDict

    as_sent = SimpleNamespace(
        host_url="https://api.sendgrid.com",
        path=request.url.path,
        method=request.method.lower(),
        body=request.content,
        content_type="application/json",
        parameters=RequestParameters(
            query=ImmutableMultiDict(),
            header=Headers(dict(request.headers)),
            cookie=ImmutableMultiDict(),
        ),
    )
    mail_spec().validate_request(as_sent)


# -- the request ------------------------------------------------------------------------------


async def test_one_request_carries_every_recipient_with_their_own_headers() -> None:
    fake = FakeSendgrid()
    ch = sendgrid(
        reply_to="Support <support@acme.example>",
        unsubscribe_url="https://acme.example/unsubscribe/{recipient}",
    )
    batch = items("alice@example.com", "bob@example.com")
    batch[1] = BatchItem(
        batch[1].message,
        Recipient("bob@example.com", {"name": "Bob\r\nBcc: evil@example.com"}),
        thread_of("<one@acme.example>", "<two@acme.example>"),
        "dk-1",
    )

    receipts = await send_batch(ch, fake, batch)

    [request] = fake.requests
    assert str(request.url) == f"{BASE}/v3/mail/send"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(request.content)
    alice, bob = body["personalizations"]
    assert alice["to"] == [{"email": "alice@example.com"}]
    assert bob["to"] == [{"email": "bob@example.com", "name": "Bob Bcc: evil@example.com"}]
    assert alice["custom_args"] == {"delivery_key": "dk-0"}
    assert bob["custom_args"] == {"delivery_key": "dk-1"}
    assert "In-Reply-To" not in alice["headers"]
    assert bob["headers"]["In-Reply-To"] == "<two@acme.example>"
    assert bob["headers"]["References"] == "<one@acme.example> <two@acme.example>"
    assert alice["headers"]["List-Unsubscribe"] == (
        "<https://acme.example/unsubscribe/alice@example.com>"
    )
    assert bob["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert body["from"] == {"email": "status@acme.example", "name": "Acme Status"}
    assert body["reply_to"] == {"email": "support@acme.example", "name": "Support"}
    assert body["subject"] == SUBJECT
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["content"][0]["value"] == "Investigating: card payments fail."
    assert body["headers"] == {"Auto-Submitted": "auto-generated"}
    # Each recipient's Message-ID is ours, kept for threading; the provider id is SendGrid's.
    ids = [p["headers"]["Message-ID"] for p in body["personalizations"]]
    assert all(i.startswith("<") and i.endswith("@acme.example>") for i in ids)
    assert len(set(ids)) == 2
    assert [r.ok for r in receipts] == [True, True]
    assert [r.provider_message_id for r in receipts] == ["req1.0", "req1.1"]
    assert [r.thread_data for r in receipts] == [{"message_id": i} for i in ids]
    assert_spec_accepts(request)


async def test_the_default_api_root_and_the_eu_one() -> None:
    for settings, root in [
        ({"base_url": None}, "https://api.sendgrid.com"),
        ({"base_url": "https://api.eu.sendgrid.com/"}, "https://api.eu.sendgrid.com"),
    ]:
        fake = FakeSendgrid()
        await send_batch(sendgrid(**settings), fake, items("alice@example.com"))
        assert str(fake.requests[0].url) == f"{root}/v3/mail/send"


async def test_per_recipient_renderings_share_one_request_through_substitutions() -> None:
    fake = FakeSendgrid()
    names = ["Alice", "Bob", "Chloé"]
    batch = [
        BatchItem(update(text=f"Hi {n}, card payments fail. More at status.acme.example"),
                  Recipient(f"{n.lower()}@example.com"), ThreadRef(), f"dk-{n}")
        for n in names
    ]  # fmt: skip

    receipts = await send_batch(sendgrid(), fake, batch)

    [body] = fake.bodies()
    assert all(r.ok for r in receipts)
    for person, name in zip(body["personalizations"], names, strict=True):
        text = body["content"][0]["value"]
        html = body["content"][1]["value"]
        for tag, value in person["substitutions"].items():
            text, html = text.replace(tag, value), html.replace(tag, value)
        assert text == f"Hi {name}, card payments fail. More at status.acme.example"
        assert html == f"<p>Hi {name}, card payments fail. More at status.acme.example</p>"
    assert_spec_accepts(fake.requests[0])


async def test_renderings_too_different_for_substitutions_go_as_one_request_each() -> None:
    fake = FakeSendgrid()
    long_a, long_b = "a" * 6000, "b" * 6000
    batch = [
        BatchItem(update(text=long_a), Recipient("alice@example.com"), ThreadRef(), "dk-a"),
        BatchItem(update(text=long_b), Recipient("bob@example.com"), ThreadRef(), "dk-b"),
        BatchItem(update(text=long_a), Recipient("carol@example.com"), ThreadRef(), "dk-c"),
    ]

    receipts = await send_batch(sendgrid(), fake, batch)

    bodies = fake.bodies()
    assert [[p["to"][0]["email"] for p in b["personalizations"]] for b in bodies] == [
        ["alice@example.com", "carol@example.com"],
        ["bob@example.com"],
    ]
    assert [b["content"][0]["value"] for b in bodies] == [long_a, long_b]
    assert [r.provider_message_id for r in receipts] == ["req1.0", "req2.0", "req1.1"]


async def test_a_single_send_is_a_batch_of_one() -> None:
    fake = FakeSendgrid()
    async with mock_client(fake) as client:
        receipt = await sendgrid().send(
            update(), Recipient("alice@example.com"), ThreadRef(), ctx(client)
        )
    assert receipt.ok and receipt.provider_message_id == "req1.0"
    assert fake.bodies()[0]["personalizations"][0]["custom_args"] == {"delivery_key": "dk-0"}


def test_a_batch_is_at_most_a_thousand_and_smtp_does_not_batch() -> None:
    assert sendgrid().batch_size() == 1000
    assert sendgrid(provider="smtp", host="smtp.acme.example").batch_size() == 1


# -- the answers ------------------------------------------------------------------------------


def errors(status: int, *pairs: tuple[str | None, str], **headers: str) -> httpx.Response:
    listed = [{"message": m, "field": f, "help": None} for f, m in pairs]
    return httpx.Response(status, json={"errors": listed}, headers=headers)


@pytest.mark.parametrize(
    ("answer", "retryable", "words"),
    [
        (errors(400, ("from.email", "The from email does not contain a valid address.")), False,
         "The from email does not contain a valid address. (field from.email)"),
        (errors(401, (None, f"The provided authorization grant is invalid: {KEY}")), False,
         "check api_key"),
        (errors(403, (None, "access forbidden")), False, "mail.send scope"),
        (errors(413, (None, "content too large")), False, "too large"),
        (errors(429, (None, "too many requests"), **{"Retry-After": "12"}), True, "rate limit"),
        (httpx.Response(500, text=f"<html>upstream {KEY} failed</html>"), True, "HTTP 500"),
        (errors(503, (None, "service unavailable")), True, "service unavailable"),
    ],
)  # fmt: skip
async def test_answers_become_receipts_without_secrets(
    answer: httpx.Response, retryable: bool, words: str
) -> None:
    receipts = await send_batch(
        sendgrid(), FakeSendgrid(answer), items("a@example.com", "b@example.com")
    )

    assert len(receipts) == 2
    for receipt in receipts:
        assert not receipt.ok
        assert receipt.retryable is retryable
        assert words in (receipt.error or "")
        assert KEY not in (receipt.error or "")
        assert receipt.status_code == answer.status_code
    if answer.status_code == 429:
        assert receipts[0].retry_after == 12.0


async def test_a_429_with_only_a_reset_header_waits_until_then() -> None:
    reset = str(int(time.time()) + 30)
    answer = errors(
        429,
        (None, "too many requests"),
        **{"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"},
    )
    [receipt] = await send_batch(sendgrid(), FakeSendgrid(answer), items("a@example.com"))
    assert receipt.retryable and receipt.retry_after is not None
    assert 25 <= receipt.retry_after <= 31


async def test_a_400_naming_one_recipient_fails_only_that_one() -> None:
    answer = errors(400, ("personalizations.1.to.0.email", "Does not contain a valid address."))
    batch = items("a@example.com", "not-really@example", "c@example.com")

    receipts = await send_batch(sendgrid(), FakeSendgrid(answer), batch)

    assert [(r.ok, r.retryable) for r in receipts] == [(False, True), (False, False), (False, True)]
    assert "Does not contain a valid address." in (receipts[1].error or "")
    assert "another recipient" in (receipts[0].error or "")


async def test_network_trouble_is_left_to_the_dispatcher() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    with pytest.raises(httpx.ConnectError):
        await send_batch(sendgrid(), unreachable, items("a@example.com"))


# -- settings and check --online --------------------------------------------------------------


def test_validate_needs_an_api_key_and_no_smtp_server() -> None:
    assert sendgrid().validate() == []
    [(field, problem)] = sendgrid(api_key=None).validate()
    assert field == "api_key" and "SENDGRID_API_KEY" in problem


async def check(ch: EmailChannel, answer: httpx.Response) -> tuple[str, httpx.Request]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer

    async with mock_client(handler) as client:
        said = await ch.check_online(ctx(client))
    return said, seen[0]


async def test_check_online_reads_the_key_scopes() -> None:
    said, request = await check(sendgrid(), httpx.Response(200, json={"scopes": ["mail.send"]}))
    assert said.startswith("api key with mail.send scope")
    assert str(request.url) == f"{BASE}/v3/scopes"
    assert request.headers["authorization"] == f"Bearer {KEY}"

    with pytest.raises(ChannelCheckError, match=r"lacks the mail\.send scope"):
        await check(sendgrid(), httpx.Response(200, json={"scopes": ["stats.read"]}))
    with pytest.raises(ChannelCheckError, match="check api_key") as refused:
        await check(sendgrid(), errors(401, (None, f"bad key {KEY}")))
    assert KEY not in str(refused.value)


# -- against the sandbox, through the CLI -----------------------------------------------------


def sendgrid_config(sb: Sandbox, recipients: list[str], **extra: Any) -> str:
    c = Credentials()
    settings = {
        "type": "email",
        "provider": "sendgrid",
        "base_url": sb.base_url("sendgrid"),
        "api_key": c.sendgrid_api_key,
        "from": "Acme Status <status@acme.example>",
        "unsubscribe_url": "https://status.acme.example/unsubscribe?email={recipient}",
        "to": recipients,
        **extra,
    }
    return json.dumps(
        {
            "version": 1,
            "organization": {"name": "Acme Cloud", "status_url": "https://status.acme.example"},
            "journal": ".notify/journal.db",
            "channels": {"customers-email": settings},
        }
    )  # JSON is YAML


def send(ws: Workspace, template: str, *extra: str) -> Any:
    result = ws.run(
        "send", template, "--title", TITLE, "--message", f"{template}.", "--yes", "--json", *extra
    )
    assert result.code == 0, result.output
    return result.json()


def journal_statuses(path: Path) -> Counter[str]:
    with sqlite3.connect(path) as db:
        return Counter(status for (status,) in db.execute("select status from deliveries"))


def in_flight(journal: Path) -> bool:
    """Whether a run has marked deliveries `unknown` (sent, answer not in yet). The journal may
    exist before its tables do: the run that creates it is still migrating."""
    try:
        return journal.exists() and journal_statuses(journal)["unknown"] > 0
    except sqlite3.OperationalError:
        return False


def test_2500_recipients_go_out_in_three_requests(workspace: Workspace) -> None:
    sb = workspace.sandbox
    people = [f"customer{i}@example.com" for i in range(2500)]
    workspace.write_config(sendgrid_config(sb, people))

    document = send(workspace, "investigating")

    assert document["totals"]["sent"] == 2500
    requests = sb.requests("sendgrid")
    assert [r.status for r in requests] == [202, 202, 202]
    assert sorted(len(r.json()["personalizations"]) for r in requests) == [500, 1000, 1000]
    posts = sb.posts("sendgrid")
    assert Counter(p["to"] for p in posts) == Counter(people)  # every one, once
    assert {p["subject"] for p in posts} == {f"[Acme Cloud] {TITLE}"}
    ids = {d["provider_message_id"] for d in document["deliveries"]}
    assert len(ids) == 2500
    one = next(p for p in posts if p["to"] == "customer7@example.com")
    assert one["headers"]["List-Unsubscribe"] == (
        "<https://status.acme.example/unsubscribe?email=customer7@example.com>"
    )
    assert len(one["custom_args"]["delivery_key"]) == 32


def test_an_incident_is_one_conversation_per_recipient(workspace: Workspace) -> None:
    sb = workspace.sandbox
    people = ["alice@example.com", "bob@example.com", "carol@example.com"]
    workspace.write_config(sendgrid_config(sb, people))

    incident = send(workspace, "investigating")["incident"]["id"]
    send(workspace, "identified", "--incident", incident)
    send(workspace, "resolved", "--incident", incident)

    assert len(sb.requests("sendgrid")) == 3
    for person in people:
        mails = [p["headers"] for p in sb.posts("sendgrid") if p["to"] == person]
        ids = [h["Message-ID"] for h in mails]
        assert len(mails) == 3 and len(set(ids)) == 3
        assert [h.get("In-Reply-To") for h in mails] == [None, ids[0], ids[1]]
        assert [h.get("References") for h in mails] == [None, ids[0], f"{ids[0]} {ids[1]}"]
    alices = {p["headers"]["Message-ID"] for p in sb.posts("sendgrid") if p["to"] == people[0]}
    bobs = {p["headers"]["Message-ID"] for p in sb.posts("sendgrid") if p["to"] == people[1]}
    assert not alices & bobs


def test_a_429_is_waited_out_and_the_batch_sent_once(workspace: Workspace) -> None:
    sb = workspace.sandbox
    people = [f"customer{i}@example.com" for i in range(5)]
    workspace.write_config(sendgrid_config(sb, people))
    sb.fail("sendgrid", 429, retry_after=0.2)

    document = send(workspace, "investigating")

    assert [r.status for r in sb.requests("sendgrid")] == [429, 202]
    assert {d["attempts"] for d in document["deliveries"]} == {2}
    assert Counter(p["to"] for p in sb.posts("sendgrid")) == Counter(people)


def test_check_online_proves_the_key(workspace: Workspace) -> None:
    workspace.write_config(sendgrid_config(workspace.sandbox, ["alice@example.com"]))
    result = workspace.run("check", "--online")
    assert result.code == 0, result.output
    assert "api key with mail.send scope" in result.output
    assert Credentials().sendgrid_api_key not in result.output


def test_a_killed_batch_is_finished_by_retry(workspace: Workspace) -> None:
    """Killed with one batch in flight: it stays `unknown`, the next `pending`; retry sends both.

    The run talks to a sandbox of its own, stopped after the kill, so the request in flight never
    lands and every recipient gets exactly one mail; the retry goes to one on the same port.
    """
    people = [f"customer{i}@example.com" for i in range(1500)]
    with Sandbox() as first:
        workspace.write_config(sendgrid_config(first, people, concurrency=1))
        first.set_latency(120)
        args = [sys.executable, "-m", "notify", "--config", str(workspace.config), "send",
                "investigating", "--title", TITLE, "--message", "m", "--yes"]  # fmt: skip
        proc = subprocess.Popen(
            args, cwd=workspace.path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if in_flight(workspace.journal):
                break
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
        port = int(first.url.rsplit(":", 1)[1])

    assert proc.returncode == 130, stderr
    assert journal_statuses(workspace.journal) == Counter({"unknown": 1000, "pending": 500})

    with Sandbox(http_port=port) as second:
        retried = workspace.run("retry", "--yes", "--json")
        assert retried.code == 0, retried.output
        sizes = [len(r.json()["personalizations"]) for r in second.requests("sendgrid")]
        assert sorted(sizes) == [500, 1000]
        assert Counter(p["to"] for p in second.posts("sendgrid")) == Counter(people)
    assert journal_statuses(workspace.journal) == Counter({"sent": 1500})
