"""The base of adapters that talk HTTP: one request, its answer read once, failures as Receipts.

`HttpChannel.call` sends one `Request` through the shared client with the channel's timeout,
re-raises network errors with every secret removed from their text, and reads the provider's
answer once (`Answer`: status, headers, JSON or text), up to a size cap (notify.channels.reading)
and within the timeout, body included. An adapter supplies `build_request` (a
rendered message -> a Request) and `parse` (the Answer -> a Receipt); one that needs several
requests for a delivery (Slack edits its first message, Bluesky keeps a session) overrides `send`
and uses `call` itself. Failures become one-line, secret-free Receipts that say whether a retry
may help and after how long: `Retry-After` and the providers' rate-limit reset headers are read
here, by `parse_retry_after` and `seconds_until`, for every adapter.

httpx is only imported when a request is sent: adapters are imported by `notify check`, which must
stay fast.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from notify.channels.base import (
    Channel,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.reading import read_capped
from notify.secrets import redact

if TYPE_CHECKING:
    import httpx

MAX_ERROR = 300  # one line in a table or the journal, not a provider's whole HTML error page

# A bare number at or above this (2001-09-09) is an epoch time; below it, seconds from now.
# Providers disagree (X and Bluesky send epoch seconds, the IETF RateLimit draft a delta), and
# no real reset is 30 years away, so the size alone tells them apart.
_EPOCH_THRESHOLD = 1_000_000_000
_TAGS = re.compile(r"<[^>]+>")  # an HTML error page from a proxy


def label(channel: Channel) -> str:
    """How errors name a channel: "slack channel 'ops-slack'"."""
    return f"{channel.spec.type} channel {channel.name!r}"


def one_line(text: object, limit: int = MAX_ERROR) -> str:
    """`text` redacted, on one line and at most `limit` characters."""
    flat = " ".join(redact(str(text)).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


# --- one request, one answer --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request an adapter wants sent; the channel adds its timeout."""

    method: str
    url: str
    json: Any = None  # a JSON body (httpx encodes it as UTF-8)
    content: bytes | None = None  # or the exact bytes (a signed webhook body)
    data: Mapping[str, str] | None = None  # or a form (Twilio)
    headers: Mapping[str, str] | None = None
    auth: tuple[str, str] | None = None  # HTTP Basic


