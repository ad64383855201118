"""CPU time notify spends per request of a fan-out, for the options of issue 10, side by side.

At high rates one core is the limit, so CPU per request decides the fastest rate a run holds.
In one run, interleaved (a busy moment on the machine weighs on every option alike):

- `notify send` of N SMS to the sandbox's Twilio (its own process, latency 0, no rate limit)
  with the transport notify ships (`default`), with httpx and notify's many small pools alone
  (`sharded`), with httpx-aiohttp's transport alone under the same httpx client (`aiohttp`,
  `pip install httpx-aiohttp`), and with httpx's one default pool (`httpx-pool`). CPU per
  request is (CPU of the send - CPU of the same command's dry run) / N: start-up, config and
  preflight taken out.
- The journal's share: claim + finish of N rows one at a time (as the dispatcher writes them,
  each its own statement), against batching them 20 to a transaction (what "batched journal
  writes" could save at most).

    python -m benchmarks.cpu_per_request [--count 3000] [--runs 3]
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import SEND_ARGS, SandboxProcess
from notify.sandbox.config import channel, config_text

VARIANTS = ("default", "sharded", "aiohttp", "httpx-pool")


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_of(variant: str, args: list[str], folder: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `notify` run through `variant`'s transport."""
    before, start = children_cpu(), time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks._notify_with_transport", variant, *args],
        cwd=folder,
        env={"HOME": str(folder), "PATH": "/usr/bin:/bin", "PYTHONPATH": sys.path[0]},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{variant}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
    return children_cpu() - before, time.perf_counter() - start


def transports(count: int, runs: int) -> None:
    variants = [v for v in VARIANTS if v != "aiohttp" or importlib.util.find_spec("httpx_aiohttp")]
    per_request: dict[str, list[float]] = {v: [] for v in variants}
    walls: dict[str, list[float]] = {v: [] for v in variants}
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sms = channel("twilio", sb.address, to=numbers, concurrency=32)
        (folder / "channels.yaml").write_text(config_text({"customers-sms": sms}), encoding="utf-8")
        for _ in range(runs):
            for variant in variants:
                dry, _ = cpu_of(variant, [*SEND_ARGS, "--dry-run", "--json"], folder)
                sent, wall = cpu_of(variant, [*SEND_ARGS, "--yes", "--json"], folder)
                per_request[variant].append((sent - dry) / count)
                walls[variant].append(wall)
    print(f"notify send, {count:,} SMS, no rate limit, 32 in flight; {runs} run(s) each:")
    base = statistics.median(per_request["sharded"])  # httpx as before issue 10
    for variant in variants:
        ms = statistics.median(per_request[variant])
        print(
            f"  {variant:<11} {ms * 1000:5.2f} ms CPU a request "
            f"({', '.join(f'{x * 1000:.2f}' for x in per_request[variant])}), "
            f"{ms / base:4.2f}x httpx's; {count / statistics.median(walls[variant]):5.0f} "
            "requests/s wall, start-up included"
        )
    if "aiohttp" not in variants:
        print("  (aiohttp: pip install httpx-aiohttp to compare it)")


def journal_writes(count: int) -> None:
    from notify.journal import open_journal
    from notify.journal.base import Incident, PlannedDelivery

    with tempfile.TemporaryDirectory() as tmp:
        journal = open_journal(Path(tmp) / "journal.db")
        results = {}
        for label, batch in (("one at a time", 1), ("20 a transaction", 20)):
            incident = Incident(id=f"inc-{batch}", title="t", status="investigating")
            _, rows = journal.add_update(
                incident,
                key=f"k{batch}",
                template="investigating",
                status="investigating",
                message="m",
                next_update_at=None,
                context={},
                deliveries=[PlannedDelivery("sms", "sms", f"+1{n}") for n in range(count)],
            )
            ids = [row.id for row in rows]
            fields = {"status": "sent", "attempts": 1, "provider_message_id": "SM1"}
            start = time.process_time()
            if batch == 1:
                for delivery_id in ids:
                    journal.claim(delivery_id, "bench")
                    journal.finish(delivery_id, **fields)  # type: ignore[arg-type]
            else:
                for i in range(0, count, batch):
                    chunk = ids[i : i + batch]
                    journal.claim_many(chunk, "bench")
                    journal.finish_many([(d, fields) for d in chunk])
            results[label] = (time.process_time() - start) / count
        journal.close()
    print(f"journal (SQLite) claim + finish, {count:,} deliveries:")
    single = results["one at a time"]
    for label, seconds in results.items():
        print(
            f"  {label:<17} {seconds * 1000:5.3f} ms CPU a delivery"
            f" (saves {(single - seconds) * 1000:5.3f} ms a request)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    transports(args.count, args.runs)
    journal_writes(args.count)


if __name__ == "__main__":
    main()
