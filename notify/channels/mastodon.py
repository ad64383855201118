"""Mastodon (any instance) through `POST /api/v1/statuses`.

Each update replies to the previous update's status. Every post carries an `Idempotency-Key`
derived from the delivery, so a post retried after a lost answer, even by `notify retry` after a
crash, is returned by the instance instead of being posted twice (it keeps keys for an hour).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from notify.channels.base import (
    ChannelCheckError,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import (
    Answer,
    HttpChannel,
    Request,
    label,
    one_line,
    provider_words,
    seconds_until,
)

DEFAULT_MAX_CHARACTERS = 500
AUTH_HINT = "check the access token in channels.yaml and its write:statuses scope"
_LANGUAGE = re.compile(r"^[a-z]{2}$")


def idempotency_key(delivery_key: str) -> str:
    """The same key for every attempt of one delivery, in this run or a later `notify retry`."""
    return hashlib.sha256(f"notify:{delivery_key}".encode()).hexdigest()


class MastodonChannel(HttpChannel):
    spec = ChannelSpec(
        type="mastodon",
        fields=(
            Field("token", required=True, secret=True, help="an access token with write:statuses"),
            Field(
                "visibility",
                default="public",
                choices=("public", "unlisted", "private", "direct"),
                help="who sees the posts",
            ),
            Field("language", help="the posts' language, a 2-letter ISO 639-1 code like en"),
            Field(
                "max_characters",
                "int",
                default=DEFAULT_MAX_CHARACTERS,
                help="the instance's post limit (`notify check --online` reads the real one)",
            ),
            Field("spoiler_text", help="a content warning shown before each post"),
        ),
        part="short",
        format="plain",
        threading="each update replies to the previous update's post",
        summary="a Mastodon account, on any instance (base_url)",
    )

    def target(self) -> str:
        return urlsplit(self.base_url).netloc.rpartition("@")[2] or self.name  # no credentials

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        if not self.settings.base_url:
            problems.append(
                ("base_url", "is required for mastodon: the instance, like https://mastodon.social")
            )
        language = self.settings.language
        if language and not _LANGUAGE.match(str(language)):
            problems.append(
                ("language", f"{language!r} is not a 2-letter ISO 639-1 code like en, de or fr")
            )
        if self.settings.max_characters < 1:
            problems.append(("max_characters", "must be a positive number, like 500"))
        return problems

    def measure(self, message: Message) -> Length:
        from notify.render.length import mastodon_length

        spoiler = self.settings.spoiler_text or ""
        return mastodon_length(spoiler + message.text, self.settings.max_characters)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.token}"}

    def build_body(self, message: Message, thread: ThreadRef) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status": message.text,
            "visibility": self.settings.visibility,
        }
        if self.settings.language:
            body["language"] = self.settings.language
        if self.settings.spoiler_text:
            body["spoiler_text"] = self.settings.spoiler_text
        if thread.previous and thread.previous.get("id"):
            body["in_reply_to_id"] = str(thread.previous["id"])
        return body

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        return Request(
            "POST",
            f"{self.base_url}/api/v1/statuses",
            json=self.build_body(message, thread),
            headers={**self._headers(), "Idempotency-Key": idempotency_key(ctx.delivery_key)},
        )

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        data = answer.data if isinstance(answer.data, Mapping) else {}
        if answer.ok and data.get("id"):
            status_id = str(data["id"])
            return Receipt(
                ok=True,
                provider_message_id=status_id,
                thread_data={"id": status_id, "url": data.get("url")},
                status_code=answer.status,
            )
        return self._failure(answer)

    def thread_gone(self, receipt: Receipt) -> bool:
        # A reply's POST answers 404 only for its in_reply_to_id: the post it names is gone.
        return receipt.status_code == 404

    def _failure(self, answer: Answer) -> Receipt:
        retry_after = None
        if answer.status == 429:
            retry_after = seconds_until(answer.headers.get("x-ratelimit-reset"))
            if retry_after is None:
                retry_after = answer.retry_after_header
        hint = ""
        if answer.status == 422:
            hint = "check the text, language and visibility against the instance's rules"
        elif answer.status == 404:
            hint = "check base_url (the instance) and that the earlier post still exists"
        return self.failure(answer, auth=AUTH_HINT, hint=hint, retry_after=retry_after)

    async def check_online(self, ctx: DeliveryContext) -> str:
        account = await self._get(ctx, "/api/v1/accounts/verify_credentials", AUTH_HINT)
        instance = await self._get(ctx, "/api/v2/instance", "check base_url (the instance)")
        domain = instance.get("domain") or self.target()
        configuration = instance.get("configuration")
        statuses = configuration.get("statuses") if isinstance(configuration, Mapping) else None
        allowed = statuses.get("max_characters") if isinstance(statuses, Mapping) else None
        found = f"account @{account.get('acct') or account.get('username')} on {domain}"
        if not isinstance(allowed, int):
            return found
        found = f"{found}; the instance allows {allowed} characters"
        configured = self.settings.max_characters
        if allowed != configured:
            found = f"{found}, but max_characters is {configured}: set it to {allowed}"
        return found

    async def _get(self, ctx: DeliveryContext, path: str, hint: str) -> Mapping[str, Any]:
        answer = await self.call(
            ctx, Request("GET", f"{self.base_url}{path}", headers=self._headers())
        )
        if not answer.ok or not isinstance(answer.data, Mapping):
            said = provider_words(answer)
            raise ChannelCheckError(
                one_line(f"{label(self)}: GET {path} failed ({answer.status}: {said}): {hint}")
            )
        return answer.data