@dataclass(frozen=True)
class Answer:
    """A provider's HTTP answer, read once."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)  # case-insensitive (httpx.Headers)
    data: Any = None  # the parsed JSON body, None when it was not JSON
    text: str = ""  # the raw body, for providers that answer in plain text or HTML
    truncated: bool = False  # the body went past MAX_ANSWER_BYTES; `text` is its start

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def fields(self) -> dict[str, Any]:
        """The body when it is a JSON object, else {}."""
        return self.data if isinstance(self.data, dict) else {}

    @property
    def retry_after_header(self) -> float | None:
        """Seconds the standard Retry-After header asks for; None when absent or unreadable."""
        return parse_retry_after(self.headers.get("retry-after"))

    def snippet(self, limit: int = 200) -> str:
        """A short, tag-free, one-line, redacted rendering of the body, for errors quoting it."""
        return one_line(_TAGS.sub(" ", self.text), limit) or f"HTTP {self.status}"


def read_answer(response: httpx.Response) -> Answer:
    """Status, headers and body (JSON when it parses) of a response already read whole."""
    return answer_from(response, response.content)


def answer_from(response: httpx.Response, body: bytes, *, truncated: bool = False) -> Answer:
    """The Answer for `response` whose (decoded, capped) body is `body`."""
    try:
        text = body.decode(response.charset_encoding or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = body.decode("utf-8", errors="replace")
    data: Any = None
    if text.strip() and not truncated:
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # not JSON, or nested deep enough to hurt
            data = None
    return Answer(
        status=response.status_code,
        headers=response.headers,
        data=data,
        text=text,
        truncated=truncated,
    )


@contextmanager
def scrubbed_network_errors() -> Iterator[None]:
    """Re-raise httpx network errors with secrets removed from their text.

    Their messages can quote a request URL that holds a credential (a Slack webhook, a Telegram
    bot token). The type is kept, so the dispatcher still sees a retryable network error; the
    original, with its request URL, is dropped from the chain on purpose.
    """
    import httpx

    try:
        yield
    except httpx.TransportError as exc:
        raise type(exc)(redact(str(exc))) from None


async def call(http: httpx.AsyncClient, request: Request, timeout: float) -> Answer:
    """Send `request` and read its answer; network errors propagate, scrubbed of secrets.

    `timeout` bounds the whole exchange, the body included: a provider trickling an endless
    answer is cut off like one that never answers (TimeoutError). The body is read up to
    `MAX_ANSWER_BYTES` and the rest left unread (`Answer.truncated`).
    """
    options: dict[str, Any] = {}
    for name in ("json", "content", "data", "auth"):
        value = getattr(request, name)
        if value is not None:
            options[name] = value
    # Only encodings read_capped can inflate a bounded amount at a time (no br, no zstd).
    options["headers"] = {"Accept-Encoding": "gzip, deflate", **(request.headers or {})}
    with scrubbed_network_errors():
        async with asyncio.timeout(timeout):
            async with http.stream(
                request.method, request.url, timeout=timeout, **options
            ) as response:
                body, truncated = await read_capped(response)
    return answer_from(response, body, truncated=truncated)


# --- what a failed answer means -----------------------------------------------------------------


def is_retryable_status(status: int) -> bool:
    """429 (rate limited), 408 (request timeout) and 5xx may succeed later; other 4xx will not."""
    return status in (408, 429) or 500 <= status <= 599


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


def failed_answer(answer: Answer, error: str, *, retryable: bool | None = None) -> Receipt:
    """A failed Receipt for an HTTP answer: retryable by status unless told, with its wait hint."""
    status = answer.status
    again = is_retryable_status(status) if retryable is None else retryable
    return failed(
        error,
        status_code=status,
        retryable=again,
        retry_after=retry_after(answer.headers, status) if again else None,
    )


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
    text = _TAGS.sub(" ", answer.text)
    return " ".join(text.split())[:200] or f"HTTP {answer.status}"


class HttpChannel(Channel):
    """A channel type that talks HTTP: sends, scrubs and reads answers for its adapter.

    The usual adapter implements `build_request` and `parse`, and `send` joins them; an adapter
    that needs more than one request per delivery overrides `send` and uses `call`.
    """

    async def call(self, ctx: DeliveryContext, request: Request) -> Answer:
        """Send one request through the shared client with this channel's timeout."""
        return await call(ctx.http, request, self.timeout)

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        request = self.build_request(message, recipient, thread, ctx)
        return self.parse(await self.call(ctx, request), recipient, thread)

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        """The one request that delivers `message` (adapters that keep `send` implement this)."""
        raise NotImplementedError(f"{type(self).__name__} implements neither send nor this")

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        """The provider's answer to `build_request`'s request, as a Receipt."""
        raise NotImplementedError(f"{type(self).__name__} implements neither send nor this")

    def failure(
        self,
        answer: Answer,
        *,
        auth: str,
        hint: str = "",
        words: str | None = None,
        retry_after: float | None = None,
    ) -> Receipt:
        """The usual mapping of a failed answer to a Receipt.

        `auth` says what to check when the credentials are refused (401/403); `hint` what to
        check for any other final rejection; `words` overrides what the provider said.
        """
        who = label(self)
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
        return failed(
            error,
            status_code=status,
            retryable=is_retryable_status(status),
            retry_after=retry_after,
        )


# --- how long a provider asked us to wait -------------------------------------------------------


def retry_after(headers: Mapping[str, str], status: int) -> float | None:
    """Seconds the provider asked us to wait: Retry-After, else a rate-limit reset header.

    A reset header only counts when the answer was a 429 or the remaining allowance is 0; on a
    successful answer it just says when the window rolls over.
    """
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


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delay-seconds or an HTTP-date. None when absent or
    unreadable (the caller then backs off on its own); never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds = _number(text)
    if seconds is not None:
        return max(0.0, seconds)
    return _until(_http_date(text), now)


def seconds_until(reset: str | float | int | None, *, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from a reset header.

    Takes epoch seconds (X, Bluesky, Discord: `1732270000`, `1732270000.5`), an ISO-8601 time
    (Mastodon: `2026-11-22T18:00:00.000Z`) or an HTTP-date; a small number is read as seconds
    from now. None when absent, empty or unreadable; never negative.
    """
    if reset is None:
        return None
    number = _number(reset) if isinstance(reset, str) else float(reset)
    if number is not None:
        if not math.isfinite(number):
            return None
        if number < _EPOCH_THRESHOLD:
            return max(0.0, number)
        return max(0.0, number - _now(now).timestamp())
    text = str(reset).strip()
    return _until(_iso(text) or _http_date(text), now)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _http_date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _until(moment: datetime | None, now: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # HTTP-dates are GMT; a zone-less ISO time is taken as UTC too
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - _now(now)).total_seconds())


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
