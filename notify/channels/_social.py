"""Helpers the chat and social adapters share (teams, discord, telegram, mastodon, bluesky, x).

On top of notify.channels.http (labels, redaction, network-error scrubbing) they read a
provider's answer once (status, headers, JSON or text), find the provider's own words for a
failure in the error shapes these APIs use, and turn both into a one-line, secret-free `Receipt`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from notify.channels.base import Channel, Receipt
from notify.channels.http import is_retryable_status, label, one_line

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True)
class Answer:
    """A provider's HTTP answer, read once."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive (httpx.Headers)
    data: Any = None  # the parsed JSON body, None when it was not JSON
    text: str = ""  # the raw body, for providers that answer in plain text or HTML

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def read_answer(response: httpx.Response) -> Answer:
    """Status, headers and body (JSON when it parses) of a response."""
    text = response.text
    data: Any = None
    if text.strip():
        try:
            data = response.json()
        except ValueError:
            data = None
    return Answer(status=response.status_code, headers=response.headers, data=data, text=text)


def provider_words(answer: Answer) -> str:
    """What the provider said went wrong, from the error shapes these APIs use, else the body."""
    data = answer.data
    if isinstance(data, Mapping):
        errors = data.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
            first = errors[0]
            words = first.get("message") or first.get("detail") or first.get("title")
            if words:
                code = first.get("code")
                return f"{words} (code {code})" if code is not None else str(words)
        error, message = data.get("error"), data.get("message")
        if isinstance(error, str) and isinstance(message, str) and error and message:
            return message if message.startswith(error) else f"{error}: {message}"  # XRPC
        for key in ("detail", "description", "message", "error_description", "title"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return value
        error = data.get("error")
        if isinstance(error, Mapping):  # Power Automate: {"error": {"code", "message"}}
            return str(error.get("message") or error.get("code") or "")
        if isinstance(error, str) and error:
            return error
    text = re.sub(r"<[^>]+>", " ", answer.text)  # an HTML error page from a proxy
    return " ".join(text.split())[:200] or f"HTTP {answer.status}"


def header_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a standard Retry-After header (seconds or HTTP-date)."""
    from notify.delivery.backoff import parse_retry_after

    return parse_retry_after(headers.get("retry-after"))


def reset_after(value: str | float | int | None) -> float | None:
    """Seconds until a rate-limit reset given as epoch seconds or an ISO-8601 time."""
    from notify.delivery.backoff import seconds_until

    if value is None or value == "":
        return None
    return seconds_until(value)


def failure(
    channel: Channel,
    answer: Answer,
    *,
    auth: str,
    hint: str = "",
    words: str | None = None,
    retry_after: float | None = None,
) -> Receipt:
    """The usual mapping of a failed answer to a Receipt.

    `auth` says what to check when the credentials are refused (401/403); `hint` what to check
    for any other final rejection; `words` overrides what the provider said.
    """
    who = label(channel)
    status = answer.status
    said = words if words is not None else provider_words(answer)
    if status in (401, 403):
        error = f"{who} was refused by the provider ({status}: {said}): {auth}"
    elif status == 429:
        wait = f"; it asked to wait {retry_after:g} s" if retry_after is not None else ""
        error = f"{who} hit the provider's rate limit ({said}){wait}"
    elif status >= 500:
        error = f"{who}: the provider failed ({status}: {said}); a later retry may succeed"
    else:
        error = f"{who}: the provider rejected the message ({status}: {said})"
        if hint:
            error = f"{error}: {hint}"
    retryable = is_retryable_status(status)
    return Receipt(
        ok=False,
        error=one_line(error),
        retryable=retryable,
        retry_after=retry_after if retryable else None,
        status_code=status,
    )
