"""10,000 SMS at rate_limit 500/s against the sandbox's Twilio with 50 ms latency.

Floor: 10,000 / 500 per second = 20 s. Target: within 1.05x the floor, with zero 429s from the
emulator (whose own limit is 500/s too), and peak memory of the notify process under 150 MB.

    python -m benchmarks.delivery_sms [--count 10000] [--rate 500] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._common import SEND_ARGS, SandboxProcess, run_notify
from notify.sandbox.config import channel, config_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    numbers = [f"+1415555{n:04d}" for n in range(args.count)]
    concurrency = max(4, int(args.rate * args.latency * 2))
    with (
        SandboxProcess("--latency", str(args.latency), "--rate-limit", f"twilio={args.rate}") as sb,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        sms = channel(
            "twilio", sb.address, rate_limit=f"{args.rate}/s", concurrency=concurrency, to=numbers
        )
        (folder / "channels.yaml").write_text(config_text({"customers-sms": sms}), encoding="utf-8")
        run = run_notify([*SEND_ARGS, "--yes", "--json"], folder)
        everything = sb.stats()
        stats = everything.get("twilio", {})
        window = everything.get("window", {}).get("twilio", {})
    floor = args.count / args.rate
    totals = run.document.get("totals", {})
    retried = sum(1 for d in run.document.get("deliveries", []) if d.get("attempts", 1) > 1)
    print(
        f"sent {totals.get('sent', 0)} of {args.count} SMS (exit {run.code}); "
        f"concurrency {concurrency}"
    )
    print(
        f"wall time       {run.seconds:6.2f} s   "
        f"floor {floor:.2f} s ({args.count} / {args.rate}/s)   "
        f"{run.seconds / floor:.3f}x the floor (target <= 1.05x)"
    )
    if window:
        first = window["first"] - run.started
        sending = window["last"] - window["first"]
        after = run.seconds - first - sending
        print(
            f"  of which: start-up, config, preflight and planning {first:.2f} s; "
            f"sending {sending:.2f} s ({args.count / sending:.0f}/s); report {after:.2f} s"
        )
    print(
        f"429s from the emulator: {stats.get('429', 0)} (target 0); deliveries retried: {retried}"
    )
    print(f"peak memory     {run.peak_rss_mb:6.1f} MB (target < 150 MB)")
    if run.code != 0:
        print(run.stderr[-2000:])


if __name__ == "__main__":
    main()
