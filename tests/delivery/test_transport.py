"""The shared HTTP client: many small pools normally, httpx's own proxy handling behind a proxy."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from notify.delivery.transport import ShardedTransport, shared_client


def test_concurrent_requests_through_the_pools_all_arrive(workspace) -> None:  # type: ignore[no-untyped-def]
    url = workspace.sandbox.base_url("slack") + "/auth.test"

    async def run() -> set[int]:
        transport = ShardedTransport(pools=4, pool_size=2)
        async with httpx.AsyncClient(transport=transport) as client:
            responses = await asyncio.gather(*(client.post(url) for _ in range(40)))
        assert {r.status_code for r in responses} == {200}
        return {id(t) for t in transport._transports}

    assert len(asyncio.run(run())) == 4
    assert len(workspace.sandbox.requests("slack")) == 40


def test_proxy_settings_from_the_environment_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    client = shared_client()
    try:
        assert not isinstance(client._transport, ShardedTransport)
        mounts = {str(pattern.pattern) for pattern in client._mounts}
        assert "https://" in mounts
    finally:
        asyncio.run(client.aclose())


def test_requests_move_to_the_aiohttp_transport_once_it_is_loaded(workspace) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("httpx_aiohttp")
    from notify.delivery.transport import FastTransport

    url = workspace.sandbox.base_url("slack") + "/auth.test"

    async def run() -> tuple[bool, bool]:  # no token: Slack answers 200 with ok false
        transport = FastTransport(load_after=1)
        async with httpx.AsyncClient(transport=transport) as client:
            first = await client.post(url)  # by notify's pools, and aiohttp starts loading
            await asyncio.wrap_future(transport._loaded)
            responses = await asyncio.gather(*(client.post(url) for _ in range(20)))
            moved = transport._fast is not None
        assert first.status_code == 200
        assert {r.status_code for r in responses} == {200}
        assert len({r.json()["error"] for r in responses}) == 1  # Slack's answer, parsed alike
        return moved, first.json() == responses[0].json()

    assert asyncio.run(run()) == (True, True)
    assert len(workspace.sandbox.requests("slack")) == 21


def test_a_refused_connection_through_aiohttp_is_httpx_s_connect_error() -> None:
    pytest.importorskip("httpx_aiohttp")
    import socket

    from notify.delivery.transport import FastTransport

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    async def run() -> None:
        transport = FastTransport(load_after=1)
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError):  # notify's pools
                await client.post(f"http://127.0.0.1:{port}/")
            await asyncio.wrap_future(transport._loaded)
            with pytest.raises(httpx.ConnectError):  # aiohttp's, said as httpx says it
                await client.post(f"http://127.0.0.1:{port}/")

    asyncio.run(run())


def test_a_fan_out_paced_fast_uses_aiohttp_from_its_first_request(workspace) -> None:  # type: ignore[no-untyped-def]
    """At 500/s httpx alone keeps the loop busy: aiohttp is loaded before the first request,
    not beside the fan-out. At 200/s the first requests go through notify's pools."""
    pytest.importorskip("httpx_aiohttp")
    from notify.delivery.transport import FastTransport

    url = workspace.sandbox.base_url("slack") + "/auth.test"

    async def first_request(rate: float) -> tuple[bool, int]:
        async with shared_client(fastest_fan_out=rate) as client:
            transport = client._transport
            assert isinstance(transport, FastTransport)
            ready = transport._fast is not None
            response = await client.post(url)
            return ready, response.status_code

    assert asyncio.run(first_request(500.0)) == (True, 200)
    assert asyncio.run(first_request(200.0)) == (False, 200)
    assert len(workspace.sandbox.requests("slack")) == 2
