"""A new update to a large audience is recorded in parts while its first part goes out: every
recipient still gets exactly one message, and a run killed between parts is finished by
`notify retry`, which records what was missing before sending it."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from collections import Counter

from notify.delivery.plan import FIRST_PART, LATER_PART
from notify.sandbox.config import channel, config_text
from tests.conftest import Workspace

COUNT = FIRST_PART + 2 * LATER_PART + 37  # a first part and three later ones, the last short
SEND = ["send", "investigating", "--title", "Checkout errors", "--message", "Card payments fail."]

# `notify send` in a process that is killed (SIGKILL, as the OOM killer would) as it starts
# recording the second part of its plan, once the first part has gone out: the moment at which,
# but for the row held back, nothing pending would tell `retry` the update is unfinished.
KILLED_WHILE_RECORDING = """
import asyncio, os, signal, sys
from notify.delivery.plan import Plan
from notify.journal.sqlite.journal import SqliteJournal

record_later = Plan._later

async def after_the_first_part(self, *args):
    await asyncio.sleep(1.5)  # 255 requests at 2,000/s are long answered by then
    async for jobs in record_later(self, *args):
        yield jobs

def killed(self, update_id, rows):
    os.kill(os.getpid(), signal.SIGKILL)

Plan._later = after_the_first_part
SqliteJournal.add_deliveries = killed
from notify.cli import main
sys.argv[0] = "notify"
main()
"""


def sms_workspace(ws: Workspace, suppressed: int = 0) -> list[str]:
    numbers = [f"+1415555{n:04d}" for n in range(COUNT)]
    sms = channel("twilio", ws.sandbox, to=numbers, rate_limit="2000/s")
    ws.write_config(config_text({"customers-sms": sms}, journal=".notify/journal.db"))
    return numbers


def received(ws: Workspace) -> Counter[str]:
    return Counter(r.form()["To"][0] for r in ws.sandbox.requests("twilio") if r.status == 201)


def journal_rows(ws: Workspace) -> Counter[str]:
    with sqlite3.connect(ws.journal) as db:
        return Counter(status for (status,) in db.execute("SELECT status FROM deliveries"))


def test_every_recipient_of_a_plan_recorded_in_parts_gets_one_message(
    workspace: Workspace,
) -> None:
    numbers = sms_workspace(workspace)
    workspace.run("suppress", "add", "customers-sms", numbers[-1])  # a skipped row, late on

    result = workspace.run(*SEND, "--yes", "--json")

    assert result.code == 0, result.output
    document = result.json()
    assert document["totals"]["sent"] == COUNT - 1
    assert len(document["deliveries"]) == COUNT, "one outcome per recipient, skipped one too"
    assert received(workspace) == Counter(numbers[:-1]), "each once, the opted-out one never"
    assert journal_rows(workspace) == {"sent": COUNT - 1, "skipped": 1}


def test_a_run_killed_between_parts_is_finished_by_retry(workspace: Workspace) -> None:
    numbers = sms_workspace(workspace)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_WHILE_RECORDING, "--config", str(workspace.config),
         *SEND, "--yes"],
        cwd=workspace.path, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    recorded = journal_rows(workspace)
    assert recorded == {"sent": FIRST_PART - 1, "pending": 1}, "the first part, one held back"
    went_out = received(workspace)

    retry = workspace.run("retry", "--yes", "--json")

    assert retry.code == 0, retry.output
    assert journal_rows(workspace) == {"sent": COUNT}
    assert len(went_out) == FIRST_PART - 1
    assert received(workspace) == Counter(numbers), "each once, the parts never recorded too"
