"""Microsoft Teams "Workflows" webhook (Power Automate): an Adaptive Card posted to a flow URL.

The flow URL's `sig` query parameter is the only credential. A flow answers 202 with an empty
body and no message id, so Teams posts can be neither edited nor threaded.
"""

from __future__ import annotations

import math
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response
from notify.sandbox.credentials import Credentials

__all__ = ["TeamsEmulator"]

MAX_BODY_BYTES = 28 * 1024  # "28 KB per message" (learn.microsoft.com add-incoming-webhook)
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    # Power Automate / Logic Apps error envelope.
    return Response(status, {"error": {"code": code, "message": message}}, headers or {})


class TeamsEmulator(Emulator):
    name = "teams"

    @classmethod
    def webhook_path(cls, credentials: Credentials, name: str) -> str:
        return f"/workflows/{name}?sig={credentials.teams_sig}"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {"teams": {"type": "teams", "webhook_url": cls.webhook_url(root, credentials)}}

    async def handle(self, req: Request) -> Response:
        parts = req.path.strip("/").split("/")
        if len(parts) != 2 or parts[0] != "workflows" or not parts[1]:
            return _error(404, "WorkflowNotFound", "The workflow could not be found.")
        if req.method != "POST":
            return _error(
                405, "MethodNotAllowed", f"The HTTP method '{req.method}' is not allowed."
            )
        sig = req.query.get("sig", [""])[0]
        if not sig:
            return _error(
                401,
                "DirectApiAuthorizationRequired",
                "The request must be authenticated only by Shared Access scheme.",
            )
        if sig != self.credentials.teams_sig:
            # The real message quotes the signature; never echo a credential back.
            return _error(
                401,
                "DirectApiInvalidAuthorizationSignature",
                "The provided authorization signature is not valid for this request.",
            )
        if len(req.body) > MAX_BODY_BYTES:
            return _error(
                413,
                "MessageSizeLimitExceeded",
                f"The message is {len(req.body)} bytes; the limit is {MAX_BODY_BYTES} bytes.",
            )
        try:
            payload = req.json()
        except ValueError:
            return _error(400, "InvalidRequestContent", "The request content is not valid JSON.")
        problem = _check_message(payload)
        if problem:
            return _error(400, "InvalidRequestContent", problem)
        cards = [a["content"] for a in payload["attachments"]]
        texts = [t for card in cards for t in _texts(card.get("body", []))]
        self._posts.append(
            {
                "workflow_id": parts[1],
                "cards": cards,
                "texts": texts,
                "text": "\n".join(texts),
            }
        )
        return Response(202)

    def rate_limited(self, retry_after: float) -> Response:
        seconds = max(1, math.ceil(retry_after))
        return _error(
            429,
            "WorkflowTriggerThrottled",
            "Rate limit is exceeded. Try again later.",
            {"Retry-After": str(seconds)},
        )

    def injected_failure(self, status: int) -> Response:
        codes = {
            400: "InvalidRequestContent",
            401: "DirectApiInvalidAuthorizationSignature",
            404: "WorkflowNotFound",
            500: "InternalServerError",
            502: "BadGateway",
            503: "ServiceUnavailable",
            504: "GatewayTimeout",
        }
        code = codes.get(status, f"Http{status}")
        return _error(status, code, f"The workflow could not be triggered ({status}).")


def _check_message(payload: Any) -> str:
    """The first reason the body is not a Workflows card message, or ""."""
    if not isinstance(payload, dict):
        return "The request body must be a JSON object."
    if payload.get("type") != "message":
        return "The property 'type' must be 'message'."
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return "The property 'attachments' must be a non-empty array."
    for i, attachment in enumerate(attachments):
        if not isinstance(attachment, dict):
            return f"attachments[{i}] must be an object."
        if attachment.get("contentType") != CARD_CONTENT_TYPE:
            return f"attachments[{i}].contentType must be '{CARD_CONTENT_TYPE}'."
        card = attachment.get("content")
        if not isinstance(card, dict):
            return f"attachments[{i}].content must be an Adaptive Card object."
        if card.get("type") != "AdaptiveCard":
            return f"attachments[{i}].content.type must be 'AdaptiveCard'."
        if not isinstance(card.get("version"), str) or not card["version"]:
            return f"attachments[{i}].content.version must be a version string like '1.4'."
        body = card.get("body")
        if not isinstance(body, list):
            return f"attachments[{i}].content.body must be an array of card elements."
        problem = _check_elements(body, f"attachments[{i}].content.body")
        if problem:
            return problem
    return ""


def _check_elements(elements: list[Any], where: str) -> str:
    for j, element in enumerate(elements):
        if not isinstance(element, dict) or not isinstance(element.get("type"), str):
            return f"{where}[{j}] must be an object with a 'type'."
        if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
            return f"{where}[{j}] is a TextBlock without a 'text' string."
        for key in ("items", "columns"):
            nested = element.get(key)
            if isinstance(nested, list):
                problem = _check_elements(nested, f"{where}[{j}].{key}")
                if problem:
                    return problem
    return ""


def _texts(elements: list[Any]) -> list[str]:
    """The text a reader sees, in order: TextBlocks, RichTextBlock runs and FactSet facts."""
    out: list[str] = []
    for element in elements:
        if not isinstance(element, dict):
            continue
        kind = element.get("type")
        if kind == "TextBlock":
            out.append(str(element.get("text", "")))
        elif kind == "RichTextBlock":
            runs = element.get("inlines", [])
            out.append("".join(r.get("text", "") if isinstance(r, dict) else str(r) for r in runs))
        elif kind == "FactSet":
            for fact in element.get("facts", []):
                if isinstance(fact, dict):
                    out.append(f"{fact.get('title', '')}: {fact.get('value', '')}")
        for key in ("items", "columns"):
            nested = element.get(key)
            if isinstance(nested, list):
                out.extend(_texts(nested))
    return out
