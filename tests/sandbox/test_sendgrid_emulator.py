"""The SendGrid emulator, driven over real sockets as the sendgrid provider would."""

from __future__ import annotations

from typing import Any

import pytest

from notify.sandbox import Credentials, Sandbox
from notify.sandbox.core.http import Request

C = Credentials()


# -- SendGrid --------------------------------------------------------------------------------

SENDGRID_AUTH = {"Authorization": f"Bearer {C.sendgrid_api_key}"}


def mail(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "personalizations": [
            {
                "to": [{"email": "ana@acme.example", "name": "Ana"}],
                "cc": [{"email": "ops@acme.example"}],
                "headers": {"List-Unsubscribe": "<https://acme.example/u/1>"},
            },
            {"to": [{"email": "bo@acme.example"}], "subject": "For Bo"},
        ],
        "from": {"email": "status@sandbox.test", "name": "Acme Status"},
        "subject": "[Acme] Payments",
        "content": [
            {"type": "text/plain", "value": "Down"},
            {"type": "text/html", "value": "<p>Down</p>"},
        ],
    }
    body.update(changes)
    return body


async def send_mail(sandbox: Sandbox, http: Any, body: Any, key: str = C.sendgrid_api_key) -> Any:
    url = f"{sandbox.base_url('sendgrid')}/v3/mail/send"
    return await http.post(url, json=body, headers={"Authorization": f"Bearer {key}"})


async def test_sendgrid_accepts_and_expands_recipients(sandbox: Sandbox, http: Any) -> None:
    answer = await send_mail(sandbox, http, mail())
    assert answer.status_code == 202 and answer.content == b""
    assert answer.headers["X-Message-Id"]
    posts = sandbox.posts("sendgrid")
    assert [(p["to"], p["kind"], p["subject"]) for p in posts] == [
        ("ana@acme.example", "to", "[Acme] Payments"),
        ("ops@acme.example", "cc", "[Acme] Payments"),
        ("bo@acme.example", "to", "For Bo"),
    ]
    assert posts[0]["headers"] == {"List-Unsubscribe": "<https://acme.example/u/1>"}
    assert {p["message_id"] for p in posts} == {answer.headers["X-Message-Id"]}


def many(n: int) -> list[dict[str, Any]]:
    return [{"to": [{"email": f"r{i}@acme.example"}]} for i in range(n)]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (mail(personalizations=[]), "personalizations"),
        (mail(personalizations=[{"cc": [{"email": "a@acme.example"}]}]), "personalizations.0.to"),
        (
            mail(personalizations=[{"to": [{"email": "not-an-address"}]}]),
            "personalizations.0.to.0.email",
        ),
        (mail(personalizations=many(1001)), "personalizations"),
        (
            mail(
                personalizations=[
                    {"to": [{"email": "a@acme.example"}], "bcc": [{"email": "A@acme.example"}]}
                ]
            ),
            "personalizations.0.bcc",
        ),
        (mail(**{"from": {"name": "x"}}), "from.email"),
        (mail(**{"from": {"email": "status at acme"}}), "from.email"),
        (mail(subject=None), "subject"),
        (mail(content=[]), "content"),
        (
            mail(
                content=[
                    {"type": "text/html", "value": "<p>x</p>"},
                    {"type": "text/plain", "value": "x"},
                ]
            ),
            "content",
        ),
        (mail(content=[{"type": "text/plain", "value": ""}]), "content.0.value"),
        (mail(headers={"Subject": "sneaky"}), "headers.Subject"),
    ],
)
async def test_sendgrid_refusals(sandbox: Sandbox, http: Any, body: Any, field: str) -> None:
    if body.get("subject") is None:
        body.pop("subject", None)
        body["personalizations"][1].pop("subject", None)
    answer = await send_mail(sandbox, http, body)
    assert answer.status_code == 400
    assert field in [e["field"] for e in answer.json()["errors"]]
    assert sandbox.posts("sendgrid") == []


async def test_sendgrid_subject_per_personalization_or_template_is_enough(
    sandbox: Sandbox, http: Any
) -> None:
    each = mail(personalizations=[{"to": [{"email": "a@acme.example"}], "subject": "A"}])
    del each["subject"]
    assert (await send_mail(sandbox, http, each)).status_code == 202
    templated = {k: v for k, v in mail().items() if k not in ("subject", "content")}
    assert (await send_mail(sandbox, http, {**templated, "template_id": "d-1"})).status_code == 202


async def test_sendgrid_auth_size_and_429(sandbox: Sandbox, http: Any) -> None:
    wrong = await send_mail(sandbox, http, mail(), key="SG.nope")
    assert wrong.status_code == 401
    assert wrong.json()["errors"][0]["message"] == (
        "The provided authorization grant is invalid, expired, or revoked"
    )
    emulator = sandbox.emulators["sendgrid"]
    huge = Request(
        "POST",
        "/v3/mail/send",
        headers={k.lower(): v for k, v in SENDGRID_AUTH.items()},
        body=b"{" + b" " * (30 * 1024 * 1024) + b"}",
    )
    assert (await emulator.handle(huge)).status == 413
    sandbox.fail("sendgrid", 429, retry_after=5)
    limited = await send_mail(sandbox, http, mail())
    assert limited.status_code == 429 and limited.json()["errors"][0]["message"]
    assert sandbox.posts("sendgrid") == []
