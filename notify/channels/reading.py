"""Reading a provider's answer within bounds: at most MAX_ANSWER_BYTES, inflated a bit at a time."""

from __future__ import annotations

import zlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

# The most of a provider's answer ever read (decoded): every real answer, errors included, is far
# smaller; a hostile or broken endpoint's 1 GiB (or gzip bomb) stops here.
MAX_ANSWER_BYTES = 1 << 20


async def read_capped(
    response: httpx.Response, limit: int = MAX_ANSWER_BYTES
) -> tuple[bytes, bool]:
    """At most `limit` bytes of the decoded body, and whether there was more.

    Reads the raw stream and decompresses it here, `limit` bytes at a time at most, so neither a
    huge body nor a small compressed one that inflates to gigabytes (a gzip bomb) is ever held
    whole: reading stops at the cap. An encoding not asked for (only gzip and deflate are) is
    kept as it came, capped alike.
    """
    if response.is_stream_consumed:  # built in memory (httpx.MockTransport in tests)
        return response.content[:limit], len(response.content) > limit
    inflate = _decompressor(response.headers.get("content-encoding", ""))
    parts: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        if inflate is None:
            piece = chunk
        else:
            piece = inflate.decompress(inflate.unconsumed_tail + chunk, limit - size + 1)
        parts.append(piece)
        size += len(piece)
        if size > limit:
            return b"".join(parts)[:limit], True
    if inflate is not None:
        while inflate.unconsumed_tail and size <= limit:
            piece = inflate.decompress(inflate.unconsumed_tail, limit - size + 1)
            if not piece:
                break
            parts.append(piece)
            size += len(piece)
        if size > limit:
            return b"".join(parts)[:limit], True
    return b"".join(parts), False


class _Inflater:
    """zlib decompression whose output per call is bounded (`max_length`); raw deflate is
    told from zlib-wrapped deflate by the first bytes, as servers send either."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._zlib: Any = None

    @property
    def unconsumed_tail(self) -> bytes:
        return self._zlib.unconsumed_tail if self._zlib is not None else b""

    def decompress(self, data: bytes, max_length: int) -> bytes:
        if self._zlib is None:
            if not data:
                return b""
            wbits = self._wbits
            if wbits is None:  # "deflate": zlib-wrapped (RFC 9110) or, from some servers, raw
                zlib_header = (
                    len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
                )
                wbits = zlib.MAX_WBITS if zlib_header else -zlib.MAX_WBITS
            self._zlib = zlib.decompressobj(wbits)
        try:
            return self._zlib.decompress(data, max_length)
        except zlib.error:  # a corrupt body: what was inflated so far is all there is
            self._zlib = zlib.decompressobj()  # drops the tail; later calls inflate nothing
            return b""


def _decompressor(encoding: str) -> _Inflater | None:
    name = encoding.strip().lower()
    if name in ("gzip", "x-gzip"):
        return _Inflater(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Inflater(None)
    return None  # identity, or an encoding not asked for: the raw bytes, capped
