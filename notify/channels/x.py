"""X (Twitter) through API v2 `POST /2/tweets`, signed with OAuth 1.0a user context.

Each update replies to the previous update's post. The JSON body is not part of the OAuth 1.0a
signature (RFC 5849 §3.4.1.3.1 signs only form-encoded bodies), so the request is signed as if
bodiless and then sent with its JSON.
"""

from __future__ import annotations

import json
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
    seconds_until,
)

AUTH_HINT = "check the four X credentials and that the app has Read and Write permission"
DUPLICATE = (
    "X rejected the post as a duplicate of an earlier one: change the text (e.g. add the time)"
)
# The per-window limit, then the 24-hour ones: on a 429 whichever is exhausted says when to retry.
_RESET_HEADERS = (
    ("x-rate-limit-remaining", "x-rate-limit-reset"),
    ("x-user-limit-24hour-remaining", "x-user-limit-24hour-reset"),
    ("x-app-limit-24hour-remaining", "x-app-limit-24hour-reset"),
)


class XChannel(HttpChannel):
    spec = ChannelSpec(
        type="x",
        fields=(
            Field("api_key", required=True, secret=True, help="the app's API key (consumer key)"),
            Field("api_secret", required=True, secret=True, help="the app's API key secret"),
            Field(
                "access_token",
                required=True,
                secret=True,
                help="the account's access token (generated with Read and Write permission)",
            ),
            Field(
                "access_token_secret", required=True, secret=True, help="the access token secret"
            ),
        ),
        part="short",
        format="plain",
        default_base_url="https://api.x.com",
        threading="each update replies to the previous update's post",
        summary="an X (Twitter) account",
    )

    def target(self) -> str:
        return "account"

    def measure(self, message: Message) -> Length:
        from notify.render.length import x_length

        return x_length(message.text)

    def authorization(self, method: str, url: str) -> str:
        """The OAuth 1.0a Authorization header for a request without a form body."""
        from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER, Client

        client = Client(
            self.settings.api_key,
            client_secret=self.settings.api_secret,
            resource_owner_key=self.settings.access_token,
            resource_owner_secret=self.settings.access_token_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        )
        _, headers, _ = client.sign(url, http_method=method, body=None, headers={})
        return str(headers["Authorization"])

    def build_body(self, message: Message, thread: ThreadRef) -> dict[str, Any]:
        body: dict[str, Any] = {"text": message.text}
        if thread.previous and thread.previous.get("id"):
            body["reply"] = {"in_reply_to_tweet_id": str(thread.previous["id"])}
        return body

    def build_request(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Request:
        url = f"{self.base_url}/2/tweets"
        return Request(
            "POST",
            url,
            content=json.dumps(self.build_body(message, thread)).encode("utf-8"),
            headers={
                "Authorization": self.authorization("POST", url),
                "Content-Type": "application/json",
            },
        )

    def parse(self, answer: Answer, recipient: Recipient, thread: ThreadRef) -> Receipt:
        data = answer.data.get("data") if isinstance(answer.data, Mapping) else None
        if answer.ok and isinstance(data, Mapping) and data.get("id"):
            post_id = str(data["id"])
            return Receipt(
                ok=True,
                provider_message_id=post_id,
                thread_data={"id": post_id},
                status_code=answer.status,
            )
        return self._failure(answer)

    def _failure(self, answer: Answer) -> Receipt:
        words = provider_words(answer)
        if answer.status in (400, 403) and "duplicate" in words.lower():
            return Receipt(ok=False, error=one_line(DUPLICATE), status_code=answer.status)
        retry_after = _retry_after(answer) if answer.status == 429 else None
        hint = "check the text (at most 280 weighted characters)" if answer.status == 400 else ""
        return self.failure(answer, auth=AUTH_HINT, hint=hint, words=words, retry_after=retry_after)

    async def check_online(self, ctx: DeliveryContext) -> str:
        url = f"{self.base_url}/2/users/me"
        headers = {"Authorization": self.authorization("GET", url)}
        answer = await self.call(ctx, Request("GET", url, headers=headers))
        data = answer.data.get("data") if isinstance(answer.data, Mapping) else None
        if not (answer.ok and isinstance(data, Mapping)):
            said = provider_words(answer)
            raise ChannelCheckError(
                one_line(
                    f"{label(self)}: GET /2/users/me failed ({answer.status}: {said}): {AUTH_HINT}"
                )
            )
        return f"account @{data.get('username')}"


def _retry_after(answer: Answer) -> float | None:
    """Seconds until the exhausted limit resets (epoch seconds in x-*-reset), else Retry-After."""
    waits = [
        seconds_until(answer.headers.get(reset))
        for remaining, reset in _RESET_HEADERS
        if answer.headers.get(remaining) == "0" and answer.headers.get(reset)
    ]
    known = [wait for wait in waits if wait is not None]
    if known:
        return max(known)
    fallback = seconds_until(answer.headers.get("x-rate-limit-reset"))
    return fallback if fallback is not None else answer.retry_after_header
