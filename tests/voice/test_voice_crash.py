"""A run killed (SIGKILL) right after Twilio switched the support line to the incident's script,
before the journal heard back: `retry` finishes it, and `resolved` still puts back the number's
own voice URL, never the incident's script that was live when the run died."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from typing import Any

from notify.journal import open_journal
from notify.sandbox.core.emulator import Request, Response
from tests.voice.conftest import ORIGINAL_URL, VoiceWorkspace


class StallAfterSwitch:
    """Twilio does the switch, then its answer is held back (lost in the crash)."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.real = emulator.handle
        self.done = threading.Event()

    async def handle(self, req: Request) -> Response:
        response: Response = await self.real(req)
        switching = req.method == "POST" and "/IncomingPhoneNumbers/" in req.path
        if switching and not self.done.is_set():
            self.done.set()
            await asyncio.sleep(60)  # the client is killed meanwhile
        return response


def voice_rows(ws: VoiceWorkspace) -> list[str]:
    return [d.status for d in ws.deliveries() if d.channel == "support-line"]


def test_killed_after_the_switch_then_retry_restores_the_original_url(
    voice_workspace: VoiceWorkspace,
) -> None:
    ws = voice_workspace
    emulator = ws.sandbox.emulators["twilio"]
    stall = StallAfterSwitch(emulator)
    emulator.handle = stall.handle
    command = [
        sys.executable, "-m", "notify", "--config", str(ws.config), "send", "investigating",
        "--incident", "db-outage", "--title", "Database outage", "--message", "Logins fail.",
        "--to", "support-line", "--yes",
    ]  # fmt: skip
    run = subprocess.Popen(
        command, cwd=ws.path, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert stall.done.wait(60), run.communicate(timeout=5)
        os.kill(run.pid, signal.SIGKILL)
    finally:
        run.wait(timeout=30)
        emulator.handle = stall.real
    assert ws.number()["voice_url"].endswith("/ivr/db-outage.xml")  # Twilio did switch it
    assert voice_rows(ws) == ["unknown"]  # the journal cannot know whether it did

    retried = ws.run("retry", "--yes")
    assert retried.code == 0, retried.output
    assert voice_rows(ws) == ["sent"]
    journal = open_journal(ws.journal)
    try:
        line = journal.kv_get("support-line:line") or {}
    finally:
        journal.close()
    assert line["previous_url"] == ORIGINAL_URL  # not the incident's own script

    resolved = ws.send("resolved", "--incident", "db-outage", "--message", "Fixed.")
    assert resolved.code == 0, resolved.output
    number = ws.number()
    assert (number["voice_url"], number["voice_method"]) == (ORIGINAL_URL, "POST")
