"""A Mastodon instance: post statuses, read the instance's limits, verify the token.

Lengths are counted as Mastodon's StatusLengthValidator does (grapheme clusters of spoiler_text
and text, every URL as 23, remote mentions without their domain). The Idempotency-Key header
returns the status already created under that key for an hour, as PostStatusService does.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from typing import Any

import regex

from notify.sandbox.core.emulator import Emulator, FixedWindow, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials

__all__ = ["MastodonEmulator"]

MAX_CHARACTERS = 500
URL_CHARS = 23
IDEMPOTENCY_TTL = 3600.0
VISIBILITIES = ("public", "unlisted", "private", "direct")
RATE_LIMIT = 300  # requests per token per 5 minutes (config/initializers/rack_attack.rb)
RATE_PERIOD = 300.0
ACCOUNT_ID = "109000000000000001"
USERNAME = "status"

_URL = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")
_REMOTE_MENTION = re.compile(r"(?<![\w/])@(\w+)@[\w.-]*\w", re.IGNORECASE)
_LANGUAGE = re.compile(r"^[a-z]{2}$")
# Status fields and the JSON types the spec (BaseStatus/TextStatus) gives them.
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "status": str,
    "in_reply_to_id": str,
    "language": str,
    "spoiler_text": str,
    "visibility": str,
    "sensitive": bool,
    "scheduled_at": str,
    "media_ids": list,
    "poll": dict,
}


def _iso(epoch: float) -> str:
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def countable_length(text: str) -> int:
    """The length Mastodon checks against max_characters."""
    text = _URL.sub("x" * URL_CHARS, text)
    text = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), text)
    return len(regex.findall(r"\X", text))


def _content_html(text: str) -> str:
    """Mastodon's rendering of plain text: paragraphs, line breaks and links."""
    paragraphs = []
    for block in re.split(r"\n{2,}", text.strip()):
        escaped = html.escape(block, quote=True)
        linked = _URL.sub(
            lambda m: (
                f'<a href="{m.group()}" rel="nofollow noopener" target="_blank">{m.group()}</a>'
            ),
            escaped,
        )
        paragraphs.append("<p>" + linked.replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)


