"""Microsoft Teams through a Workflows (Power Automate) webhook, as an Adaptive Card.

Workflows answers 202 with an empty body and no message id, so a Teams post can be neither
edited nor threaded: every update is a new card that shows the current status.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

from notify.channels.base import (
    ChannelNotVerified,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import Answer, HttpChannel, Request
from notify.render.formats import literal

MAX_BYTES = 28_000  # Teams refuses messages over about 28 KB
AUTH_HINT = "check the Workflows URL (its sig= parameter) in channels.yaml"
# Office 365 connectors (outlook/webhook.office.com) are retired; they no longer deliver.
_RETIRED_HOSTS = ("webhook.office.com", "outlook.office.com")


def adaptive_card(message: Message) -> dict[str, Any]:
    """The Workflows request body: one Adaptive Card with title, status, text and a link.

    TextBlocks and FactSet values render Markdown: the title and status (plain text) are escaped
    for it, as the text already is."""
    body: list[dict[str, Any]] = []
    if message.subject:
        body.append(
            {
                "type": "TextBlock",
                "text": literal(message.subject, "teams"),
                "weight": "bolder",
                "size": "medium",
                "wrap": True,
            }
        )
    if message.status:
        status = literal(message.status, "teams")
        body.append({"type": "FactSet", "facts": [{"title": "Status", "value": status}]})
    body.append({"type": "TextBlock", "text": message.text, "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if message.link:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Status page", "url": message.link}]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _encode(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class TeamsChannel(HttpChannel):
    spec = ChannelSpec(
        type="teams",
        fields=(
            Field(
                "webhook_url",
                "url",
                required=True,
                secret=True,
                help="the URL of the Workflows webhook trigger (its sig= parameter is the key)",
            ),
        ),
        part="body",
        format="teams",
        threading="none: Workflows returns no message id, so each update is a new card",
        summary="a Teams channel or chat, as an Adaptive Card via a Workflows webhook",
    )

    def target(self) -> str:
        return "workflow"

    def validate(self) -> list[tuple[str, str]]:
        host = (urlsplit(self.settings.webhook_url or "").hostname or "").lower()
        if host.endswith(_RETIRED_HOSTS):
            return [
                (
                    "webhook_url",
                    "Office 365 connector webhooks are retired and no longer deliver: in Teams, "
                    "add the Workflows template 'Post to a channel when a webhook request is "
                    "received' and use its URL",
                )
            ]
        return []

    def measure(self, message: Message) -> Length:
        return Length(len(_encode(adaptive_card(message))), MAX_BYTES, "bytes")

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        return Request(
            "POST",
            self.settings.webhook_url,
            content=_encode(adaptive_card(message)),
            headers={"Content-Type": "application/json"},
        )

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        if answer.ok:
            return Receipt(ok=True, status_code=answer.status)
        wait = answer.retry_after_header if answer.status == 429 else None
        return self.failure(
            answer,
            auth=AUTH_HINT,
            hint="check that the flow is turned on and that its URL is the current one",
            retry_after=wait,
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        # A Workflows URL can only be proven by posting to it, and a check must send nothing.
        raise ChannelNotVerified("a Workflows URL can only be proven by posting a card")
