"""A 100,000-recipient CSV audience: `send --dry-run --json`, and with --send a real send of every
SMS to the sandbox's Twilio in a separate process.

Targets (printed, not asserted): the dry run (config load and row checks, recipients, rendering,
the plan as JSON) under 10 s and 200 MB peak memory. The real send adds journaling 100,000
deliveries and sending them at rate_limit 1000/s (floor: 100 s), latency 0, concurrency 50.

    python -m benchmarks.audience [--count 100000] [--send] [--keep DIR]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
from pathlib import Path

from benchmarks._common import SEND_ARGS, Run, SandboxProcess, run_notify
from notify.sandbox.config import SandboxAddress, SandboxLike, channel, config_text

DRY_RUN_SECONDS = 10.0
PEAK_MB = 200.0
LOCALES = ("en", "en", "en", "de", "fr")
TAGS = ("eu", "us", "apac", "eu;vip", "us|beta")
# Exchanges 200-999 of these New York, Chicago, San Francisco, Boston and Washington area codes
# are all valid numbers to libphonenumber: 5 x 800 x 10,000 numbers to draw from.
AREA_CODES = ("212", "312", "415", "617", "202")


def phone(n: int) -> str:
    area = AREA_CODES[n % len(AREA_CODES)]
    rest = n // len(AREA_CODES)
    return f"+1{area}{200 + rest // 10_000}{rest % 10_000:04d}"


def write_audience(path: Path, count: int) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "name", "locale", "tags", "plan"])
        for n in range(count):
            out.writerow([phone(n), f"Customer {n}", LOCALES[n % 5], TAGS[n % 5], "pro"])


def audience_config(where: SandboxLike, *, rate: int, concurrency: int) -> str:
    """channels.yaml: one SMS channel to customers.csv, through the sandbox's Twilio."""
    sms = channel(
        "twilio", where, rate_limit=f"{rate}/s", concurrency=concurrency, to="customers.csv"
    )
    return config_text({"customers-sms": sms})


def report(what: str, run: Run, count: int, *, target_s: float | None) -> None:
    totals = run.document.get("totals", {})
    target = f"   (target < {target_s:.0f} s)" if target_s else ""
    print(f"{what}: exit {run.code}, totals {totals}")
    print(f"  wall time   {run.seconds:7.2f} s{target}   {count / run.seconds:,.0f} recipients/s")
    print(f"  peak memory {run.peak_rss_mb:7.1f} MB   (target < {PEAK_MB:.0f} MB)")
    if run.code != 0:
        print(run.stderr[-2000:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--send", action="store_true", help="also send every SMS to a sandbox")
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, help="an explicit cap (default: auto)")
    parser.add_argument("--keep", type=Path, help="write the files here and leave them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.keep or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        write_audience(folder / "customers.csv", args.count)
        size = (folder / "customers.csv").stat().st_size / 1e6
        print(f"audience: {args.count:,} rows, {size:.1f} MB of CSV")

        # The dry run talks to nobody: any base_url will do.
        (folder / "channels.yaml").write_text(
            audience_config(
                SandboxAddress("http://127.0.0.1:9"), rate=args.rate, concurrency=args.concurrency
            ),
            encoding="utf-8",
        )
        dry = run_notify([*SEND_ARGS, "--dry-run", "--json"], folder)
        report("send --dry-run --json", dry, args.count, target_s=DRY_RUN_SECONDS)

        if not args.send:
            print("(a real send of every message: --send; its floor at 1000/s is 100 s)")
            return
        with SandboxProcess("--latency", "0", "--rate-limit", f"twilio={args.rate}") as sb:
            (folder / "channels.yaml").write_text(
                audience_config(sb.address, rate=args.rate, concurrency=args.concurrency),
                encoding="utf-8",
            )
            sent = run_notify([*SEND_ARGS, "--yes", "--json"], folder)
            stats = sb.stats().get("twilio", {})
        floor = args.count / args.rate
        report("send --json (real, to the sandbox)", sent, args.count, target_s=None)
        print(
            f"  floor {floor:.0f} s at {args.rate}/s: {sent.seconds / floor:.2f}x the floor; "
            f"the sandbox's Twilio saw {stats}"
        )


if __name__ == "__main__":
    main()
