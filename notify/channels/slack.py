"""Slack, through the Web API (threads and a status line on the first message) or a webhook.

Web API: an incident's first update is a new message; later ones reply in its thread (always to the
parent's ts, never a reply's) and edit the parent so the channel shows the current status at a
glance. Slack reports most failures as HTTP 200 with {ok: false, error}, so the error code, not the
status, decides. Incoming webhooks return no ts, so they cannot thread or edit.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from notify.channels.base import (
    ChannelCheckError,
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
from notify.channels.http import (
    Answer,
    HttpChannel,
    Request,
    failed,
    failed_answer,
    label,
    one_line,
)

log = logging.getLogger(__name__)

_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{8,}$")
_ID_HINT = (
    "use the channel ID (like C0123456789): in Slack open the channel's details, "
    "it is at the bottom of the About tab"
)
_TOKEN_HINT = "check SLACK_BOT_TOKEN / the token in channels.yaml"
_AUTH_ERRORS = frozenset(
    {"invalid_auth", "not_authed", "token_revoked", "token_expired", "account_inactive"}
)
_RETRYABLE_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
_HINTS: dict[str, str] = {
    "not_in_channel": "invite the app to the channel (/invite @your-app in the channel)",
    "channel_not_found": _ID_HINT + ", and check the app was added to it",
    "is_archived": "the channel is archived: unarchive it or pick another channel",
    "channel_is_archived": "the channel is archived: unarchive it or pick another channel",
    "msg_too_long": "shorten the body block: Slack keeps at most 40,000 characters",
    "no_text": "the rendered message is empty: check the template's body or slack block",
    "missing_scope": "give the app the chat:write scope and reinstall it to the workspace",
    "restricted_action": "a workspace setting stops the app posting there: ask an admin",
    "posting_to_general_channel_denied": "only admins may post in #general: pick a channel",
    "invalid_payload": "Slack could not read the message: report this as a notify bug",
    "invalid_token": "the webhook URL was revoked: create a new one and update webhook_url",
    "no_service": "the webhook URL was removed: create a new one and update webhook_url",
    "action_prohibited": "an admin restricted this webhook: ask them or create a new one",
    "team_disabled": "the Slack workspace is disabled",
}
_STATUS_EMOJI: dict[str, str] = {
    "investigating": ":red_circle:",
    "identified": ":large_orange_circle:",
    "monitoring": ":large_yellow_circle:",
    "update": ":large_blue_circle:",
    "resolved": ":large_green_circle:",
    "scheduled": ":calendar:",
    "in_progress": ":large_blue_circle:",
    "verifying": ":large_yellow_circle:",
    "completed": ":large_green_circle:",
}


def status_line(status: str, at: datetime) -> str:
    """The first line of the incident's parent message: ':large_green_circle: *Resolved* — …'."""
    emoji = _STATUS_EMOJI.get(status, ":white_circle:")
    words = status.replace("_", " ").replace("-", " ").capitalize()
    return f"{emoji} *{words}* — updated {at.astimezone(UTC):%H:%M} UTC"


def _update_time(ctx: DeliveryContext) -> datetime:
    value = ctx.update.get("at")
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime.now(UTC)


