"""The email channel's SendGrid path (`provider: sendgrid`): Mail Send, many recipients a request.

One `POST /v3/mail/send` carries up to 1,000 deliveries, one personalization each, so every
recipient still gets a message of their own: their own To, Message-ID, thread headers
(In-Reply-To / References from their earlier messages of the incident), unsubscribe link, and
`custom_args.delivery_key` (the journal's key, echoed in SendGrid's event webhooks).

SendGrid sets its own Message-ID unless told otherwise, and its answer only says `X-Message-Id`
(one id per request). So each personalization sets a Message-ID of ours, which later updates
reply to (threads carry on if the channel moves between smtp and sendgrid), and the provider id
of a delivery is `<X-Message-Id>.<personalization index>`.

Rendered messages usually differ by locale only, and a batch of identical messages sends the
content once. When templates use `recipient.*`, the part that differs (between the batch's common
start and end) goes in per-personalization `substitutions`; past SendGrid's 10,000 bytes of
substitutions per personalization, the batch is sent as one request per distinct message instead.
"""

from __future__ import annotations

import functools
import re
import secrets as pyrandom
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parseaddr
from typing import Any

from notify.channels.base import (
    BatchItem,
    ChannelCheckError,
    DeliveryContext,
    Message,
    Receipt,
    Recipient,
    Settings,
    ThreadRef,
)
from notify.channels.email.headers import AUTO_SUBMITTED, EmailHeaders, one_line_header
from notify.channels.http import Answer, Request, call, failed, failed_answer, one_line

DEFAULT_BASE_URL = "https://api.sendgrid.com"  # EU accounts: https://api.eu.sendgrid.com
MAX_RECIPIENTS = 1000  # per request, to + cc + bcc over every personalization
SUBSTITUTIONS_LIMIT = 10_000  # bytes of substitutions per personalization
_PERSONALIZATION = re.compile(r"^personalizations\.(\d+)(?:\.|$)")


@dataclass
class MailRequest:
    """One Mail Send body and the items it carries, in personalization order."""

    body: dict[str, Any]
    items: list[BatchItem]
    message_ids: list[str]  # our Message-ID of each personalization
    indexes: list[int] = field(default_factory=list)  # each item's place in the whole batch


