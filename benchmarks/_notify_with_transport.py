"""`python -m notify` with another HTTP transport under the shared httpx client (benchmarks only).

    python -m benchmarks._notify_with_transport default|sharded|aiohttp|httpx-pool NOTIFY-ARGS...

`default` is what notify ships (shared_client()); `sharded` is its own httpx pools alone
(notify.delivery.transport.ShardedTransport); `aiohttp` is httpx-aiohttp's AiohttpTransport
alone (pip install httpx-aiohttp); `httpx-pool` is httpx's default single pool.
"""

from __future__ import annotations

import sys


def main() -> None:
    variant, args = sys.argv[1], sys.argv[2:]
    import httpx

    from notify.delivery import transport

    if variant == "aiohttp":
        from httpx_aiohttp import AiohttpTransport

        def client() -> httpx.AsyncClient:
            limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
            return httpx.AsyncClient(transport=AiohttpTransport(limits=limits))

        transport.shared_client = client
    elif variant == "httpx-pool":

        def pooled() -> httpx.AsyncClient:
            limits = httpx.Limits(max_connections=128, max_keepalive_connections=128)
            return httpx.AsyncClient(limits=limits)

        transport.shared_client = pooled
    elif variant == "sharded":

        def sharded() -> httpx.AsyncClient:
            return httpx.AsyncClient(transport=transport.ShardedTransport())

        transport.shared_client = sharded
    elif variant != "default":
        raise SystemExit(f"unknown transport {variant!r}")
    sys.argv = ["notify", *args]
    from notify.cli import main as notify_main

    notify_main()


if __name__ == "__main__":
    main()
