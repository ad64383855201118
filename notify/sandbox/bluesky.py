"""A Bluesky PDS (AT Protocol XRPC): sessions, and posts written with createRecord / putRecord.

Records are checked against the app.bsky.feed.post lexicon (graphemes and UTF-8 bytes of the
text, datetime, langs, facets as UTF-8 byte ranges) and replies must point at records this PDS
holds. Access tokens can be expired on demand so that refreshSession paths get exercised.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass
from typing import Any

from notify.sandbox.bluesky_lexicon import POST, RecordError, check_post, facets_ok
from notify.sandbox.core.emulator import Emulator, FixedWindow, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials

__all__ = ["BlueskyEmulator"]

ACCESS_TTL = 2 * 3600.0
REFRESH_TTL = 90 * 86400.0
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
# (name, limit, window seconds, points per call) per XRPC method, for the RateLimit-* headers.
_POLICIES = {
    "com.atproto.server.createSession": (30, 300, 1),
    "com.atproto.repo.createRecord": (5000, 3600, 3),
    "com.atproto.repo.putRecord": (5000, 3600, 2),
}
_DEFAULT_POLICY = (3000, 300, 1)


class _XrpcError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.response = Response(status, {"error": error, "message": message})


def _invalid(message: str) -> _XrpcError:
    return _XrpcError(400, "InvalidRequest", message)


@dataclass
class _Token:
    kind: str  # "access" or "refresh"
    expires: float


def _jwt(kind: str, did: str, now: float, ttl: float) -> str:
    """A JWT-shaped opaque token, so clients that read `exp` find one."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    scope = "com.atproto.access" if kind == "access" else "com.atproto.refresh"
    claims = {"scope": scope, "sub": did, "iat": int(now), "exp": int(now + ttl)}
    claims["jti"] = secrets.token_urlsafe(12)
    signature = secrets.token_urlsafe(32)
    return f"{part({'typ': 'at+jwt', 'alg': 'ES256K'})}.{part(claims)}.{signature}"


def _cid(record: Any) -> str:
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).digest()
    return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")