class SendgridProvider:
    """Sends an email channel's messages through SendGrid's Mail Send API, many a request."""

    def __init__(self, settings: Settings, headers: EmailHeaders, who: str) -> None:
        self.headers = headers
        self.who = who  # "email channel 'customers-email'", for errors
        self.api_key = settings.api_key or ""
        self.base_url = (settings.base_url or DEFAULT_BASE_URL).rstrip("/")
        self.timeout = settings.timeout
        self.sender = _address(settings.from_ or "")
        self.reply_to = _address(settings.reply_to) if settings.reply_to else None

    def validate(self) -> list[tuple[str, str]]:
        if not self.api_key:
            return [("api_key", "provider sendgrid needs api_key, e.g. ${SENDGRID_API_KEY}")]
        return []

    def batch_size(self) -> int:
        return MAX_RECIPIENTS

    async def close(self) -> None:
        """Nothing to release: requests go through the shared HTTP client."""

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"}

    # --- building -------------------------------------------------------------------------------

    def requests(self, items: Sequence[BatchItem]) -> list[MailRequest]:
        """Usually one request for all items; one per distinct message when they can't share."""
        first = items[0].message
        if all(item.message == first for item in items):
            return [self._request(list(items), range(len(items)), first, None)]
        shared = _shared_content(items)
        if shared is not None:
            return [self._request(list(items), range(len(items)), first, shared)]
        groups: dict[Message, list[int]] = {}
        for index, item in enumerate(items):
            groups.setdefault(item.message, []).append(index)
        return [
            self._request([items[i] for i in indexes], indexes, message, None)
            for message, indexes in groups.items()
        ]

    def _request(
        self,
        items: list[BatchItem],
        indexes: Sequence[int],
        message: Message,
        shared: _Shared | None,
    ) -> MailRequest:
        subject_of = functools.lru_cache(maxsize=None)(self.headers.subject)  # per message
        subjects = {subject_of(item.message) for item in items}
        personalizations: list[dict[str, Any]] = []
        message_ids: list[str] = []
        for position, item in enumerate(items):
            message_id = self.headers.new_message_id()
            message_ids.append(message_id)
            to: dict[str, Any] = {"email": item.recipient.address}
            name = item.recipient.fields.get("name")
            if name:
                to["name"] = one_line_header(str(name))
            person: dict[str, Any] = {
                "to": [to],
                "headers": self.headers.personal(item.recipient, item.thread, message_id),
                "custom_args": {"delivery_key": item.delivery_key},
            }
            if len(subjects) > 1:
                person["subject"] = subject_of(item.message)
            if shared is not None:
                person["substitutions"] = shared.values[position]
            personalizations.append(person)
        body: dict[str, Any] = {"personalizations": personalizations, "from": self.sender}
        if self.reply_to:
            body["reply_to"] = self.reply_to
        if len(subjects) == 1:
            body["subject"] = subjects.pop()
        text, html = (shared.text, shared.html) if shared else (message.text, message.html)
        # text/plain first, text/html last (the preferred part; SendGrid insists on the order)
        content = [{"type": "text/plain", "value": text or " "}]
        if html:
            content.append({"type": "text/html", "value": html})
        body["content"] = content
        body["headers"] = dict(AUTO_SUBMITTED)
        return MailRequest(body, items, message_ids, list(indexes))

    # --- sending --------------------------------------------------------------------------------

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        """One delivery: a batch of one."""
        item = BatchItem(message, recipient, thread, ctx.delivery_key)
        return (await self.send_batch([item], ctx))[0]

    async def send_batch(self, items: Sequence[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        import httpx

        requests = self.requests(items)
        receipts: list[Receipt | None] = [None] * len(items)
        for request in requests:
            try:
                answers = await self._post(request, ctx)
            except (OSError, httpx.TransportError) as exc:
                if len(requests) == 1:
                    raise  # the dispatcher retries the whole batch
                # Several requests: keep what the others got, fail only this one's items.
                words = one_line(exc, 200) or type(exc).__name__
                trouble = failed(f"connection trouble with SendGrid: {words}", retryable=True)
                answers = [trouble] * len(request.items)
            for index, receipt in zip(request.indexes, answers, strict=True):
                receipts[index] = receipt
        return [r for r in receipts if r is not None]

    async def _post(self, request: MailRequest, ctx: DeliveryContext) -> list[Receipt]:
        url = f"{self.base_url}/v3/mail/send"
        post = Request("POST", url, json=request.body, headers=self._auth())
        answer = await call(ctx.http, post, self.timeout)
        if answer.ok:
            # 202 Accepted, no body; X-Message-Id names the request (SendGrid adds ".N..."
            # per recipient in its events, so the index keeps ours apart).
            request_id = answer.headers.get("x-message-id")
            return [
                Receipt(
                    ok=True,
                    provider_message_id=f"{request_id}.{i}" if request_id else message_id,
                    thread_data={"message_id": message_id},
                    status_code=answer.status,
                )
                for i, message_id in enumerate(request.message_ids)
            ]
        return self._refused(answer, len(request.items))

    def _refused(self, answer: Answer, count: int) -> list[Receipt]:
        status = answer.status
        who = self.who
        errors = _errors(answer)
        if status == 400 and errors:
            return self._bad_request(errors, count, status)
        said = _describe(errors[0]) if errors else answer.snippet()
        if status in (401, 403):
            words = "rejected the api_key" if status == 401 else "refused the api_key"
            receipt = failed(
                f"SendGrid {words} of {who} (HTTP {status}): {said} — check api_key "
                "(e.g. ${SENDGRID_API_KEY}); it needs the mail.send scope",
                status_code=status,
            )
        elif status == 413:
            receipt = failed(
                f"SendGrid refused the batch as too large (HTTP 413): {said} — the message "
                "is too big for one request; shorten the template's body",
                status_code=status,
            )
        elif status == 429:
            receipt = failed_answer(
                answer, f"SendGrid rate limit (HTTP 429): {said} — notify waits and retries"
            )
        else:
            receipt = failed_answer(answer, f"SendGrid answered HTTP {status}: {said}")
        return [receipt] * count

    def _bad_request(self, errors: list[dict[str, Any]], count: int, status: int) -> list[Receipt]:
        """A 400 naming personalizations fails those recipients only; the others go again."""
        blamed: dict[int, dict[str, Any]] = {}
        for error in errors:
            match = _PERSONALIZATION.match(str(error.get("field") or ""))
            if match is None:
                blamed = {}
                break
            blamed.setdefault(int(match.group(1)), error)
        if not blamed or any(i >= count for i in blamed):
            receipt = failed(
                f"SendGrid refused the mail (HTTP 400): {_describe(errors[0])}", status_code=status
            )
            return [receipt] * count
        innocent = failed(
            "not sent: SendGrid refused another recipient of the same request; sending again "
            "without it",
            status_code=status,
            retryable=True,
        )
        return [
            failed(
                f"SendGrid refused this recipient (HTTP 400): {_describe(blamed[i])}",
                status_code=status,
            )
            if i in blamed
            else innocent
            for i in range(count)
        ]

    async def check(self, ctx: DeliveryContext) -> str:
        """GET /v3/scopes: the key works, and may send mail."""
        url = f"{self.base_url}/v3/scopes"
        answer = await call(ctx.http, Request("GET", url, headers=self._auth()), self.timeout)
        who = self.who
        if answer.status in (401, 403):
            raise ChannelCheckError(
                one_line(
                    f"SendGrid rejected the api_key of {who} (HTTP {answer.status}): "
                    "check api_key (e.g. ${SENDGRID_API_KEY})"
                )
            )
        if answer.status != 200:
            raise ChannelCheckError(
                one_line(
                    f"SendGrid answered HTTP {answer.status} at {url}: "
                    f"{answer.snippet()} — check base_url, or try again later"
                )
            )
        scopes = answer.fields.get("scopes")
        if not isinstance(scopes, list) or "mail.send" not in scopes:
            raise ChannelCheckError(
                f"the api_key of {who} works but lacks the mail.send scope: give it "
                "Mail Send access in SendGrid's API key settings"
            )
        return f"api key with mail.send scope at {self.base_url}"


@dataclass
class _Shared:
    """Content common to a batch, with each personalization's own part as a substitution."""

    text: str
    html: str | None
    values: list[dict[str, str]]  # per item: tag -> its own part


def _shared_content(items: Sequence[BatchItem]) -> _Shared | None:
    """One content for differing messages, or None when their own parts are too big for it."""
    texts = [item.message.text for item in items]
    htmls = [item.message.html for item in items]
    if any(h is None for h in htmls) and any(h is not None for h in htmls):
        return None
    every = "".join(texts) + "".join(h or "" for h in htmls)
    tag = "-notify-text-"
    while tag in every:  # a tag must not occur in the mail itself
        tag = f"-notify-text-{pyrandom.token_hex(4)}-"
    text_tag, html_tag = tag, tag.replace("-text-", "-html-", 1)
    text, text_parts = _factor(texts, text_tag)
    html, html_parts = (None, None)
    if htmls[0] is not None:
        html, html_parts = _factor([h or "" for h in htmls], html_tag)
    values: list[dict[str, str]] = []
    for i, own in enumerate(text_parts):
        value = {text_tag: own}
        if html_parts is not None:
            value[html_tag] = html_parts[i]
        size = sum(len(k.encode()) + len(v.encode()) for k, v in value.items())
        if size > SUBSTITUTIONS_LIMIT:
            return None
        values.append(value)
    return _Shared(text, html, values)


def _factor(texts: list[str], tag: str) -> tuple[str, list[str]]:
    """(common start + tag + common end, each text's middle)."""
    start = _common_prefix(texts)
    rests = [t[len(start) :] for t in texts]
    end = _common_prefix([r[::-1] for r in rests])[::-1]
    middles = [r[: len(r) - len(end)] for r in rests]
    return start + tag + end, middles


def _common_prefix(texts: list[str]) -> str:
    """The longest start every text shares (the first and last in sort order share the least)."""
    low, high = min(texts), max(texts)
    for i, char in enumerate(low):
        if char != high[i]:
            return low[:i]
    return low


def _address(value: str) -> dict[str, str]:
    """A SendGrid email object: {"email": address, "name": its display name, if any}."""
    name, address = parseaddr(value)
    out = {"email": address}
    if name:
        out["name"] = one_line_header(name)
    return out


def _errors(answer: Answer) -> list[dict[str, Any]]:
    listed = answer.fields.get("errors")
    if not isinstance(listed, list):
        return []
    return [e for e in listed if isinstance(e, dict)]


def _describe(error: dict[str, Any]) -> str:
    message = one_line(error.get("message") or "no message", 200)
    where = error.get("field")
    return f"{message} (field {where})" if where else message
