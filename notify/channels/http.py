"""Helpers the core adapters share (email, sms, slack, webhook) for reading a provider's answer.

A provider's answer is read once (status, headers, JSON or text), its wait hints turned into
seconds, and a failure into a one-line, secret-free `Receipt` that says whether a retry may help.
httpx is only imported for type checking here: adapters are imported by `notify check`, which
must stay fast.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from notify.channels.base import Channel, Receipt
from notify.secrets import redact

if TYPE_CHECKING:
    import httpx

MAX_ERROR = 300  # one line in a table or the journal, not a provider's whole HTML error page


def label(channel: Channel) -> str:
    """How errors name a channel: "slack channel 'ops-slack'"."""
    return f"{channel.spec.type} channel {channel.name!r}"


def one_line(text: object, limit: int = MAX_ERROR) -> str:
    """`text` redacted, on one line and at most `limit` characters."""
    flat = " ".join(redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def json_or_text(response: httpx.Response) -> Any:
    """The body as parsed JSON when it is JSON, else its text ("ok", an HTML error page)."""
    text = response.text
    if text.strip():
        try:
            return response.json()
        except ValueError:
            pass
    return text


def json_dict(response: httpx.Response) -> dict[str, Any]:
    """The body when it is a JSON object, else {}."""
    body = json_or_text(response)
    return body if isinstance(body, dict) else {}


def body_snippet(response: httpx.Response, limit: int = 200) -> str:
    """A short, tag-free, one-line rendering of a body, for errors quoting a provider."""
    text = re.sub(r"<[^>]+>", " ", response.text)  # an HTML error page from a proxy
    return one_line(text, limit) or f"HTTP {response.status_code}"


def is_retryable_status(status: int) -> bool:
    """429 (rate limited), 408 (request timeout) and 5xx may succeed later; other 4xx will not."""
    return status in (408, 429) or 500 <= status <= 599


def retry_after(headers: Mapping[str, str], status: int) -> float | None:
    """Seconds the provider asked us to wait: Retry-After, else a rate-limit reset header.

    A reset header only counts when the answer was a 429 or the remaining allowance is 0; on a
    successful answer it just says when the window rolls over.
    """
    from notify.delivery.backoff import parse_retry_after, seconds_until

    wait = parse_retry_after(headers.get("retry-after"))
    if wait is not None:
        return wait
    remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
    if status != 429 and remaining != "0":
        return None
    after = headers.get("x-ratelimit-reset-after")  # Discord style: seconds, float
    if after:
        return seconds_until(after)
    # epoch seconds (X, Bluesky), ISO 8601 (Mastodon) or a delta: seconds_until reads them all
    for name in ("x-rate-limit-reset", "x-ratelimit-reset", "ratelimit-reset"):
        if headers.get(name):
            return seconds_until(headers[name])
    return None


def failed(
    error: str,
    *,
    status_code: int | None = None,
    retryable: bool = False,
    retry_after: float | None = None,
) -> Receipt:
    """A failed Receipt with its error made one line and secret-free."""
    return Receipt(
        ok=False,
        error=one_line(error),
        retryable=retryable,
        retry_after=retry_after if retryable else None,
        status_code=status_code,
    )


def receipt_from_status(
    response: httpx.Response, error: str, *, retryable: bool | None = None
) -> Receipt:
    """A failed Receipt for an HTTP answer: retryable by status unless told, with its wait hint."""
    status = response.status_code
    again = is_retryable_status(status) if retryable is None else retryable
    return failed(
        error,
        status_code=status,
        retryable=again,
        retry_after=retry_after(response.headers, status) if again else None,
    )


@contextmanager
def scrubbed_network_errors() -> Iterator[None]:
    """Re-raise httpx network errors with secrets removed from their text.

    Their messages can quote a request URL that holds a credential (a Slack webhook). The type is
    kept, so the dispatcher still sees a retryable network error; the original, with its request
    URL, is dropped from the chain on purpose.
    """
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise type(exc)(redact(str(exc))) from None