class MastodonEmulator(Emulator):
    name = "mastodon"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "mastodon": {
                "type": "mastodon",
                "base_url": cls.base_url(root),
                "token": credentials.mastodon_token,
                "visibility": "public",
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self.max_characters = MAX_CHARACTERS
        self.creations = 0  # statuses created: an idempotent repeat does not add one
        self._statuses: dict[str, dict[str, Any]] = {}
        self._keys: dict[str, tuple[str, float]] = {}
        self._scheduled: list[dict[str, Any]] = []
        self._window = FixedWindow(RATE_LIMIT, RATE_PERIOD)

    def delete_post(self, post_id: str) -> bool:
        return self._statuses.pop(post_id, None) is not None

    def reset(self) -> None:
        super().reset()
        self.max_characters = MAX_CHARACTERS
        self.creations = 0
        self._statuses.clear()
        self._keys.clear()
        self._scheduled.clear()
        self._window = FixedWindow(RATE_LIMIT, RATE_PERIOD)

    def status(self, status_id: str) -> dict[str, Any] | None:
        """A created status by id, as the API returns it."""
        return self._statuses.get(status_id)

    async def handle(self, req: Request) -> Response:
        now = self.state.clock()
        self._window.hit(now)
        response = self._route(req)
        response.headers.update(self._limit_headers())
        return response

    def _limit_headers(
        self, remaining: int | None = None, reset: float | None = None
    ) -> dict[str, str]:
        window = self._window
        return {
            "X-RateLimit-Limit": str(window.limit),
            "X-RateLimit-Remaining": str(window.remaining if remaining is None else remaining),
            "X-RateLimit-Reset": _iso(window.resets_at if reset is None else reset),
        }

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        base = req.url.split("/api/", 1)[0] if "/api/" in req.url else req.url
        if req.method == "GET" and path == "/api/v2/instance":
            return Response(200, self._instance(base))
        if req.method == "GET" and path == "/api/v1/instance":
            return Response(200, self._instance(base))
        auth = self._authorize(req)
        if auth is not None:
            return auth
        if req.method == "GET" and path == "/api/v1/accounts/verify_credentials":
            return Response(200, self._account(base, with_source=True))
        if path == "/api/v1/statuses" and req.method == "POST":
            return self._create(req, base)
        if req.method == "GET" and path.startswith("/api/v1/statuses/"):
            found = self._statuses.get(path.rsplit("/", 1)[1])
            return Response(200, found) if found else Response(404, {"error": "Record not found"})
        return Response(404, {"error": "Record not found"})

    def _authorize(self, req: Request) -> Response | None:
        header = req.headers.get("authorization", "")
        if not header:
            return Response(401, {"error": "This method requires an authenticated user"})
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or token.strip() != self.credentials.mastodon_token:
            return Response(401, {"error": "The access token is invalid"})
        return None

    def _create(self, req: Request, base: str) -> Response:
        key = req.headers.get("idempotency-key", "")
        now = self.state.clock()
        if key:
            seen = self._keys.get(key)
            if seen is not None and now - seen[1] < IDEMPOTENCY_TTL:
                return Response(200, self._statuses[seen[0]])
        try:
            params = _params(req)
        except ValueError:
            return Response(400, {"error": "Error while parsing params"})
        problem = self._validate(params)
        if problem is not None:
            return problem
        if params.get("scheduled_at"):
            return self._schedule(params, now)
        status = self._new_status(params, base, now)
        self.creations += 1
        self._statuses[status["id"]] = status
        if key:
            self._keys[key] = (status["id"], now)
        self._posts.append(
            {
                "id": status["id"],
                "text": params.get("status", ""),
                "spoiler_text": params.get("spoiler_text", ""),
                "visibility": status["visibility"],
                "language": status["language"],
                "in_reply_to_id": status["in_reply_to_id"],
                "idempotency_key": key or None,
                "length": countable_length(
                    str(params.get("spoiler_text", "")) + str(params.get("status", ""))
                ),
            }
        )
        return Response(200, status)

    def _validate(self, params: dict[str, Any]) -> Response | None:
        for name, kind in _FIELD_TYPES.items():
            if name in params and params[name] is not None and not isinstance(params[name], kind):
                return _invalid(f"{name.replace('_', ' ').capitalize()} is invalid")
        text = params.get("status") or ""
        if not text.strip() and not params.get("media_ids") and not params.get("poll"):
            return _invalid("Text can't be blank")
        if params.get("media_ids"):
            # No media upload endpoint here: every id is unknown.
            return _invalid("Media attachments are invalid")
        visibility = params.get("visibility")
        if visibility is not None and visibility not in VISIBILITIES:
            return _invalid("Visibility is not included in the list")
        language = params.get("language")
        if language and not _LANGUAGE.match(language):
            return _invalid("Language is not a valid ISO 639-1 code")
        length = countable_length(str(params.get("spoiler_text") or "") + text)
        if length > self.max_characters:
            return _invalid(f"Text character limit of {self.max_characters} exceeded")
        reply_to = params.get("in_reply_to_id")
        if reply_to and reply_to not in self._statuses:
            return Response(404, {"error": "Record not found"})
        return None

    def _new_status(self, params: dict[str, Any], base: str, now: float) -> dict[str, Any]:
        status_id = str((int(now * 1000) << 16) | (self.state.next_seq() & 0xFFFF))
        reply_to = params.get("in_reply_to_id") or None
        text = params.get("status") or ""
        return {
            "id": status_id,
            "created_at": _iso(now),
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": ACCOUNT_ID if reply_to else None,
            "sensitive": bool(params.get("sensitive")),
            "spoiler_text": params.get("spoiler_text") or "",
            "visibility": params.get("visibility") or "public",
            "language": params.get("language") or "en",
            "uri": f"{base}/users/{USERNAME}/statuses/{status_id}",
            "url": f"{base}/@{USERNAME}/{status_id}",
            "replies_count": 0,
            "reblogs_count": 0,
            "favourites_count": 0,
            "edited_at": None,
            "content": _content_html(text),
            "reblog": None,
            "application": {"name": "notify", "website": None},
            "account": self._account(base),
            "media_attachments": [],
            "mentions": [],
            "tags": [],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _schedule(self, params: dict[str, Any], now: float) -> Response:
        try:
            when = datetime.fromisoformat(str(params["scheduled_at"]).replace("Z", "+00:00"))
        except ValueError:
            return _invalid("Scheduled at is invalid")
        if when.tzinfo is None or when.timestamp() < now + 300:
            return _invalid("Scheduled at The scheduled date must be in the future")
        scheduled = {
            "id": str(self.state.next_seq()),
            "scheduled_at": _iso(when.timestamp()),
            "params": {k: v for k, v in params.items() if k != "scheduled_at"},
            "media_attachments": [],
        }
        self._scheduled.append(scheduled)
        return Response(200, scheduled)

    def _account(self, base: str, *, with_source: bool = False) -> dict[str, Any]:
        avatar = f"{base}/avatars/original/missing.png"
        account: dict[str, Any] = {
            "id": ACCOUNT_ID,
            "username": USERNAME,
            "acct": USERNAME,
            "display_name": "Sandbox Status",
            "locked": False,
            "bot": True,
            "group": False,
            "indexable": False,
            "created_at": "2024-01-01T00:00:00.000Z",
            "note": "<p>Status updates from the notify sandbox.</p>",
            "uri": f"{base}/users/{USERNAME}",
            "url": f"{base}/@{USERNAME}",
            "avatar": avatar,
            "avatar_static": avatar,
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "emojis": [],
            "fields": [],
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": len(self._statuses),
        }
        if with_source:
            account["source"] = {
                "privacy": "public",
                "sensitive": False,
                "language": "en",
                "note": "",
                "fields": [],
                "follow_requests_count": 0,
                "indexable": False,
            }
            role = {"id": "-99", "name": "", "color": "", "highlighted": False, "permissions": "0"}
            account["role"] = role
        return account

    def _instance(self, base: str) -> dict[str, Any]:
        domain = base.split("://", 1)[-1].split("/", 1)[0]
        limits = {"max_expiration": 2629746, "min_expiration": 300}
        return {
            "domain": domain,
            "title": "Sandbox Mastodon",
            "version": "4.3.0",
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "A local stand-in for a Mastodon instance (notify sandbox).",
            "usage": {"users": {"active_month": 1}},
            "thumbnail": {"url": f"{base}/packs/media/images/preview.png"},
            "icon": [],
            "languages": ["en"],
            "api_versions": {"mastodon": 2},
            "configuration": {
                "urls": {"streaming": base.replace("http", "ws", 1)},
                "accounts": {"max_featured_tags": 10, "max_pinned_statuses": 5},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": URL_CHARS,
                },
                "media_attachments": {
                    "supported_mime_types": ["image/jpeg", "image/png"],
                    "image_size_limit": 16777216,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
                "polls": {"max_options": 4, "max_characters_per_option": 50, **limits},
                "translation": {"enabled": False},
            },
            "registrations": {"enabled": False, "approval_required": False, "message": None},
            "contact": {"email": "admin@sandbox.test", "account": None},
            "rules": [],
        }

    def rate_limited(self, retry_after: float) -> Response:
        reset = self.state.clock() + retry_after
        return Response(429, {"error": "Too many requests"}, self._limit_headers(0, reset))

    def injected_failure(self, status: int) -> Response:
        words = {
            401: "The access token is invalid",
            404: "Record not found",
            410: "Gone",
            422: "Validation failed",
            503: "Service Unavailable",
        }
        body = {"error": words.get(status, "Internal Server Error" if status >= 500 else "Error")}
        return Response(status, body, self._limit_headers())


def _invalid(reason: str) -> Response:
    return Response(422, {"error": f"Validation failed: {reason}"})


def _params(req: Request) -> dict[str, Any]:
    """Rails params from a JSON or form body (`media_ids[]`, `poll[options][]`)."""
    if req.content_type == "application/x-www-form-urlencoded":
        params: dict[str, Any] = {}
        for key, values in req.form().items():
            outer, bracket, rest = key.partition("[")
            value: Any = values if key.endswith("[]") else values[-1]
            if not bracket or rest == "]":
                params[outer] = value
            else:
                params.setdefault(outer, {})[rest.split("]", 1)[0]] = value
        if "sensitive" in params:
            params["sensitive"] = str(params["sensitive"]).lower() in ("true", "1")
        return params
    if not req.body:
        return {}
    body = req.json()
    if not isinstance(body, dict):
        raise ValueError("the JSON body must be an object")
    return body
