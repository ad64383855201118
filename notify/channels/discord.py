"""Discord through a channel webhook (`POST …/webhooks/{id}/{token}?wait=true`).

Webhooks cannot reply to a message. With `forum: true` (a webhook of a forum channel) the first
update of an incident opens a forum post named after it and later updates go into that thread;
otherwise each update is a plain message in the channel.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
)

MAX_CONTENT = 2000
MAX_USERNAME = 80
MAX_THREAD_NAME = 100
AUTH_HINT = "check the webhook URL in channels.yaml (the webhook may have been deleted)"
_UNKNOWN_CHANNEL = 10003  # Discord's code when a thread_id no longer exists
_HINTS: dict[Any, str] = {  # Discord's error codes that a setting in channels.yaml explains
    220001: "this webhook belongs to a forum channel: set forum: true",
    220003: "forum: true needs the webhook of a forum channel",
}


class DiscordChannel(HttpChannel):
    spec = ChannelSpec(
        type="discord",
        fields=(
            Field(
                "webhook_url",
                "url",
                required=True,
                secret=True,
                help="the channel's webhook URL (Channel settings > Integrations > Webhooks)",
            ),
            Field("username", help="the name the posts show (at most 80 characters)"),
            Field("avatar_url", "url", help="the picture the posts show"),
            Field(
                "forum",
                "bool",
                default=False,
                help="true for a forum channel's webhook: one forum post per incident",
            ),
        ),
        part="body",
        format="discord",
        threading="forum: true posts each incident as a forum thread; else plain messages",
        summary="a Discord channel or forum, through a webhook",
    )

    def target(self) -> str:
        return "webhook"

    def validate(self) -> list[tuple[str, str]]:
        problems: list[tuple[str, str]] = []
        name = self.settings.username
        if name is not None:
            if not 1 <= len(name) <= MAX_USERNAME:
                problems.append(("username", f"must be 1 to {MAX_USERNAME} characters long"))
            # Discord refuses webhook names containing these words (400 Invalid Form Body).
            elif any(word in name.lower() for word in ("discord", "clyde")):
                problems.append(
                    ("username", "Discord refuses names containing 'discord' or 'clyde'")
                )
        return problems

    def measure(self, message: Message) -> Length:
        from notify.render.length import char_length

        return char_length(message.text, MAX_CONTENT)

    def _forum_thread(self, thread: ThreadRef) -> str | None:
        """The forum thread of this incident, once its first update opened one."""
        if not self.settings.forum or not thread.root:
            return None
        channel_id = thread.root.get("channel_id")
        return str(channel_id) if channel_id else None

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        """A POST to the webhook URL (the user's own query kept) with the update's JSON body."""
        import httpx

        params = {"wait": "true"}
        body: dict[str, Any] = {
            "content": message.text,
            # Nobody is pinged, whatever the text says (@everyone, roles, users).
            "allowed_mentions": {"parse": []},
        }
        if self.settings.username:
            body["username"] = self.settings.username
        if self.settings.avatar_url:
            body["avatar_url"] = self.settings.avatar_url
        thread_id = self._forum_thread(thread)
        if thread_id:
            params["thread_id"] = thread_id
        elif self.settings.forum:
            title = message.subject or str(ctx.incident.get("title") or "Incident")
            body["thread_name"] = title[:MAX_THREAD_NAME]
        url = httpx.URL(self.settings.webhook_url).copy_merge_params(params)
        return Request("POST", str(url), json=body)

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        if answer.ok:
            data = answer.data if isinstance(answer.data, Mapping) else {}
            message_id = str(data["id"]) if data.get("id") else None
            thread_data: dict[str, Any] = {}
            if message_id:
                thread_data = {"id": message_id, "channel_id": str(data.get("channel_id") or "")}
            return Receipt(
                ok=True,
                provider_message_id=message_id,
                thread_data=thread_data,
                status_code=answer.status,
            )
        return self._failure(answer, thread)

    def _failure(self, answer: Answer, thread: ThreadRef) -> Receipt:
        data = answer.data if isinstance(answer.data, Mapping) else {}
        if answer.status == 429:
            return self.failure(answer, auth=AUTH_HINT, retry_after=_retry_after(answer))
        if data.get("code") == _UNKNOWN_CHANNEL and self._forum_thread(thread):
            return self.failure(
                answer,
                auth=AUTH_HINT,
                hint="the incident's forum post was deleted; open a new incident to start another",
            )
        if answer.status == 404:
            return self.failure(answer, auth=AUTH_HINT, hint=AUTH_HINT)
        words = _form_errors(data) if data else None
        return self.failure(
            answer, auth=AUTH_HINT, hint=_HINTS.get(data.get("code"), ""), words=words
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        # GET on a webhook URL returns the webhook itself: proof of the URL, nothing posted.
        answer = await self.call(ctx, Request("GET", self.settings.webhook_url))
        data = answer.data if isinstance(answer.data, Mapping) else {}
        if not answer.ok:
            said = provider_words(answer)
            raise ChannelCheckError(one_line(f"{label(self)}: {answer.status} {said}: {AUTH_HINT}"))
        return f"webhook {data.get('name') or '?'!r} of channel {data.get('channel_id') or '?'}"


def _retry_after(answer: Answer) -> float | None:
    """Discord says how long to wait in its 429 body (float seconds), else in headers."""
    data = answer.data if isinstance(answer.data, Mapping) else {}
    for value in (data.get("retry_after"), answer.headers.get("x-ratelimit-reset-after")):
        try:
            if value is not None:
                return max(0.0, float(value))
        except (TypeError, ValueError):
            continue
    return answer.retry_after_header


def _form_errors(data: Mapping[str, Any]) -> str | None:
    """Discord's {code, message, errors} as one line: "Invalid Form Body: content: Must be …"."""
    message = data.get("message")
    if not message:
        return None
    details: list[str] = []

    def walk(node: Any, path: list[str]) -> None:
        if isinstance(node, Mapping):
            for item in node.get("_errors") or []:
                if isinstance(item, Mapping) and item.get("message"):
                    details.append(f"{'.'.join(path) or 'body'}: {item['message']}")
            for key, value in node.items():
                if key != "_errors":
                    walk(value, [*path, str(key)])

    walk(data.get("errors"), [])
    text = f"{message}: {'; '.join(details)}" if details else str(message)
    code = data.get("code")
    return f"{text} (code {code})" if code else text
