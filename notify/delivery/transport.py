"""The HTTP transport behind the one shared httpx.AsyncClient: several small connection pools.

httpcore's pool scans every pooled connection (and polls its socket) on each request, so one pool
of 50 keep-alive connections costs about 5 ms of CPU per request and caps a fan-out near
200 requests/s on this kind of machine. Spreading requests round-robin over many pools of four
keeps each scan short (about 1.4 ms a request) while still reusing connections.
Measured with benchmarks/delivery_sms.py.
"""

from __future__ import annotations

import itertools
import os

import httpx

POOL_SIZE = 4  # connections per pool: small enough that a pool scan is cheap
POOLS = 32  # pools: 128 connections in all, more than the busiest channel's concurrency


class ShardedTransport(httpx.AsyncBaseTransport):
    """Round-robin over `pools` httpx transports, each limited to `pool_size` connections."""

    def __init__(self, *, pools: int = POOLS, pool_size: int = POOL_SIZE) -> None:
        limits = httpx.Limits(max_connections=pool_size, max_keepalive_connections=pool_size)
        # One TLS context for all pools: loading the CA bundle costs ~45 ms each time.
        tls = httpx.create_ssl_context()
        self._transports = [
            httpx.AsyncHTTPTransport(limits=limits, verify=tls) for _ in range(pools)
        ]
        self._next = itertools.cycle(self._transports)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await next(self._next).handle_async_request(request)

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