class BlueskyEmulator(Emulator):
    name = "bluesky"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "bluesky": {
                "type": "bluesky",
                "base_url": cls.base_url(root),
                "identifier": credentials.bluesky_identifier,
                "app_password": credentials.bluesky_app_password,
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self.sessions_created = 0  # createSession calls that succeeded
        self.creations = 0  # records created (a putRecord over an existing key is an update)
        self._tokens: dict[str, _Token] = {}
        self._revoked: set[str] = set()  # refresh tokens already rotated
        self._records: dict[str, dict[str, Any]] = {}  # rkey -> stored post
        self._windows: dict[str, FixedWindow] = {}
        self._last_tid = 0

    def delete_post(self, post_id: str) -> bool:
        """`post_id`: the record's at:// URI or its record key."""
        return self._records.pop(str(post_id).rsplit("/", 1)[-1], None) is not None

    def reset(self) -> None:
        super().reset()
        self.sessions_created = 0
        self.creations = 0
        self._tokens.clear()
        self._revoked.clear()
        self._records.clear()
        self._windows.clear()

    def expire_access_tokens(self) -> None:
        """Every access token issued so far is now expired (refresh tokens still work)."""
        for token in self._tokens.values():
            if token.kind == "access":
                token.expires = float("-inf")

    def posts(self) -> list[dict[str, Any]]:
        return copy.deepcopy(list(self._records.values()))

    @property
    def handle_name(self) -> str:
        return self.credentials.bluesky_identifier

    async def handle(self, req: Request) -> Response:
        method = req.path.removeprefix("/xrpc/").strip("/")
        try:
            response = self._dispatch(method, req)
        except _XrpcError as exc:
            response = exc.response
        response.headers.update(self._limit_headers(method))
        return response

    def _dispatch(self, method: str, req: Request) -> Response:
        if not req.path.startswith("/xrpc/"):
            raise _XrpcError(404, "NotFound", "Not Found")
        procedures = {
            "com.atproto.server.createSession": self._create_session,
            "com.atproto.server.refreshSession": self._refresh_session,
            "com.atproto.repo.createRecord": self._create_record,
            "com.atproto.repo.putRecord": self._put_record,
        }
        if method == "com.atproto.server.getSession":
            self._bearer(req, "access")
            return Response(200, self._session_info())
        if method not in procedures:
            raise _XrpcError(501, "MethodNotImplemented", "Method Not Implemented")
        if req.method != "POST":
            raise _invalid(f"Incorrect HTTP method ({req.method}) expected POST")
        return procedures[method](req)

    # -- sessions -------------------------------------------------------------------------

    def _session_info(self) -> dict[str, Any]:
        return {"handle": self.handle_name, "did": self.credentials.bluesky_did, "active": True}

    def _issue(self) -> dict[str, Any]:
        now = self.state.clock()
        did = self.credentials.bluesky_did
        access = _jwt("access", did, now, ACCESS_TTL)
        refresh = _jwt("refresh", did, now, REFRESH_TTL)
        self._tokens[access] = _Token("access", now + ACCESS_TTL)
        self._tokens[refresh] = _Token("refresh", now + REFRESH_TTL)
        return {"accessJwt": access, "refreshJwt": refresh, **self._session_info()}

    def _create_session(self, req: Request) -> Response:
        body = _input(req, ("identifier", "password"))
        identifier = str(body["identifier"]).lower()
        known = (self.handle_name.lower(), self.credentials.bluesky_did.lower())
        if identifier not in known or body["password"] != self.credentials.bluesky_app_password:
            raise _XrpcError(401, "AuthenticationRequired", "Invalid identifier or password")
        self.sessions_created += 1
        return Response(200, self._issue())

    def _refresh_session(self, req: Request) -> Response:
        token = self._bearer(req, "refresh")
        del self._tokens[token]  # a refresh token is good for one rotation
        self._revoked.add(token)
        return Response(200, self._issue())

    def _bearer(self, req: Request, kind: str) -> str:
        scheme, _, token = req.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _XrpcError(401, "AuthMissing", "Authentication Required")
        token = token.strip()
        found = self._tokens.get(token)
        if found is None:
            if token in self._revoked:
                raise _XrpcError(400, "ExpiredToken", "Token has been revoked")
            raise _XrpcError(401, "InvalidToken", "Token could not be verified")
        if found.kind != kind:
            raise _XrpcError(400, "InvalidToken", "Bad token scope")
        if found.expires <= self.state.clock():
            raise _XrpcError(400, "ExpiredToken", "Token has expired")
        return token

    # -- records --------------------------------------------------------------------------

    def _create_record(self, req: Request) -> Response:
        self._bearer(req, "access")
        body = _input(req, ("repo", "collection", "record"))
        rkey = body.get("rkey")
        if rkey is not None:
            _check_rkey(rkey)
            if rkey in self._records:
                raise _invalid(f"Record already exists at {POST}/{rkey}")
        return self._write(body, rkey or self._tid())

    def _put_record(self, req: Request) -> Response:
        self._bearer(req, "access")
        body = _input(req, ("repo", "collection", "rkey", "record"))
        _check_rkey(body["rkey"])
        return self._write(body, body["rkey"])

    def _write(self, body: dict[str, Any], rkey: str) -> Response:
        if body["repo"] not in (self.credentials.bluesky_did, self.handle_name):
            raise _invalid(f"Could not find repo: {body['repo']}")
        if body["collection"] != POST:
            raise _invalid(
                f"Unsupported collection: {body['collection']} (the sandbox holds {POST})"
            )
        record = body["record"]
        if not isinstance(record, dict):
            raise _invalid("Input/record must be an object")
        if record.get("$type") != POST:
            raise _invalid(f"Invalid $type: expected {POST}, got {record.get('$type')}")
        checked = body.get("validate") is not False
        if checked:
            try:
                check_post(record)
            except RecordError as exc:
                raise _invalid(str(exc)) from None
        facets_match = facets_ok(record)
        self._check_reply(record.get("reply"))
        did = self.credentials.bluesky_did
        uri = f"at://{did}/{POST}/{rkey}"
        cid = _cid(record)
        if rkey not in self._records:
            self.creations += 1
        self._records[rkey] = {
            "uri": uri,
            "cid": cid,
            "rkey": rkey,
            "text": record.get("text", ""),
            "createdAt": record.get("createdAt"),
            "langs": record.get("langs"),
            "facets": record.get("facets") or [],
            "facets_ok": facets_match,
            "reply": record.get("reply"),
            "record": record,
        }
        return Response(
            200,
            {
                "uri": uri,
                "cid": cid,
                "commit": {"cid": _cid({"commit": cid, "rkey": rkey}), "rev": self._tid()},
                "validationStatus": "valid" if checked else "unknown",
            },
        )

    def _check_reply(self, reply: Any) -> None:
        if reply is None:
            return
        if not isinstance(reply, dict):
            raise _invalid("Invalid app.bsky.feed.post record: Record/reply must be an object")
        for part in ("root", "parent"):
            ref = reply.get(part)
            if not isinstance(ref, dict) or not {"uri", "cid"} <= ref.keys():
                raise _invalid(
                    f"Invalid app.bsky.feed.post record: Record/reply/{part} must have "
                    'the properties "uri" and "cid"'
                )
            stored = self._records.get(str(ref["uri"]).rsplit("/", 1)[-1])
            if stored is None or stored["uri"] != ref["uri"] or stored["cid"] != ref["cid"]:
                raise _invalid(f"Could not locate record: {ref['uri']}")

    def _tid(self) -> str:
        """A record key in TID form: microseconds since the epoch, base32-sortable."""
        micros = max(int(self.state.clock() * 1_000_000), self._last_tid + 1)
        self._last_tid = micros
        value = (micros << 10) | (self.state.next_seq() & 0x3FF)
        return "".join(_S32[(value >> (5 * i)) & 31] for i in range(12, -1, -1))

    # -- rate limits ----------------------------------------------------------------------

    def _limit_headers(self, method: str) -> dict[str, str]:
        limit, period, cost = _POLICIES.get(method, _DEFAULT_POLICY)
        now = self.state.clock()
        window = self._windows.setdefault(method, FixedWindow(limit, period))
        window.hit(now, cost)
        return {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(window.remaining),
            "RateLimit-Reset": str(int(window.resets_at)),
            "RateLimit-Policy": f"{limit};w={int(period)}",
        }

    def rate_limited(self, retry_after: float) -> Response:
        limit, period, _ = _POLICIES["com.atproto.repo.createRecord"]
        headers = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(math.ceil(self.state.clock() + retry_after)),
            "RateLimit-Policy": f"{limit};w={period}",
        }
        body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        return Response(429, body, headers)

    def injected_failure(self, status: int) -> Response:
        names = {
            400: "InvalidRequest",
            401: "AuthenticationRequired",
            403: "Forbidden",
            404: "NotFound",
            500: "InternalServerError",
            501: "MethodNotImplemented",
            502: "UpstreamFailure",
            503: "NotEnoughResources",
            504: "UpstreamTimeout",
        }
        name = names.get(status, "InternalServerError")
        return Response(status, {"error": name, "message": f"Injected failure ({status})"})


def _input(req: Request, required: tuple[str, ...]) -> dict[str, Any]:
    try:
        body = req.json()
    except ValueError as exc:
        raise _invalid("Request body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise _invalid("Input must be an object")
    for name in required:
        if name not in body:
            raise _invalid(f'Input must have the property "{name}"')
    return body


def _check_rkey(rkey: Any) -> None:
    if not isinstance(rkey, str) or not _RKEY.match(rkey) or rkey in (".", ".."):
        raise _invalid("Input/rkey must be a valid Record Key")
