"""X (Twitter) API v2: `POST /2/tweets` and `GET /2/users/me`, OAuth 1.0a user context.

Every request's HMAC-SHA1 signature is verified per RFC 5849 (a JSON body is not part of the
base string), with the timestamp window and nonce replay checks X applies. Tweet length is
twitter-text's weighted length; errors are RFC 7807 problems as X sends them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from notify.sandbox.core.emulator import Emulator, FixedWindow, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials

__all__ = ["XEmulator", "oauth_base_string"]

TWITTER_EPOCH_MS = 1288834974657
MAX_WEIGHTED_LENGTH = 280
TIMESTAMP_WINDOW = 300.0  # seconds of clock skew accepted either way
_REPLY_ID = re.compile(r"^[0-9]{1,19}$")
_OAUTH_PAIR = re.compile(r'([A-Za-z0-9_%.~-]+)="([^"]*)"')
_TWEET_FIELDS = {
    "text",
    "reply",
    "quote_tweet_id",
    "media",
    "poll",
    "direct_message_deep_link",
    "for_super_followers_only",
    "geo",
    "reply_settings",
    "community_id",
    "nullcast",
    "card_uri",
    "edit_options",
    "made_with_ai",
    "paid_partnership",
    "share_with_followers",
}
_REPLY_FIELDS = {"in_reply_to_tweet_id", "exclude_reply_user_ids", "auto_populate_reply_metadata"}
# Per-user 15-minute windows, for the x-rate-limit-* headers.
_LIMITS = {"/2/tweets": 100, "/2/users/me": 75}
_PERIOD = 900.0

UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
DUPLICATE = {
    "detail": "You are not allowed to create a Tweet with duplicate content.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}
NOT_VISIBLE = {
    "detail": "You attempted to reply to a Tweet that is deleted or not visible to you.",
    "type": "about:blank",
    "title": "Forbidden",
    "status": 403,
}


def _enc(value: str) -> str:
    """RFC 5849 §3.6 percent-encoding: everything but unreserved characters."""
    return quote(value, safe="-._~")


def oauth_base_string(method: str, url: str, params: list[tuple[str, str]]) -> str:
    """The signature base string (RFC 5849 §3.4.1) over decoded (name, value) pairs."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(scheme)
    netloc = host if parts.port in (None, default) else f"{host}:{parts.port}"
    base_uri = f"{scheme}://{netloc}{parts.path or '/'}"
    pairs = sorted((_enc(k), _enc(v)) for k, v in params)
    normalized = "&".join(f"{k}={v}" for k, v in pairs)
    return "&".join((method.upper(), _enc(base_uri), _enc(normalized)))


def _problem(status: int, title: str, detail: str, **extra: Any) -> Response:
    return Response(
        status, {"title": title, "detail": detail, "type": "about:blank", "status": status, **extra}
    )


