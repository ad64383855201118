"""Fixtures the sandbox tests share: a sandbox serving on the test's own loop, and a client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from notify.sandbox import Sandbox


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    async with Sandbox() as sb:
        yield sb


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client
