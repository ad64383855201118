"""`notify tick`: an idle tick with 1,000 incidents in the journal, and a due tick's first request.

- idle: `notify tick` as cron runs it (a new process: startup, config, journal, agenda), with
  1,000 incidents in the journal (50 open with their next update hours away, the rest resolved
  long ago) and nothing due. Target: under 0.3 s, so a per-minute cron costs nothing.
- due: a maintenance reminder to 200 SMS recipients in the sandbox; the time from calling the
  tick until its first delivery is claimed, right before the first request leaves. Target:
  under 0.5 s.

    python benchmarks/tick.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from notify.journal import open_journal
from notify.journal.base import Incident, PlannedDelivery

IDLE_TARGET = 0.3
FIRST_REQUEST_TARGET = 0.5
SCHEDULE = """
schedule:
  reminders_to: ops-slack
  remind_before: 5m
  maintenance_reminders: [24h, 1h]
  maintenance_auto: true
  feedback_after: 2h
"""


def seed_idle(journal_path: Path, count: int = 1000) -> None:
    journal = open_journal(journal_path)
    long_ago = datetime(2025, 1, 1, tzinfo=UTC)
    ahead = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        for n in range(count):
            open_one = n < 50
            at = (long_ago + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            incident = Incident(
                id=f"incident-{n:04d}",
                title=f"Incident {n}",
                status="investigating" if open_one else "resolved",
                started_at=at,
                updated_at=at,
                resolved_at=None if open_one else at,
            )
            journal.add_update(
                incident,
                key=f"seed-{n}",
                template="investigating" if open_one else "resolved",
                status=incident.status,
                message="seeded",
                next_update_at=ahead if open_one else None,
                context={"vars": {}, "at": at},
                deliveries=[PlannedDelivery("ops-slack", "slack", "C0123456789", status="sent")],
            )
    finally:
        journal.close()


def idle_tick(
    runs: int, *, every_type: bool = True, args: tuple[str, ...] = ("tick",)
) -> list[float]:
    from notify.sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        write_config(folder, sandbox, every_type=every_type)
        seed_idle(folder / ".notify" / "journal.db")
        cmd = [sys.executable, "-m", "notify", "--config", str(folder / "channels.yaml"), *args]
        # As installed: bytecode cached (here in a folder of its own, written by a first run).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(folder / "pycache")
        subprocess.run(cmd, capture_output=True, env=env)
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            done = subprocess.run(cmd, capture_output=True, text=True, env=env)
            times.append(time.perf_counter() - start)
            if done.returncode != 0:
                raise SystemExit(f"tick failed: {done.stderr.strip()}")
        return times


def write_config(folder: Path, sandbox: Any, *, every_type: bool = True) -> None:
    """The demo's channels.yaml (a channel of every type), or only its Slack and email ones."""
    from notify.cli.demo import demo_config_text
    from notify.sandbox.config import config_text, every_channel

    if every_type:
        text = demo_config_text(sandbox, journal=".notify/journal.db") + SCHEDULE
    else:
        offered = every_channel(sandbox, prefix="")
        chosen = {"ops-slack": offered["slack"], "status-email": offered["email"]}
        text = config_text(chosen, journal=".notify/journal.db") + SCHEDULE
    (folder / "channels.yaml").write_text(text, encoding="utf-8")


def first_request(recipients: int = 200) -> float:
    """Seconds from calling a due tick to its first claim (right before the first request)."""
    from notify.config import load_config
    from notify.delivery.inputs import UpdateRequest
    from notify.delivery.service import send_update
    from notify.delivery.tick import run_tick
    from notify.render.templates import TemplateSet
    from notify.sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        folder = Path(tmp)
        write_config(folder, sandbox)
        phones = folder / "phones.csv"
        phones.write_text(
            "phone\n" + "".join(f"+1415555{n:04d}\n" for n in range(recipients)), encoding="utf-8"
        )
        text = (folder / "channels.yaml").read_text()
        text = text.replace('to: ["+14155550100", "+442071838750"]', f"to: {phones}")
        text = text.replace("rate_limit: 10/s", "rate_limit: 1000/s")
        (folder / "channels.yaml").write_text(text, encoding="utf-8")
        config = load_config(folder / "channels.yaml")
        templates = TemplateSet.load(config.template_dirs, timezone=config.timezone)
        journal = open_journal(folder / ".notify" / "journal.db")
        now = datetime.now(UTC).replace(microsecond=0)
        starts = now + timedelta(hours=2)
        request = UpdateRequest(
            template="maintenance-scheduled",
            incident="db-upgrade",
            title="Database upgrade",
            starts=starts.isoformat(),
            ends=(starts + timedelta(hours=1)).isoformat(),
            to=["customers-sms"],
        )
        send_update(request, config, templates, journal, now=now)
        first: list[float] = []
        claim = journal.claim

        def timed_claim(delivery_id: int, owner: str) -> bool:
            if not first:
                first.append(time.perf_counter())
            return claim(delivery_id, owner)

        journal.claim = timed_claim  # type: ignore[method-assign]
        start = time.perf_counter()
        report = run_tick(config, templates, journal, now=starts - timedelta(minutes=59))
        journal.close()
        assert [a.status for a in report.actions] == ["sent"], report.actions
        return first[0] - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    floor = statistics.median(idle_tick(args.runs, every_type=False, args=("--help",)))
    print(f"notify --help (the floor, same machine and moment): {floor:.3f} s")
    small = statistics.median(idle_tick(args.runs, every_type=False))
    print(
        f"idle tick, 1,000 incidents, Slack + email config: {small:.3f} s"
        f"  (target < {IDLE_TARGET} s)"
    )
    idle = statistics.median(idle_tick(args.runs))
    print(
        f"idle tick, 1,000 incidents, every channel type:   {idle:.3f} s"
        f"  (target < {IDLE_TARGET} s; most of it is loading channels.yaml)"
    )
    due = statistics.median(first_request() for _ in range(3))
    print(
        f"due tick, time to the first request:        {due:.3f} s"
        f"  (target < {FIRST_REQUEST_TARGET} s)"
    )


if __name__ == "__main__":
    main()