class SlackChannel(HttpChannel):
    spec = ChannelSpec(
        type="slack",
        fields=(
            Field("token", secret=True, help="a bot token (xoxb-…), e.g. ${SLACK_BOT_TOKEN}"),
            Field("channel", help="the channel ID, like C0123456789 (not #name)"),
            Field(
                "webhook_url",
                "url",
                secret=True,
                help="an incoming webhook URL, instead of token + channel (no threading)",
            ),
            Field(
                "reply_broadcast",
                "bool",
                default=False,
                help="also show thread replies in the channel",
            ),
            Field("username", help="name shown instead of the app's"),
            Field("icon_emoji", help="emoji shown as the avatar, like :rotating_light:"),
            Field("unfurl_links", "bool", default=False, help="show link previews"),
        ),
        part="body",
        format="slack",
        default_base_url="https://slack.com/api",
        threading="replies in the first message's thread and edits it to show the status",
        summary="a Slack channel, through the Web API or an incoming webhook",
    )

    @property
    def _webhook(self) -> str | None:
        return self.settings.webhook_url or None

    def validate(self) -> list[tuple[str, str]]:
        token, channel = self.settings.token, self.settings.channel
        if self._webhook and (token or channel):
            return [("webhook_url", "set either token + channel or webhook_url, not both")]
        if self._webhook:
            return []
        if not token and not channel:
            return [("token", "set token + channel (Web API) or webhook_url")]
        problems: list[tuple[str, str]] = []
        if not token:
            problems.append(("token", "channel is set, so set token too (a bot token, xoxb-…)"))
        if not channel:
            problems.append(("channel", f"token is set, so set channel too: {_ID_HINT}"))
        elif not _CHANNEL_ID.match(channel):
            problems.append(("channel", f"{channel!r} is not a channel ID: {_ID_HINT}"))
        return problems

    def target(self) -> str:
        return "webhook" if self._webhook else (self.settings.channel or self.name)

    def measure(self, message: Message) -> Length | None:
        from notify.render.length import char_length

        return char_length(message.text, 40000)

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.settings.token or ''}"}

    async def _call(self, ctx: DeliveryContext, method: str, body: dict[str, Any]) -> Answer:
        # httpx sends the JSON body as application/json, UTF-8
        url = f"{self.base_url}/{method}"
        return await self.call(ctx, Request("POST", url, json=body, headers=self._headers()))

    def thread_gone(self, receipt: Receipt) -> bool:
        return "thread_not_found" in (receipt.error or "")

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        if self._webhook:
            return await self._send_webhook(message, ctx)
        root = thread.root if thread.root and thread.root.get("ts") else None
        body: dict[str, Any] = {
            "channel": str(root["channel"]) if root else str(self.settings.channel),
            "text": message.text,
            "mrkdwn": True,
            "unfurl_links": self.settings.unfurl_links,
            "unfurl_media": self.settings.unfurl_links,
        }
        body.update(self._persona())
        if root:
            body["thread_ts"] = str(root["ts"])  # the parent's ts, never a reply's
            body["reply_broadcast"] = self.settings.reply_broadcast
        answer = await self._call(ctx, "chat.postMessage", body)
        problem = self._problem(answer, "chat.postMessage")
        if problem:
            return problem
        data = answer.fields
        ts, channel_id = str(data.get("ts") or ""), str(data.get("channel") or body["channel"])
        thread_data: dict[str, Any] = {"channel": channel_id, "ts": ts}
        if root is None:
            thread_data["root_text"] = message.text
        else:
            thread_data["root_ts"] = str(root["ts"])
            edit_error = await self._edit_root(root, message, ctx)
            if edit_error:
                log.warning("%s", edit_error)
                thread_data["root_edit_error"] = edit_error
        return Receipt(ok=True, provider_message_id=ts, thread_data=thread_data, status_code=200)

    async def _edit_root(
        self, root: Mapping[str, Any], message: Message, ctx: DeliveryContext
    ) -> str | None:
        """Put the current status on the parent; a failure is reported, never a failed delivery.

        The reply already went out: failing (and so retrying) here would post it twice.
        """
        status = message.status or ctx.update.get("status")
        if not status:
            return None
        text = f"{status_line(str(status), _update_time(ctx))}\n{root.get('root_text') or ''}"
        body = {"channel": str(root["channel"]), "ts": str(root["ts"]), "text": text.rstrip()}
        try:
            answer = await self._call(ctx, "chat.update", body)
        except Exception as exc:  # network trouble: same reasoning as above
            return one_line(
                f"{label(self)}: chat.update of the thread's first message failed: {exc}"
            )
        problem = self._problem(answer, "chat.update")
        return problem.error if problem else None

    def _persona(self) -> dict[str, str]:
        """The name and emoji the posts show instead of the app's, when set."""
        persona = {"username": self.settings.username, "icon_emoji": self.settings.icon_emoji}
        return {key: value for key, value in persona.items() if value}

    def _problem(self, answer: Answer, method: str) -> Receipt | None:
        """None for {ok: true}; else a failed Receipt naming the channel and what to check."""
        status = answer.status
        data = answer.fields
        if status == 200 and data.get("ok") is True:
            return None
        code = str(data.get("error") or "")
        who = label(self)
        if status == 429 or code in ("ratelimited", "rate_limited"):
            return failed_answer(
                answer, f"{who} was rate limited by Slack ({method})", retryable=True
            )
        if code in _AUTH_ERRORS or status in (401, 403):
            return failed(
                f"{who} rejected the token ({code or status}): {_TOKEN_HINT}", status_code=status
            )
        if status >= 500 or code in _RETRYABLE_ERRORS:
            said = code or answer.snippet()
            error = f"{who}: Slack failed ({status}, {said}); a later retry may succeed"
            return failed_answer(answer, error, retryable=True)
        if not code:  # not Slack's answer: a proxy, or base_url pointing elsewhere
            error = f"{who}: Slack answered HTTP {status} to {method}: {answer.snippet()}"
            return failed_answer(answer, f"{error}: check base_url")
        hint = _HINTS.get(code, f"see https://api.slack.com/methods/{method}#errors")
        return failed(f"{who}: {method} failed ({code}): {hint}", status_code=status)

    async def _send_webhook(self, message: Message, ctx: DeliveryContext) -> Receipt:
        body: dict[str, Any] = {
            "text": message.text,
            "mrkdwn": True,
            "unfurl_links": self.settings.unfurl_links,
        }
        body.update(self._persona())
        answer = await self.call(ctx, Request("POST", str(self._webhook), json=body))
        status = answer.status
        if answer.ok:
            return Receipt(ok=True, status_code=status)
        code = one_line(answer.text, 80)
        who = label(self)
        if status == 429:
            return failed_answer(answer, f"{who}: the webhook was rate limited by Slack")
        if status >= 500:
            return failed_answer(
                answer, f"{who}: Slack failed ({status}, {code}); a later retry may succeed"
            )
        hint = _HINTS.get(code, "check webhook_url (create a new webhook if it was removed)")
        return failed(
            f"{who}: the webhook was refused ({status}, {code}): {hint}", status_code=status
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        if self._webhook:
            raise ChannelNotVerified("webhook mode: only posting a message proves the URL")
        answer = await self._call(ctx, "auth.test", {})
        problem = self._problem(answer, "auth.test")
        if problem:
            raise ChannelCheckError(problem.error or f"{label(self)}: auth.test failed")
        data = answer.fields
        return f"token for {data.get('team') or '?'} as {data.get('user') or '?'}"
