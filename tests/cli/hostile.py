"""A hostile HTTP endpoint on 127.0.0.1 for tests: it answers any request with a huge, compressed,
trickling or escape-laden body, and counts what it sent. Every loop is bounded."""

from __future__ import annotations

import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MIB = 1 << 20
GIB = 1 << 30


def gzip_bomb(inflated: int = GIB) -> bytes:
    """About 1 MB of gzip that inflates to `inflated` zero bytes (a multiple of 1 MiB).

    Built from a sync-flushed deflate block of 1 MiB of zeros repeated, so it costs well under a
    second to make rather than compressing a gigabyte.
    """
    blocks = inflated // MIB
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    zeros = bytes(MIB)
    first = deflate.compress(zeros) + deflate.flush(zlib.Z_SYNC_FLUSH)
    middle = deflate.compress(zeros) + deflate.flush(zlib.Z_SYNC_FLUSH)
    last = deflate.compress(zeros) + deflate.flush(zlib.Z_FINISH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, inflated & 0xFFFFFFFF)
    return header + first + middle * (blocks - 2) + last + trailer


@dataclass
class Hostile:
    """What the endpoint answers: `status`, then `mode`'s body. Counts what went out."""

    url: str
    mode: str = "huge"
    status: int = 400
    text: bytes = b""  # the body for mode "text"
    sent: int = 0  # body bytes written, all requests together
    requests: int = 0
    bomb: bytes = field(default=b"", repr=False)


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 1 << 16:
        chunk = conn.recv(65536)
        if not chunk:
            return
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            return
        body += chunk


def _answer(conn: socket.socket, hostile: Hostile) -> None:
    reason = {200: b"OK", 400: b"Bad Request", 500: b"Internal Server Error"}
    status = b"HTTP/1.1 %d %s\r\n" % (hostile.status, reason.get(hostile.status, b"Status"))
    if hostile.mode == "huge":  # 1 GiB announced, sent until the client stops reading
        conn.sendall(status + b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n" % GIB)
        chunk = b"x" * 65536
        for _ in range(GIB // len(chunk)):
            conn.sendall(chunk)
            hostile.sent += len(chunk)
    elif hostile.mode == "gzip":
        body = hostile.bomb
        conn.sendall(
            status + b"Content-Type: text/plain\r\nContent-Encoding: gzip\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)
        )
        conn.sendall(body)
        hostile.sent += len(body)
    elif hostile.mode == "trickle":  # a byte every 0.2 s, for at most a minute
        conn.sendall(status + b"Content-Type: text/plain\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(300):
            conn.sendall(b"x")
            hostile.sent += 1
            time.sleep(0.2)
    else:
        body = hostile.text
        conn.sendall(
            status + b"Content-Type: text/plain; charset=utf-8\r\n"
            b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
        )
        conn.sendall(body)
        hostile.sent += len(body)


@contextmanager
def hostile_endpoint(
    mode: str = "huge", *, status: int = 400, text: bytes = b""
) -> Iterator[Hostile]:
    """A server on 127.0.0.1 answering every request as `mode` says, while the block runs."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    hostile = Hostile(url=f"http://127.0.0.1:{port}/hook", mode=mode, status=status, text=text)
    if mode == "gzip":
        hostile.bomb = gzip_bomb()
    stop = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            try:
                _read_request(conn)
                hostile.requests += 1
                _answer(conn, hostile)
            except OSError:  # the client hung up: what it was meant to do
                pass

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(60)
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield hostile
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def webhook_config(url: str, *, timeout: int = 3) -> str:
    """A channels.yaml with one webhook channel to `url`, no retries."""
    return f"""version: 1
organization:
  name: Acme Cloud
journal: .notify/journal.db
channels:
  hook:
    type: webhook
    url: {url}
    timeout: {timeout}
    retries: 0
"""
