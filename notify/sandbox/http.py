"""The emulator interface: one request in, one response out.

Every provider emulation subclasses `Emulator`; the core server (server.py)
parses HTTP, applies latency / injected failures / rate limits, and only then
calls `handle`. Emulators never touch sockets, so they stay small and testable.
The rest of the file is the core's own plumbing: what it records, its token bucket, and
`serve_connection`, the h11 loop behind every keep-alive connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json as _json
import math
import secrets as _secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import h11

from notify.sandbox.credentials import Credentials

__all__ = [
    "Emulator",
    "InjectedFailure",
    "Recorded",
    "Request",
    "Response",
    "SandboxState",
    "TokenBucket",
    "json_body",
    "serve_connection",
]


@dataclass
class SandboxState:
    """What an emulator may read from the sandbox it runs in."""

    credentials: Credentials = field(default_factory=Credentials)
    # Injectable so tests can freeze time (stale-timestamp checks, ts values).
    clock: Callable[[], float] = time.time
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str = "", hex_len: int = 32) -> str:
        """A unique id: prefix + hex_len hex digits (sequence number + randomness).

        The sequence number keeps ids unique and sortable across one sandbox's
        life; the random tail keeps them from looking like a counter.
        """
        seq = next(self._counter)
        head = f"{seq:012x}"
        if hex_len <= len(head):
            return prefix + head[-hex_len:]
        tail = _secrets.token_hex((hex_len - len(head) + 1) // 2)[: hex_len - len(head)]
        return prefix + head + tail

    def next_seq(self) -> int:
        """A monotonically increasing integer, shared by all emulators."""
        return next(self._counter)


@dataclass
class Request:
    """An HTTP request as an emulator sees it.

    `path` is relative to the provider's first segment: a request for
    /slack/api/chat.postMessage reaches the Slack emulator as
    "/api/chat.postMessage".
    """

    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    url: str = ""  # f"http://{host header}{raw path without query}"

    def json(self) -> Any:
        """The body decoded as JSON; raises ValueError on bad JSON or encoding."""
        try:
            return _json.loads(self.body.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"body is not UTF-8: {exc}") from exc

    def form(self) -> dict[str, list[str]]:
        """The body decoded as application/x-www-form-urlencoded."""
        return parse_qs(self.body.decode("utf-8", errors="replace"), keep_blank_values=True)

    @property
    def content_type(self) -> str:
        """The media type without parameters, lower-cased ("" when absent)."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


