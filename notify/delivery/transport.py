"""The HTTP transport behind the one shared httpx.AsyncClient: several small connection pools.

httpcore's pool scans every pooled connection (and polls its socket) on each request, so one pool
of 50 keep-alive connections costs about 5 ms of CPU per request and caps a fan-out near
200 requests/s on this kind of machine. Spreading requests round-robin over many pools of four
keeps each scan short (about 1.4 ms a request) while still reusing connections.
Measured with benchmarks/delivery_sms.py.

The pools are made at the first request of their scheme: a run that speaks only plain HTTP (the
sandbox) never loads the CA bundle, and one that speaks HTTPS loads it once, for every pool.

With httpx-aiohttp installed (`pip install notify[fast]`), requests move to its transport as soon
as it is loaded (FastTransport): about half the CPU a request. Adapters still see httpx's API.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import importlib.util
import itertools
import os
import ssl
import sys
import threading
from typing import Any, cast

# httpx imports its own command line (httpx._main) whenever click and rich are installed, as
# they are for notify's output: rich.progress, rich.syntax and pygments, about 60 ms of a send's
# start before its first request, for nothing a request uses. Marked absent, it is skipped, as
# httpx does when they are not installed (`python -m httpx` in another process is unaffected).
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # after the line above, on purpose

POOL_SIZE = 4  # connections per pool: small enough that a pool scan is cheap
POOLS = 32  # pools: 128 connections in all, more than the busiest channel's concurrency


class ShardedTransport(httpx.AsyncBaseTransport):
    """Round-robin over `pools` httpx transports, each limited to `pool_size` connections."""

    def __init__(self, *, pools: int = POOLS, pool_size: int = POOL_SIZE) -> None:
        self._pools = pools
        self._limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        self._transports: list[httpx.AsyncHTTPTransport] = []
        self._plain: itertools.cycle[httpx.AsyncHTTPTransport] | None = None
        self._secure: itertools.cycle[httpx.AsyncHTTPTransport] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "https":
            pools = self._secure or self._make(secure=True)
        else:
            pools = self._plain or self._make(secure=False)
        return await next(pools).handle_async_request(request)

    def _make(self, *, secure: bool) -> itertools.cycle[httpx.AsyncHTTPTransport]:
        # One TLS context for all pools: loading the CA bundle costs ~40 ms each time. Plain
        # HTTP pools never use theirs; they get a bare one rather than load the bundle.
        tls = httpx.create_ssl_context() if secure else httpx.create_ssl_context(verify=False)
        made = [
            httpx.AsyncHTTPTransport(limits=self._limits, verify=tls) for _ in range(self._pools)
        ]
        self._transports.extend(made)
        pools = itertools.cycle(made)
        if secure:
            self._secure = pools
        else:
            self._plain = pools
        return pools

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()


class FastTransport(httpx.AsyncBaseTransport):
    """httpx-aiohttp's transport under the httpx client (about half the CPU a request, and one
    core is what bounds a fast fan-out), once it is loaded; notify's pools until then.

    Importing aiohttp takes ~140 ms of CPU. A run of a few requests (a tick, a handful of
    channels) never pays it; a fan-out starts loading it in a thread after its first
    LOAD_AFTER requests (so the first request is not slowed), and moves to it when it is ready.
    A fan-out paced at LOAD_NOW_RATE or more loads it before its first request instead
    (`load_now`): httpx alone keeps the event loop over half busy at that rate, so a load
    beside it starved the pacing, which lost 150-250 ms of its timeline at 500/s for good.
    """

    LOAD_AFTER = 50
    LOAD_NOW_RATE = 250.0  # requests a second, on one channel

    def __init__(self, *, load_after: int = LOAD_AFTER, load_now: bool = False) -> None:
        self._first = ShardedTransport()
        self._fast: httpx.AsyncBaseTransport | None = None
        self._loaded: concurrent.futures.Future[tuple[Any, ssl.SSLContext]] = (
            concurrent.futures.Future()
        )
        self._until_load = load_after
        if load_now:
            self._load()
            self._until_load = 0
            if self._loaded.exception() is None:
                self._fast = self._make_fast()

    def _load(self) -> None:
        try:
            tls = _tls_context_in_thread()
            module = importlib.import_module("httpx_aiohttp")
            self._loaded.set_result((module, tls.result()))
        except BaseException as exc:  # reported by the future, not lost
            self._loaded.set_exception(exc)

    def _make_fast(self) -> httpx.AsyncBaseTransport:
        module, tls = self._loaded.result()
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        return cast(httpx.AsyncBaseTransport, module.AiohttpTransport(verify=tls, limits=limits))

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        transport = self._fast
        if transport is None:
            transport = self._first
            self._until_load -= 1
            if self._until_load == 0:
                threading.Thread(target=self._load, name="notify-load-aiohttp", daemon=True).start()
            elif self._loaded.done() and self._loaded.exception() is None:
                transport = self._fast = self._make_fast()
        try:
            return await transport.handle_async_request(request)
        except httpx.TimeoutException as exc:
            cause = exc.__cause__
            if cause is None or isinstance(cause, TimeoutError):
                raise
            # httpx-aiohttp calls every aiohttp connection error a ConnectTimeout: a refused or
            # dropped connection is said as httpx says it, not as "timed out".
            if isinstance(cause, OSError):  # aiohttp's ClientConnectorError: could not connect
                raise httpx.ConnectError(str(cause), request=request) from cause
            raise httpx.ReadError(str(cause), request=request) from cause

    async def aclose(self) -> None:
        await self._first.aclose()
        if self._fast is not None:
            await self._fast.aclose()


def _tls_context_in_thread() -> concurrent.futures.Future[ssl.SSLContext]:
    """httpx's TLS context, made in a thread: loading the CA bundle (~25 ms) mostly releases
    the GIL, so it runs beside the import of aiohttp rather than after it."""
    made: concurrent.futures.Future[ssl.SSLContext] = concurrent.futures.Future()

    def make() -> None:
        try:
            made.set_result(httpx.create_ssl_context())
        except BaseException as exc:  # reported by the future, not lost
            made.set_exception(exc)

    threading.Thread(target=make, name="notify-tls-context", daemon=True).start()
    return made


def has_fast_transport() -> bool:
    """Whether httpx-aiohttp is installed (`pip install notify[fast]`)."""
    return importlib.util.find_spec("httpx_aiohttp") is not None


PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)


def shared_client(*, fastest_fan_out: float = 0.0) -> httpx.AsyncClient:
    """The one client every HTTP channel of a run shares (adapters pass their own timeouts).

    `fastest_fan_out` is the highest rate (requests a second) at which a channel of the run
    will send more than FastTransport.LOAD_AFTER requests; 0 when none will.

    Behind a proxy ($HTTPS_PROXY and friends) it is httpx's own client, which honours them (and
    $NO_PROXY); a custom transport would bypass them.
    """
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        return httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=True)
    transport: httpx.AsyncBaseTransport
    if has_fast_transport():
        transport = FastTransport(load_now=fastest_fan_out >= FastTransport.LOAD_NOW_RATE)
    else:
        transport = ShardedTransport()
    return httpx.AsyncClient(transport=transport, follow_redirects=False)
