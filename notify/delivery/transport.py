"""The HTTP transport behind the one shared httpx.AsyncClient: several small connection pools.

httpcore's pool scans every pooled connection (and polls its socket) on each request, so one pool
of 50 keep-alive connections costs about 5 ms of CPU per request and caps a fan-out near
200 requests/s on this kind of machine. Spreading requests round-robin over many pools of four
keeps each scan short (about 1.4 ms a request) while still reusing connections.
Measured with benchmarks/delivery_sms.py.

The pools are made at the first request of their scheme: a run that speaks only plain HTTP (the
sandbox) never loads the CA bundle, and one that speaks HTTPS loads it once, for every pool.
"""

from __future__ import annotations

import itertools
import os
import sys

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


PROXY_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "https_proxy",
    "http_proxy",
    "all_proxy",
)


def shared_client() -> httpx.AsyncClient:
    """The one client every HTTP channel of a run shares (adapters pass their own timeouts).

    Behind a proxy ($HTTPS_PROXY and friends) it is httpx's own client, which honours them (and
    $NO_PROXY); a custom transport would bypass them.
    """
    if any(os.environ.get(name) for name in PROXY_VARIABLES):
        limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
        return httpx.AsyncClient(limits=limits, follow_redirects=False, trust_env=True)
    return httpx.AsyncClient(transport=ShardedTransport(), follow_redirects=False)