@dataclass
class Response:
    """A response; dict/list bodies become JSON, str bodies text/plain."""

    status: int
    body: bytes | str | dict[str, Any] | list[Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def encode(self) -> tuple[bytes, dict[str, str]]:
        """The body bytes and headers with a content-type filled in."""
        headers = dict(self.headers)
        lower = {k.lower() for k in headers}
        if isinstance(self.body, dict | list):
            data = _json.dumps(self.body, separators=(",", ":")).encode()
            if "content-type" not in lower:
                headers["Content-Type"] = "application/json; charset=utf-8"
        elif isinstance(self.body, str):
            data = self.body.encode()
            if "content-type" not in lower:
                headers["Content-Type"] = "text/plain; charset=utf-8"
        elif self.body is None:
            data = b""
        else:
            data = self.body
        return data, headers

    def json_value(self) -> Any:
        """The body as a Python value where it is JSON (for recordings)."""
        if isinstance(self.body, dict | list | str) or self.body is None:
            return self.body
        try:
            return _json.loads(self.body)
        except ValueError:
            return self.body.decode("utf-8", errors="replace")


@dataclass
class Recorded:
    """One request the sandbox received, with the answer it gave."""

    provider: str
    method: str
    path: str  # the full path, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_body: Any  # decoded JSON where the response was JSON
    response_headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0

    def json(self) -> Any:
        """The request body decoded as JSON (ValueError if it is not)."""
        return Request(self.method, self.path, body=self.body).json()

    def form(self) -> dict[str, list[str]]:
        return Request(self.method, self.path, body=self.body).form()


@dataclass
class TokenBucket:
    """A token bucket: `capacity` tokens (one period's allowance), refilled at `rate`/s."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0.0 on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class InjectedFailure:
    status: int
    retry_after: float | None


def json_body(req: Request) -> tuple[Any, Response | None]:
    """Decode a JSON body, or give a generic 400 the caller may return as is."""
    try:
        return req.json(), None
    except ValueError:
        return None, Response(400, {"error": "invalid JSON body"})


class Emulator(ABC):
    """One provider's API, served under /{name}/ on the sandbox."""

    name: ClassVar[str]

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._posts: list[dict[str, Any]] = []

    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    @abstractmethod
    async def handle(self, req: Request) -> Response:
        """Answer one request (auth, validation, storage) like the provider would."""

    def rate_limited(self, retry_after: float) -> Response:
        """The provider's 429; override for the provider's exact shape."""
        return Response(
            429,
            {"error": "rate limited", "retry_after": retry_after},
            {"Retry-After": str(max(1, math.ceil(retry_after)))},
        )

    def injected_failure(self, status: int) -> Response:
        """The provider's error shape for a status injected by Sandbox.fail()."""
        return Response(status, {"error": f"injected failure {status}"})

    def posts(self) -> list[dict[str, Any]]:
        """What was accepted, as the provider stored it (deep copies: callers may keep them)."""
        return copy.deepcopy(self._posts)

    def reset(self) -> None:
        self._posts.clear()


# -- the wire: one keep-alive HTTP/1.1 connection, parsed with h11 --------------------------

Handler = Callable[[Request], Awaitable[Response]]
_MAX_BODY = 10 * 1024 * 1024  # bigger than any provider accepts; stops a runaway client
_READ_SIZE = 65536


async def serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler
) -> None:
    """Serve requests on one connection until the client closes it or asks to."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
    try:
        while True:
            try:
                req = await _read_request(conn, reader, writer)
            except h11.RemoteProtocolError as exc:
                if conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
                    status = exc.error_status_hint
                    await _write(conn, writer, "GET", Response(status, {"error": str(exc)}))
                return
            if req is None:
                return
            response = await handler(req)
            await _write(conn, writer, req.method, response)
            if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
                return
            conn.start_next_cycle()
    except (ConnectionError, h11.LocalProtocolError):
        pass  # the client went away mid-exchange
    except asyncio.CancelledError:
        # The sandbox is stopping. End normally: asyncio (3.11) logs a cancelled
        # client_connected_cb task as an error.
        pass
    finally:
        writer.close()
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await writer.wait_closed()


async def _read_request(
    conn: h11.Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Request | None:
    head: h11.Request | None = None
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(_READ_SIZE))
        elif isinstance(event, h11.Request):
            head = event
            if conn.they_are_waiting_for_100_continue:
                writer.write(conn.send(h11.InformationalResponse(status_code=100, headers=[])))
        elif isinstance(event, h11.Data):
            size += len(event.data)
            if size > _MAX_BODY:
                raise h11.RemoteProtocolError("request body too large", error_status_hint=413)
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            assert head is not None
            return _to_request(head, b"".join(chunks))
        else:  # ConnectionClosed, or PAUSED (cannot happen: we answer before reading on)
            return None


def _to_request(head: h11.Request, body: bytes) -> Request:
    headers: dict[str, str] = {}
    for name, value in head.headers:
        key = name.decode("latin-1")  # h11 lower-cases names
        text = value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    target = head.target.decode("latin-1")
    raw_path, _, raw_query = target.partition("?")
    if raw_path.startswith(("http://", "https://")):  # absolute-form (a proxy-style client)
        raw_path = urlsplit(raw_path).path or "/"
    return Request(
        method=head.method.decode("ascii"),
        path=unquote(raw_path),
        query=parse_qs(raw_query, keep_blank_values=True),
        headers=headers,
        body=body,
        url=f"http://{headers.get('host', '')}{raw_path}",
    )


async def _write(
    conn: h11.Connection, writer: asyncio.StreamWriter, method: str, response: Response
) -> None:
    body, headers = response.encode()
    pairs = [(k, v) for k, v in headers.items() if k.lower() != "content-length"]
    pairs.append(("Content-Length", str(len(body))))
    pairs.append(("Server", "notify-sandbox"))
    out = conn.send(h11.Response(status_code=response.status, headers=pairs)) or b""
    if body and method != "HEAD":
        out += conn.send(h11.Data(data=body)) or b""
    out += conn.send(h11.EndOfMessage()) or b""
    writer.write(out)
    await writer.drain()
