"""Enter -> the first request on the wire, for `notify send --yes`: target under 0.5 s.

Everything before the fan-out counts: Python's start, imports, config and audience load,
preflight (rendering every message), recording the plan in the journal and the first claim.
Measured from the process's start to the first request the sandbox (in its own process) sees,
median of several runs, for two setups:

    2,000 recipients   one SMS channel (Twilio) with 2,000 numbers
    10 channels        ten channels of ten providers, the SMS one with its 2,000 numbers

    python -m benchmarks.first_request [--runs 5] [--count 2000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._common import SEND_ARGS, SandboxProcess, run_notify
from notify.sandbox.config import SandboxLike, channel, config_text

TARGET = 0.5

# One channel each, with what it needs beyond the emulator's sample (a few recipients).
TEN_PROVIDERS = (
    "twilio",
    "sendgrid",
    "slack",
    "teams",
    "discord",
    "telegram",
    "mastodon",
    "bluesky",
    "x",
    "webhook",
)


def channels(where: SandboxLike, count: int, ten: bool) -> dict[str, Any]:
    numbers = [f"+1415555{n:04d}" for n in range(count)]
    found = {"customers-sms": channel("twilio", where, rate_limit="200/s", to=numbers)}
    if ten:
        for provider in TEN_PROVIDERS[1:]:
            extra: dict[str, Any] = {}
            if provider == "sendgrid":
                extra["to"] = [f"customer{n}@example.com" for n in range(20)]
            found[f"{provider}-channel"] = channel(provider, where, **extra)
    return found


def first_request(count: int, ten: bool) -> tuple[float, int, str]:
    """(seconds from start to the first request, exit code, stderr's tail)."""
    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = config_text(channels(sb.address, count, ten))
        (folder / "channels.yaml").write_text(text, encoding="utf-8")
        run = run_notify([*SEND_ARGS, "--yes", "--json"], folder)
        window = sb.stats().get("window", {})
    first = min((w["first"] for w in window.values()), default=float("nan"))
    return first - run.started, run.code, run.stderr[-1500:] if run.code else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    for label, ten in ((f"{args.count:,} recipients", False), ("10 channels", True)):
        seconds = []
        for _ in range(args.runs):
            took, code, error = first_request(args.count, ten)
            seconds.append(took)
            if code not in (0,):
                print(f"  exit {code}: {error}")
        median = statistics.median(seconds)
        mark = "ok" if median < TARGET else "OVER"
        print(
            f"{label:<20} Enter -> first request {median:5.2f} s median "
            f"({', '.join(f'{s:.2f}' for s in seconds)})   target < {TARGET} s  {mark}"
        )


if __name__ == "__main__":
    main()
