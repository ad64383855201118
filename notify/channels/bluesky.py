"""Bluesky (AT Protocol) through `com.atproto.repo.createRecord` of an `app.bsky.feed.post`.

createSession is limited per day, so a session is kept in the journal's session store and reused
across runs: refreshed when the access token expires, re-created only when the refresh fails.
Each update replies to the previous one (`reply.parent`) within the incident's first post
(`reply.root`). URLs become link facets, since Bluesky does not link bare URLs.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
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
    seconds_until,
)
from notify.secrets import register

MAX_GRAPHEMES = 300
MAX_LANGS = 3
LOGIN_HINT = "check identifier and app_password (an app password, not the account password)"
_URL = re.compile(r"(?<![^\s(\[<\"'])https?://[^\s<>\"]+")  # a URL starting a word
_TRAILING = ".,;:!?'\""
_LANG = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
Call = Callable[["Session"], Awaitable[Answer]]


def link_facets(text: str) -> list[dict[str, Any]]:
    """A link facet per http(s) URL, indexed by UTF-8 byte offsets as the lexicon requires."""
    facets: list[dict[str, Any]] = []
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        # "(see https://x.example/a)": the bracket closes the sentence, not the URL.
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1].rstrip(_TRAILING)
        start = len(text[: match.start()].encode("utf-8"))
        facets.append(
            {
                "index": {"byteStart": start, "byteEnd": start + len(url.encode("utf-8"))},
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": url}],
            }
        )
    return facets


def _strong_ref(data: Mapping[str, Any] | None) -> dict[str, str] | None:
    """{uri, cid} of an earlier post, as a reply needs it (None if it is not one)."""
    if not data or not data.get("uri") or not data.get("cid"):
        return None
    return {"uri": str(data["uri"]), "cid": str(data["cid"])}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Session:
    access_jwt: str
    refresh_jwt: str
    did: str
    handle: str

    @classmethod
    def parse(cls, data: object) -> Session | None:
        if not isinstance(data, Mapping):
            return None
        try:
            session = cls(
                str(data["accessJwt"]),
                str(data["refreshJwt"]),
                str(data["did"]),
                str(data.get("handle") or ""),
            )
        except KeyError:
            return None
        register(session.access_jwt)
        register(session.refresh_jwt)
        return session

    def stored(self) -> dict[str, Any]:
        return {
            "accessJwt": self.access_jwt,
            "refreshJwt": self.refresh_jwt,
            "did": self.did,
            "handle": self.handle,
        }


class _Refused(Exception):
    """Getting a session failed; carries the Receipt that says why."""

    def __init__(self, receipt: Receipt) -> None:
        super().__init__(receipt.error)
        self.receipt = receipt


def _expired(answer: Answer) -> bool:
    error = answer.data.get("error") if isinstance(answer.data, Mapping) else None
    return answer.status == 401 or (answer.status == 400 and error == "ExpiredToken")


class BlueskyChannel(HttpChannel):
    spec = ChannelSpec(
        type="bluesky",
        fields=(
            Field(
                "identifier", required=True, help="the account's handle (name.bsky.social) or DID"
            ),
            Field(
                "app_password",
                required=True,
                secret=True,
                help="an app password (Settings > Privacy and security > App passwords)",
            ),
            Field("langs", "list", help="up to 3 language tags of the posts, like [en]"),
        ),
        part="short",
        format="plain",
        default_base_url="https://bsky.social",
        threading="each update replies to the previous one, under the incident's first post",
        summary="a Bluesky account (or any AT Protocol PDS at base_url)",
    )

    @property
    def identifier(self) -> str:
        return str(self.settings.identifier or "").strip().removeprefix("@")

    def target(self) -> str:
        return self.identifier

    def validate(self) -> list[tuple[str, str]]:
        langs = self.settings.langs or []
        if len(langs) > MAX_LANGS:
            return [("langs", f"at most {MAX_LANGS} languages, like [en, de]")]
        bad = [str(lang) for lang in langs if not _LANG.match(str(lang))]
        if bad:
            return [("langs", f"{bad[0]!r} is not a language tag like en, pt-BR")]
        return []

    def measure(self, message: Message) -> Length:
        from notify.render.length import grapheme_length

        return grapheme_length(message.text, MAX_GRAPHEMES)

    def build_record(self, message: Message, thread: ThreadRef) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": "app.bsky.feed.post",
            "text": message.text,
            "createdAt": _now(),
        }
        if self.settings.langs:
            record["langs"] = [str(lang) for lang in self.settings.langs]
        facets = link_facets(message.text)
        if facets:
            record["facets"] = facets
        root, parent = _strong_ref(thread.root), _strong_ref(thread.previous)
        if root and parent:
            record["reply"] = {"root": root, "parent": parent}
        return record

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        record = self.build_record(message, thread)

        async def create(session: Session) -> Answer:
            body = {"repo": session.did, "collection": "app.bsky.feed.post", "record": record}
            return await self._xrpc(ctx, "com.atproto.repo.createRecord", session.access_jwt, body)

        try:
            _, answer = await self._with_session(ctx, create)
        except _Refused as refused:
            return refused.receipt
        data = answer.data if isinstance(answer.data, Mapping) else {}
        if answer.ok and data.get("uri"):
            return Receipt(
                ok=True,
                provider_message_id=str(data["uri"]),
                thread_data={"uri": data["uri"], "cid": data.get("cid")},
                status_code=answer.status,
            )
        return self._failure(answer, hint="check the post against app.bsky.feed.post's rules")

    async def check_online(self, ctx: DeliveryContext) -> str:
        async def whoami(session: Session) -> Answer:
            method = "com.atproto.server.getSession"
            return await self._xrpc(ctx, method, session.access_jwt, post=False)

        try:
            session, answer = await self._with_session(ctx, whoami)
        except _Refused as refused:
            raise ChannelCheckError(refused.receipt.error or label(self)) from None
        if not answer.ok:
            raise ChannelCheckError(self._failure(answer).error or label(self))
        data = answer.data if isinstance(answer.data, Mapping) else {}
        return f"session for {data.get('handle') or session.handle} ({session.did})"

    # Sessions ---------------------------------------------------------------------------------

    @property
    def _store_key(self) -> str:
        return f"bluesky:{self.base_url}:{self.identifier}"

    async def _with_session(self, ctx: DeliveryContext, call: Call) -> tuple[Session, Answer]:
        """Run `call` with the saved session (or a new one); once more after a refresh if the
        access token expired."""
        session = Session.parse(ctx.store.get(self._store_key)) or await self._login(ctx)
        answer = await call(session)
        if _expired(answer):
            session = await self._refresh(ctx, session)
            answer = await call(session)
        return session, answer

    async def _login(self, ctx: DeliveryContext) -> Session:
        body = {"identifier": self.identifier, "password": self.settings.app_password}
        answer = await self._xrpc(ctx, "com.atproto.server.createSession", None, body)
        return self._keep(ctx, answer)

    async def _refresh(self, ctx: DeliveryContext, session: Session) -> Session:
        answer = await self._xrpc(ctx, "com.atproto.server.refreshSession", session.refresh_jwt)
        if answer.ok:
            return self._keep(ctx, answer)
        if answer.status == 429 or answer.status >= 500:
            raise _Refused(self._failure(answer))
        return await self._login(ctx)  # the refresh token expired or was revoked too

    def _keep(self, ctx: DeliveryContext, answer: Answer) -> Session:
        """The session a login or refresh answered with, saved for the next run."""
        session = Session.parse(answer.data) if answer.ok else None
        if session is None:
            raise _Refused(self._failure(answer, hint=LOGIN_HINT))
        ctx.store.set(self._store_key, session.stored())
        return session

    async def _xrpc(
        self,
        ctx: DeliveryContext,
        method: str,
        token: str | None,
        body: object = None,
        *,
        post: bool = True,
    ) -> Answer:
        """Call an XRPC procedure (POST, JSON input if any) or query (GET)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        url = f"{self.base_url}/xrpc/{method}"
        # refreshSession takes no input: a PDS refuses an unexpected body, so none is sent.
        return await self.call(
            ctx, Request("POST" if post else "GET", url, json=body, headers=headers)
        )

    def thread_gone(self, receipt: Receipt) -> bool:
        return "Could not locate record" in (receipt.error or "")

    def _failure(self, answer: Answer, *, auth: str = LOGIN_HINT, hint: str = "") -> Receipt:
        retry_after = None
        if answer.status == 429:
            retry_after = seconds_until(answer.headers.get("ratelimit-reset"))
            if retry_after is None:
                retry_after = answer.retry_after_header
        return self.failure(answer, auth=auth, hint=hint, retry_after=retry_after)
