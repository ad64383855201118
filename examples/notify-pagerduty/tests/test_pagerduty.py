"""The adapter alone: each update in, the request PagerDuty would get and the Receipt out.

A fake PagerDuty (httpx.MockTransport, through notify.channels.testing) answers every request, so
these tests need no network and no notify config.
(notify's own tests/test_plugins.py installs this package and sends through the notify CLI.)
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from notify.channels.base import Message, Receipt, Recipient, ThreadRef
from notify.channels.testing import delivery_context, mock_client

from notify_pagerduty import PagerDutyChannel

KEY = "0123456789abcdef0123456789abcdef"
INCIDENT = {"id": "pay-1", "title": "Payments API errors", "impact": "major"}


async def send(
    message: Message,
    *,
    settings: dict[str, Any] | None = None,
    incident: dict[str, Any] | None = None,
    thread: ThreadRef | None = None,
    answer: httpx.Response | None = None,
) -> tuple[Receipt, list[httpx.Request]]:
    """Send one message through a pagerduty channel; return its receipt and the requests made."""
    requests: list[httpx.Request] = []

    def pagerduty(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        dedup_key = json.loads(request.content)["dedup_key"]
        return answer or httpx.Response(202, json={"status": "success", "dedup_key": dedup_key})

    channel = PagerDutyChannel("oncall", {"routing_key": KEY, **(settings or {})})
    async with mock_client(pagerduty) as http:
        ctx = delivery_context(
            http,
            incident={**INCIDENT, "status": message.status, **(incident or {})},
            update={"number": 1},
            org={"name": "Acme Cloud"},
            delivery_key="test-delivery",
        )
        receipt = await channel.send(
            message, Recipient("events-api-v2"), thread or ThreadRef(), ctx
        )
    return receipt, requests


def investigating() -> Message:
    return Message(
        text="Card payments fail.",
        subject="[Acme Cloud] Payments API errors",
        status="investigating",
        link="https://status.acme.example",
    )


async def test_the_first_update_triggers_an_alert_keyed_by_the_incident() -> None:
    receipt, (request,) = await send(investigating())

    assert request.url == "https://events.pagerduty.com/v2/enqueue"
    event = json.loads(request.content)
    assert (event["event_action"], event["dedup_key"], event["routing_key"]) == (
        "trigger",
        "pay-1",
        KEY,
    )
    assert event["payload"]["summary"] == "[Acme Cloud] Payments API errors"
    assert event["payload"]["severity"] == "error"  # impact major
    assert event["payload"]["custom_details"]["message"] == "Card payments fail."
    assert receipt.ok and receipt.provider_message_id == "pay-1"
    assert receipt.thread_data == {"dedup_key": "pay-1"}


async def test_resolved_resolves_the_alert_the_first_update_opened() -> None:
    resolved = Message(text="Fixed.", subject="Resolved", status="resolved")
    first = ThreadRef(root={"dedup_key": "pay-1", "provider_message_id": "pay-1"})

    receipt, (request,) = await send(resolved, thread=first, incident={"id": "pay-1"})

    event = json.loads(request.content)
    assert event == {"routing_key": KEY, "event_action": "resolve", "dedup_key": "pay-1"}
    assert receipt.ok


async def test_a_throttled_event_may_be_retried_and_an_invalid_one_may_not() -> None:
    throttled, _ = await send(investigating(), answer=httpx.Response(429))
    invalid, _ = await send(
        investigating(),
        answer=httpx.Response(
            400, json={"status": "invalid event", "errors": ["Invalid routing key"]}
        ),
    )

    assert (throttled.ok, throttled.retryable) == (False, True)
    assert (invalid.ok, invalid.retryable) == (False, False)
    assert invalid.error is not None and "Invalid routing key" in invalid.error
    assert KEY not in invalid.error


def test_a_routing_key_of_the_wrong_length_is_reported_at_check() -> None:
    channel = PagerDutyChannel("oncall", {"routing_key": "u+abc"})

    assert [field for field, _ in channel.validate()] == ["routing_key"]
