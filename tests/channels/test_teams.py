"""The teams adapter: one Adaptive Card per update through a Workflows webhook."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from notify.channels.base import DeliveryContext, Message, Recipient, ThreadRef
from notify.channels.teams import TeamsChannel
from notify.channels.testing import delivery_context

SIG = "teams-sig-0123456789abcdef"
URL = (
    "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke"
    f"?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIG}"
)
UPDATE = Message(
    text="We are investigating **elevated errors** on the payments API.",
    subject="[Acme] Payments API errors",
    status="investigating",
    link="https://status.acme.example/incidents/db-1",
)


def context(handler: Any, http: httpx.AsyncClient | None = None) -> DeliveryContext:
    """A delivery context on a fake provider (`handler`), or on a real client (`http`)."""
    incident = {"id": "db-1", "title": "Payments API errors"}
    return delivery_context(http, handler=handler, incident=incident, delivery_key="k-1")


def channel(**settings: Any) -> TeamsChannel:
    return TeamsChannel("ops-teams", {"webhook_url": URL, "timeout": 5.0, **settings})


async def send(handler: Any, message: Message = UPDATE) -> Any:
    teams = channel()
    return await teams.send(message, Recipient("workflow"), ThreadRef(), context(handler))


async def test_an_update_is_posted_as_an_adaptive_card() -> None:
    seen: list[httpx.Request] = []

    def workflows(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    receipt = await send(workflows)

    assert receipt.ok and receipt.status_code == 202
    assert receipt.provider_message_id is None and receipt.thread_data == {}
    (request,) = seen
    assert request.method == "POST" and str(request.url) == URL.replace(":443", "")
    assert request.headers["content-type"] == "application/json"
    body = json.loads(request.content)
    assert body["type"] == "message"
    (attachment,) = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    title, status, text = card["body"]
    # Markdown-escaped: Teams shows "[Acme] Payments API errors", never a link
    assert title["text"] == "\\[Acme\\] Payments API errors" and title["weight"] == "bolder"
    assert status["facts"] == [{"title": "Status", "value": "investigating"}]
    assert text == {"type": "TextBlock", "text": UPDATE.text, "wrap": True}
    assert card["actions"] == [
        {"type": "Action.OpenUrl", "title": "Status page", "url": UPDATE.link}
    ]


async def test_a_card_without_subject_status_or_link_is_just_the_text() -> None:
    bodies: list[Any] = []

    def workflows(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200)

    assert (await send(workflows, Message(text="All clear."))).ok
    card = bodies[0]["attachments"][0]["content"]
    assert card["body"] == [{"type": "TextBlock", "text": "All clear.", "wrap": True}]
    assert "actions" not in card


async def test_a_refused_signature_is_final_and_never_quotes_it() -> None:
    def workflows(request: httpx.Request) -> httpx.Response:
        error = {"code": "DirectApiAuthorizationRequired", "message": f"bad sig {SIG}"}
        return httpx.Response(401, json={"error": error})

    receipt = await send(workflows)

    assert not receipt.ok and not receipt.retryable and receipt.status_code == 401
    assert "'ops-teams'" in str(receipt.error) and "sig=" in str(receipt.error)
    assert SIG not in str(receipt.error)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"Retry-After": "7"}, 7.0), (429, {}, None), (502, {}, None), (503, {}, None)],
)
async def test_throttling_and_outages_may_be_retried(
    status: int, headers: dict[str, str], retry_after: float | None
) -> None:
    receipt = await send(lambda request: httpx.Response(status, headers=headers))

    assert not receipt.ok and receipt.retryable
    assert receipt.retry_after == retry_after and receipt.status_code == status


async def test_a_rejected_card_is_final_with_the_flow_error() -> None:
    def workflows(request: httpx.Request) -> httpx.Response:
        error = {"code": "InvalidRequestContent", "message": "The input body is not valid JSON"}
        return httpx.Response(400, json={"error": error})

    receipt = await send(workflows)

    assert not receipt.ok and not receipt.retryable
    assert "The input body is not valid JSON" in str(receipt.error)


async def test_a_network_error_never_shows_the_signed_url() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}")

    with pytest.raises(httpx.ConnectError) as caught:
        await send(unreachable)
    assert SIG not in str(caught.value)


def test_length_is_the_json_body_in_bytes() -> None:
    teams = channel()
    short = teams.measure(UPDATE)
    assert short.unit == "bytes" and short.limit == 28_000 and short.ok
    assert not teams.measure(Message(text="é" * 15_000)).ok  # 2 bytes each in UTF-8


def test_retired_office_connector_urls_are_refused_with_the_way_out() -> None:
    legacy = channel(webhook_url="https://acme.webhook.office.com/webhookb2/x/IncomingWebhook/y/z")
    (problem,) = legacy.validate()
    assert problem[0] == "webhook_url" and "Workflows" in problem[1]
    assert channel().validate() == []
    assert channel().target() == "workflow"


# Against the sandbox's Workflows emulator, over a real socket ------------------------------


async def test_a_lifecycle_reaches_the_workflows_emulator_as_three_cards(sandbox: Any) -> None:
    sandbox.reset()
    teams = channel(webhook_url=sandbox.webhook_url("teams", "ops"))
    statuses = ["investigating", "identified", "resolved"]
    async with httpx.AsyncClient() as http:
        ctx = context(None, http)
        for status in statuses:
            message = Message(text=f"We are {status}.", subject="Payments", status=status)
            receipt = await teams.send(message, Recipient("workflow"), ThreadRef(), ctx)
            assert receipt.ok and receipt.thread_data == {}

    posts = sandbox.posts("teams")
    assert [post["workflow_id"] for post in posts] == ["ops"] * 3
    facts = [post["cards"][0]["body"][1]["facts"][0]["value"] for post in posts]
    assert facts == statuses


async def test_the_emulator_refuses_a_wrong_signature_and_throttles(sandbox: Any) -> None:
    sandbox.reset()
    wrong = sandbox.webhook_url("teams").replace("sig=", "sig=wrong-")
    async with httpx.AsyncClient() as http:
        ctx = context(None, http)
        refused = await channel(webhook_url=wrong).send(UPDATE, Recipient("w"), ThreadRef(), ctx)
        sandbox.fail("teams", 429, retry_after=3)
        throttled = await channel(webhook_url=sandbox.webhook_url("teams")).send(
            UPDATE, Recipient("w"), ThreadRef(), ctx
        )

    assert not refused.ok and not refused.retryable and "sig=" in str(refused.error)
    assert "wrong-" not in str(refused.error)
    assert throttled.retryable and throttled.retry_after == 3.0
    assert sandbox.posts("teams") == []
