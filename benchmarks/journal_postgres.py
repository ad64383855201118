"""10,000 SMS on a PostgreSQL journal and on a SQLite journal, in one run, side by side.

The same `notify send` to the sandbox's Twilio (in another process, no latency, no rate limit),
once with the journal in a SQLite file and once in a PostgreSQL database on this machine (a
throwaway server from the tests' tests/postgres.py: Debian's binaries, fsync off, as SQLite runs
with synchronous=NORMAL). Every delivery is read, claimed and finished in the journal, so this
measures the journal's per-delivery cost. Target: PostgreSQL within 1.5x of SQLite's wall time.
Each journal gets a fresh file or database per run; runs alternate, and the best of each counts.
Beside wall time, the notify process's CPU time: steadier than wall time on a busy machine.

    python -m benchmarks.journal_postgres [--count 10000] [--concurrency 16] [--runs 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
from pathlib import Path

from benchmarks._common import SEND_ARGS, Run, SandboxProcess, run_notify
from notify.sandbox.config import channel, config_text
from tests.postgres import started_server

TARGET = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--runs", type=int, default=2, help="runs per journal (best counts)")
    args = parser.parse_args()
    server = started_server()
    if server is None:
        raise SystemExit("no PostgreSQL server binaries: apt-get install postgresql")
    numbers = [f"+1415555{n:04d}" for n in range(args.count)]
    best: dict[str, tuple[Run, float]] = {}
    try:
        with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            sms = channel("twilio", sb.address, concurrency=args.concurrency, to=numbers)
            config = config_text({"customers-sms": sms})
            (folder / "channels.yaml").write_text(config, encoding="utf-8")
            for n in range(args.runs):
                for backend in ("sqlite", "postgresql"):
                    if backend == "sqlite":
                        run, cpu = _send(folder, str(folder / f"journal-{n}.db"))
                    else:
                        with server.database() as dsn:
                            run, cpu = _send(folder, dsn)
                    if run.code != 0:
                        raise SystemExit(f"{backend}: exit {run.code}\n{run.stderr[-2000:]}")
                    sent = run.document.get("totals", {}).get("sent", 0)
                    print(
                        f"  run {n + 1} {backend:<10} {run.seconds:6.2f} s, "
                        f"cpu {cpu:6.2f} s  ({sent} sent)"
                    )
                    if backend not in best or run.seconds < best[backend][0].seconds:
                        best[backend] = run, cpu
    finally:
        server.stop()

    (sqlite, sqlite_cpu), (postgres, postgres_cpu) = best["sqlite"], best["postgresql"]
    print(f"{args.count} SMS, concurrency {args.concurrency}, no latency, no rate limit")
    for name, run, cpu in (("SQLite", sqlite, sqlite_cpu), ("PostgreSQL", postgres, postgres_cpu)):
        rate = args.count / run.seconds
        print(
            f"{name:<11} {run.seconds:6.2f} s  {rate:6.0f} deliveries/s  "
            f"notify cpu {cpu:6.2f} s  peak {run.peak_rss_mb:5.1f} MB"
        )
    ratio = postgres.seconds / sqlite.seconds
    verdict = "ok" if ratio <= TARGET else "over"
    print(f"PostgreSQL / SQLite: {ratio:.2f}x (target <= {TARGET}x: {verdict})")


def _send(folder: Path, journal: str) -> tuple[Run, float]:
    """The run, and the CPU seconds (user + system) of its notify process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = run_notify(["--journal", journal, *SEND_ARGS, "--yes", "--json"], folder)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return run, cpu


if __name__ == "__main__":
    main()
