"""The sandbox's HTTP/1.1 server: h11 over asyncio streams, one task per keep-alive connection.

It knows nothing of providers: it turns bytes into a `Request`, hands it to one handler, and
writes the `Response` back. There is no thread per request, so thousands of requests a second
from a benchmark are served by one loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as _json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import h11

__all__ = ["Handler", "HttpServer", "Request", "Response", "serve_connection"]


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


Handler = Callable[[Request], Awaitable[Response]]
_MAX_BODY = 10 * 1024 * 1024  # bigger than any provider accepts; stops a runaway client
_READ_SIZE = 65536


class HttpServer:
    """A listening socket whose every connection is served by `handler`, until close()."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> None:
        """Listen on the running loop; `port` 0 picks a free one (see .port)."""
        self._server = await asyncio.start_server(self._on_connection, host, port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and drop open connections (keep-alive clients included)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await serve_connection(reader, writer, self.handler)
        finally:
            self._connections.discard(task)


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
