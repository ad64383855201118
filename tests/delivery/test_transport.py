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
