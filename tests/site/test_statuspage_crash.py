"""A run killed (SIGKILL) while its Statuspage request is in flight: Statuspage did the work, the
journal says `unknown`. `retry`, then a re-run with the same --key, must leave one Statuspage
incident with one update per notify update: the page is asked before anything is sent again."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from notify.journal import open_journal
from notify.sandbox.core.emulator import Request, Response
from tests.site.conftest import SiteWorkspace


class Stall:
    """Makes the emulator do a request's work, then hold its answer back (a response lost in a
    crash): `done` is set once the work is done."""

    def __init__(self, emulator: Any, method: str) -> None:
        self.emulator, self.method = emulator, method
        self.done = threading.Event()
        self.real = emulator.handle

    async def handle(self, req: Request) -> Response:
        response: Response = await self.real(req)
        if req.method == self.method and "/incidents" in req.path and not self.done.is_set():
            self.done.set()
            await asyncio.sleep(60)  # the client is killed meanwhile
        return response


@pytest.fixture
def stall(site_workspace: SiteWorkspace) -> Iterator[Any]:
    emulator = site_workspace.sandbox.emulators["statuspage"]
    stalls: list[Stall] = []

    def install(method: str) -> Stall:
        stall = Stall(emulator, method)
        emulator.handle = stall.handle
        stalls.append(stall)
        return stall

    yield install
    for stall in stalls:
        emulator.handle = stall.real


def send_in_a_process(ws: SiteWorkspace, *args: str) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "notify", "--config", str(ws.config), "send", *args]
    return subprocess.Popen(
        [*command, "--to", "hosted-status", "--yes"],
        cwd=ws.path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def statuspage_rows(ws: SiteWorkspace) -> list[str]:
    journal = open_journal(ws.journal)
    try:
        return [d.status for d in journal.deliveries() if d.channel == "hosted-status"]
    finally:
        journal.close()


@pytest.mark.parametrize("killed", ["create", "update"])
def test_sigkill_mid_request_then_retry_and_rerun_leave_one_incident(
    site_workspace: SiteWorkspace, stall: Any, killed: str
) -> None:
    ws = site_workspace
    first = ["investigating", "--incident", "db-1", "--title", "Checkout errors",
             "--message", "Card payments fail.", "--key", "db-1#1"]  # fmt: skip
    second = ["identified", "--incident", "db-1", "--message", "Found it.", "--key", "db-1#2"]
    if killed == "update":
        assert ws.send(*first, "--to", "hosted-status").code == 0
    args = first if killed == "create" else second
    stalled = stall("POST" if killed == "create" else "PATCH")
    run = send_in_a_process(ws, *args)
    try:
        assert stalled.done.wait(60), run.communicate(timeout=5)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait(timeout=30)
    ws.sandbox.emulators["statuspage"].handle = stalled.real
    assert statuspage_rows(ws)[-1] == "unknown"  # the journal cannot know whether it went out

    retried = ws.run("retry", "--yes", "--json")
    assert retried.code == 0, retried.output
    rerun = ws.send(*args, "--to", "hosted-status", "--json")
    assert rerun.code == 0, rerun.output
    assert [d["status"] for d in rerun.json()["deliveries"]] == ["skipped"]
    assert statuspage_rows(ws) == ["sent"] * (1 if killed == "create" else 2)

    (incident,) = ws.sandbox.posts("statuspage")
    expected = ["investigating"] if killed == "create" else ["identified", "investigating"]
    assert [u["status"] for u in incident["incident_updates"]] == expected
    # The stalled request is recorded only once answered: every POST recorded came after it,
    # and none did (the first send of the "update" case made the one create).
    creates = [r for r in ws.sandbox.requests("statuspage") if r.method == "POST"]
    assert len(creates) == (0 if killed == "create" else 1)