def _invalid(message: str) -> Response:
    return Response(
        400,
        {
            "errors": [{"parameters": {}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
            "status": 400,
        },
    )


class XEmulator(Emulator):
    name = "x"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        c = credentials
        return {
            "x": {
                "type": "x",
                "base_url": cls.base_url(root),
                "api_key": c.x_api_key,
                "api_secret": c.x_api_secret,
                "access_token": c.x_access_token,
                "access_token_secret": c.x_access_token_secret,
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self.auth_failures: list[str] = []  # why each rejected signature was rejected
        self._tweets: dict[str, dict[str, Any]] = {}
        self._nonces: dict[str, float] = {}
        self._windows: dict[str, FixedWindow] = {}

    def reset(self) -> None:
        super().reset()
        self.auth_failures.clear()
        self._tweets.clear()
        self._nonces.clear()
        self._windows.clear()

    @property
    def user_id(self) -> str:
        # Access tokens start with the user's numeric id: "<user id>-<secret part>".
        return self.credentials.x_access_token.split("-", 1)[0]

    async def handle(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        if path not in _LIMITS:
            return _problem(404, "Not Found Error", f"Could not find path {req.path}")
        response = self._route(req, path)
        response.headers.update(self._limit_headers(path))
        return response

    def _route(self, req: Request, path: str) -> Response:
        expected = "POST" if path == "/2/tweets" else "GET"
        if req.method != expected:
            return _problem(405, "Method Not Allowed", f"{req.method} is not allowed on {path}")
        reason = self._verify(req)
        if reason:
            self.auth_failures.append(reason)
            return Response(401, dict(UNAUTHORIZED))
        if path == "/2/users/me":
            user = {"id": self.user_id, "name": "Sandbox Status", "username": "sandbox_status"}
            return Response(200, {"data": user})
        return self._create(req)

    # -- OAuth 1.0a -----------------------------------------------------------------------

    def _verify(self, req: Request) -> str:
        """Why the request's OAuth 1.0a signature is not acceptable, or ""."""
        header = req.headers.get("authorization", "")
        scheme, _, rest = header.partition(" ")
        if scheme.lower() != "oauth":
            return "no OAuth authorization header"
        oauth = {unquote(k): unquote(v) for k, v in _OAUTH_PAIR.findall(rest)}
        c = self.credentials
        for name in (
            "oauth_consumer_key",
            "oauth_token",
            "oauth_signature",
            "oauth_nonce",
            "oauth_timestamp",
            "oauth_signature_method",
        ):
            if not oauth.get(name):
                return f"{name} missing"
        if oauth["oauth_signature_method"] != "HMAC-SHA1":
            return "oauth_signature_method is not HMAC-SHA1"
        if oauth.get("oauth_version", "1.0") != "1.0":
            return "oauth_version is not 1.0"
        if oauth["oauth_consumer_key"] != c.x_api_key:
            return "unknown consumer key"
        if oauth["oauth_token"] != c.x_access_token:
            return "unknown access token"
        now = self.state.clock()
        try:
            stamp = int(oauth["oauth_timestamp"])
        except ValueError:
            return "oauth_timestamp is not an integer"
        if abs(now - stamp) > TIMESTAMP_WINDOW:
            return "oauth_timestamp outside the 5-minute window"
        params = [(k, v) for k, v in oauth.items() if k not in ("oauth_signature", "realm")]
        params += [(k, v) for k, values in req.query.items() for v in values]
        if req.content_type == "application/x-www-form-urlencoded":
            params += [(k, v) for k, values in req.form().items() for v in values]
        base = oauth_base_string(req.method, req.url, params)
        key = f"{_enc(c.x_api_secret)}&{_enc(c.x_access_token_secret)}"
        digest = hmac.new(key.encode(), base.encode(), hashlib.sha1).digest()
        expected = base64.b64encode(digest).decode()
        if not hmac.compare_digest(expected, oauth["oauth_signature"]):
            return "signature does not match"
        self._nonces = {n: t for n, t in self._nonces.items() if now - t <= 2 * TIMESTAMP_WINDOW}
        if oauth["oauth_nonce"] in self._nonces:
            return "oauth_nonce already used"
        self._nonces[oauth["oauth_nonce"]] = now
        return ""

    # -- tweets ---------------------------------------------------------------------------

    def _create(self, req: Request) -> Response:
        from notify._twitter_text import parse_tweet_function

        parse_tweet = parse_tweet_function()

        try:
            body = req.json()
        except ValueError:
            return _invalid("Request body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("$: must be an object")
        unknown = sorted(set(body) - _TWEET_FIELDS)
        if unknown:
            return _invalid(f"$.{unknown[0]}: is not defined in the schema")
        text = body.get("text")
        if text is not None and not isinstance(text, str):
            return _invalid("$.text: string expected")
        if not text and not any(body.get(k) for k in ("media", "poll", "quote_tweet_id")):
            return _invalid("$.text: text is required when there is no media, poll or quote")
        if text:
            parsed = parse_tweet(text)
            if parsed.weightedLength > MAX_WEIGHTED_LENGTH:
                return _invalid(
                    f"$.text: weighted length {parsed.weightedLength} is over "
                    f"{MAX_WEIGHTED_LENGTH}: Your Tweet text is too long."
                )
            if not parsed.valid:
                return _invalid("$.text: contains characters X does not accept")
        reply_to, problem = self._reply_target(body.get("reply"))
        if problem is not None:
            return problem
        if text and any(t["text"] == text for t in self._tweets.values()):
            return Response(403, dict(DUPLICATE))
        return self._store(body, text or "", reply_to)

    def _reply_target(self, reply: Any) -> tuple[str | None, Response | None]:
        if reply is None:
            return None, None
        if not isinstance(reply, dict):
            return None, _invalid("$.reply: must be an object")
        unknown = sorted(set(reply) - _REPLY_FIELDS)
        if unknown:
            return None, _invalid(f"$.reply.{unknown[0]}: is not defined in the schema")
        target = reply.get("in_reply_to_tweet_id")
        if not isinstance(target, str) or not _REPLY_ID.match(target):
            return None, _invalid(
                f"$.reply.in_reply_to_tweet_id: [{target}] does not match ^[0-9]{{1,19}}$"
            )
        if target not in self._tweets:
            return None, Response(403, dict(NOT_VISIBLE))
        return target, None

    def _store(self, body: dict[str, Any], text: str, reply_to: str | None) -> Response:
        ms = int(self.state.clock() * 1000) - TWITTER_EPOCH_MS
        tweet_id = str((ms << 22) | (self.state.next_seq() & 0x3FFFFF))
        tweet = {"id": tweet_id, "text": text, "in_reply_to_tweet_id": reply_to}
        self._tweets[tweet_id] = tweet
        self._posts.append({**tweet, "body": body})
        return Response(
            201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}
        )

    # -- rate limits ----------------------------------------------------------------------

    def _limit_headers(self, path: str, *, exhausted_for: float | None = None) -> dict[str, str]:
        now = self.state.clock()
        window = self._windows.setdefault(path, FixedWindow(_LIMITS[path], _PERIOD))
        if exhausted_for is not None:
            window.roll(now)
            return {
                "x-rate-limit-limit": str(window.limit),
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(math.ceil(now + exhausted_for)),
            }
        window.hit(now)
        return {
            "x-rate-limit-limit": str(window.limit),
            "x-rate-limit-remaining": str(window.remaining),
            "x-rate-limit-reset": str(math.ceil(window.resets_at)),
        }

    def rate_limited(self, retry_after: float) -> Response:
        body = {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        }
        return Response(429, body, self._limit_headers("/2/tweets", exhausted_for=retry_after))

    def injected_failure(self, status: int) -> Response:
        titles = {
            400: "Invalid Request",
            401: "Unauthorized",
            403: "Forbidden",
            404: "Not Found Error",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
        }
        title = titles.get(status, "Error")
        return _problem(status, title, title)
