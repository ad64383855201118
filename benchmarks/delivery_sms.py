"""SMS fan-outs at a rate_limit against the sandbox's Twilio (which enforces the same rate).

With the default settings (`concurrency: auto`), `rate_limit` alone should be what binds: the
floor is count / rate, the target within 1.05x of it, with zero 429s from the emulator. The two
presets of issue 10 run by default, each 3 times (the median is the figure):

    small   2,000 SMS at 200/s, provider latency 30 ms: floor 10 s
    large  10,000 SMS at 500/s, provider latency 50 ms: floor 20 s

    python -m benchmarks.delivery_sms [--preset small|large|both] [--runs 3]
    python -m benchmarks.delivery_sms --count 5000 --rate 250 --latency 0.1 [--concurrency 16]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from dataclasses import dataclass
from pathlib import Path

from benchmarks._common import SEND_ARGS, SandboxProcess, run_notify
from notify.sandbox.config import channel, config_text

TARGET = 1.05


@dataclass(frozen=True)
class Case:
    count: int
    rate: int
    latency: float

    @property
    def floor(self) -> float:
        return self.count / self.rate


PRESETS = {"small": Case(2_000, 200, 0.03), "large": Case(10_000, 500, 0.05)}


@dataclass
class Measured:
    seconds: float
    sending: float  # first request to last, as the sandbox saw them
    before_first: float  # process start to the first request
    sent: int
    too_many: int  # 429s from the emulator
    peak_mb: float
    code: int
    error: str


def run_once(case: Case, concurrency: int | None) -> Measured:
    numbers = [f"+1415555{n:04d}" for n in range(case.count)]
    with (
        SandboxProcess("--latency", str(case.latency), "--rate-limit", f"twilio={case.rate}") as sb,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        sms = channel(
            "twilio", sb.address, rate_limit=f"{case.rate}/s", concurrency=concurrency, to=numbers
        )
        (folder / "channels.yaml").write_text(config_text({"customers-sms": sms}), encoding="utf-8")
        run = run_notify([*SEND_ARGS, "--yes", "--json"], folder)
        everything = sb.stats()
    window = everything.get("window", {}).get("twilio", {"first": run.started, "last": 0.0})
    return Measured(
        seconds=run.seconds,
        sending=window["last"] - window["first"],
        before_first=window["first"] - run.started,
        sent=run.document.get("totals", {}).get("sent", 0),
        too_many=everything.get("twilio", {}).get("429", 0),
        peak_mb=run.peak_rss_mb,
        code=run.code,
        error=run.stderr[-2000:] if run.code else "",
    )


def report(name: str, case: Case, runs: list[Measured], concurrency: int | None) -> None:
    median = statistics.median(r.seconds for r in runs)
    setting = f"concurrency {concurrency}" if concurrency else "default concurrency (auto)"
    print(
        f"{name}: {case.count:,} SMS at {case.rate}/s, latency {case.latency * 1000:.0f} ms, "
        f"{setting}; {len(runs)} run(s)"
    )
    print(
        f"  wall time    {median:6.2f} s median ({', '.join(f'{r.seconds:.2f}' for r in runs)})"
        f"   floor {case.floor:.2f} s   {median / case.floor:.3f}x the floor "
        f"(target <= {TARGET}x)"
    )
    sending = statistics.median(r.sending for r in runs)
    print(
        f"  sending      {sending:6.2f} s first->last request ({case.count / sending:.0f}/s; "
        f"(N-1)/rate = {(case.count - 1) / case.rate:.2f} s, "
        f"{sending / case.floor:.3f}x count/rate); "
        f"before the first {statistics.median(r.before_first for r in runs):.2f} s"
    )
    print(
        f"  sent {min(r.sent for r in runs)}-{max(r.sent for r in runs)} of {case.count}; "
        f"429s from the emulator: {max(r.too_many for r in runs)} (target 0); "
        f"peak memory {max(r.peak_mb for r in runs):.1f} MB"
    )
    for r in runs:
        if r.code != 0:
            print(f"  exit {r.code}: {r.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=(*PRESETS, "both"), default="both")
    parser.add_argument("--count", type=int, help="a custom case instead of the presets")
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, help="an explicit cap (default: auto)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.count:
        cases = {"custom": Case(args.count, args.rate, args.latency)}
    elif args.preset == "both":
        cases = dict(PRESETS)
    else:
        cases = {args.preset: PRESETS[args.preset]}
    for name, case in cases.items():
        runs = [run_once(case, args.concurrency) for _ in range(args.runs)]
        report(name, case, runs, args.concurrency)


if __name__ == "__main__":
    main()
