"""Fakes for testing channel adapters without notify's journal or a network (plugins too).

    from notify.channels.testing import delivery_context

    async def test_an_update_is_posted() -> None:
        ctx = delivery_context(handler=lambda request: httpx.Response(202))
        receipt = await MyChannel("ops", {"token": "t"}).send(message, recipient, thread, ctx)

`handler` answers every request the adapter sends (through httpx.MockTransport), so a test sees
exactly what would go over the wire; pass `http=` instead for a real client (one pointed at
`notify sandbox`, say). Sessions an adapter keeps between runs land in a `MemoryStore`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from notify.channels.base import DeliveryContext, SessionStore

if TYPE_CHECKING:
    import httpx

Handler = Callable[["httpx.Request"], "httpx.Response"]


class MemoryStore(dict[str, dict[str, Any]]):
    """A SessionStore in memory: what the journal keeps between runs, a test keeps here."""

    def set(self, key: str, value: dict[str, Any]) -> None:
        self[key] = value


def mock_client(handler: Handler) -> httpx.AsyncClient:
    """An httpx client whose every request `handler` answers, nothing leaving the process."""
    import httpx

    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def _no_network(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"unexpected HTTP request in a test: {request.method} {request.url}")


def delivery_context(
    http: httpx.AsyncClient | None = None,
    *,
    handler: Handler | None = None,
    store: SessionStore | None = None,
    incident: Mapping[str, Any] | None = None,
    update: Mapping[str, Any] | None = None,
    org: Mapping[str, Any] | None = None,
    delivery_key: str = "k",
    attempt: int = 1,
) -> DeliveryContext:
    """A DeliveryContext for one adapter call: requests go to `http`, else to `handler`, else
    fail the test (an adapter that should not talk HTTP); sessions to `store` (a new
    MemoryStore if none). The incident, update and organization default to the least an
    adapter reads: an id, an update number, nothing."""
    if http is None:
        http = mock_client(handler or _no_network)
    return DeliveryContext(
        http=http,
        store=MemoryStore() if store is None else store,
        incident={"id": "inc-1"} if incident is None else incident,
        update={"number": 1} if update is None else update,
        org={} if org is None else org,
        delivery_key=delivery_key,
        attempt=attempt,
    )
