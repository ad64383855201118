"""100,000 emails through the sendgrid provider to the sandbox's SendGrid in another process.

SendGrid takes up to 1,000 recipients per Mail Send request, so 100,000 recipients should make
100 requests (each recipient its own personalization: To, Message-ID, unsubscribe link, delivery
key) while the journal still gets one row per recipient. Prints the requests made, the wall time
of `notify send` (start-up to report), and the notify process's peak memory.

    python -m benchmarks.sendgrid [--count 100000] [--latency 0.05] [--concurrency 4] [--to csv]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks._common import SEND_ARGS, SandboxProcess, run_notify
from notify.sandbox.config import SandboxLike, channel, config_text


def sendgrid_config(
    where: SandboxLike, count: int, concurrency: int, audience: str | None = None
) -> str:
    """channels.yaml for `count` recipients: listed in `to:`, or in the audience file named."""
    email = channel(
        "sendgrid",
        where,
        sender="Acme Status <status@acme.example>",
        to=audience or [f"customer{n}@example.com" for n in range(count)],
        unsubscribe_url="https://status.acme.example/unsubscribe?email={recipient}",
        concurrency=concurrency,
    )
    return config_text({"customers-email": email})


def write_audience(path: Path, count: int) -> None:
    """A customer list as CSV: email, name and locale columns."""
    with path.open("w", encoding="utf-8") as out:
        out.write("email,name,locale\n")
        for n in range(count):
            out.write(f"customer{n}@example.com,Customer {n},en\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, help="an explicit cap (default: auto)")
    parser.add_argument(
        "--to", choices=("csv", "yaml"), default="csv", help="an audience file, or a `to:` list"
    )
    args = parser.parse_args()
    with (
        SandboxProcess("--latency", str(args.latency)) as sb,
        tempfile.TemporaryDirectory() as tmp,
    ):
        folder = Path(tmp)
        audience = None
        if args.to == "csv":
            audience = "customers.csv"
            write_audience(folder / audience, args.count)
        (folder / "channels.yaml").write_text(
            sendgrid_config(sb.address, args.count, args.concurrency, audience), encoding="utf-8"
        )
        run = run_notify([*SEND_ARGS, "--yes", "--json"], folder)
        everything = sb.stats()
        stats = everything.get("sendgrid", {})
        window = everything.get("window", {}).get("sendgrid", {})
    totals = run.document.get("totals", {})
    requests = sum(stats.values())
    expected = -(-args.count // 1000)
    print(
        f"sent {totals.get('sent', 0)} of {args.count} emails (exit {run.code}); "
        f"concurrency {args.concurrency}, sandbox latency {args.latency * 1000:.0f} ms, "
        f"recipients in {'an audience CSV' if args.to == 'csv' else 'a YAML to: list'}"
    )
    print(
        f"requests made   {requests} (expected {expected}); by status "
        + ", ".join(f"{status}: {n}" for status, n in sorted(stats.items()))
    )
    print(f"wall time       {run.seconds:6.2f} s   ({args.count / run.seconds:,.0f} emails/s)")
    if window:
        first = window["first"] - run.started
        sending = window["last"] - window["first"]
        after = run.seconds - first - sending
        print(
            f"  of which: start-up, config, preflight, planning and the first request "
            f"{first:.2f} s; the other requests {sending:.2f} s; report {after:.2f} s"
        )
    print(f"peak memory     {run.peak_rss_mb:6.1f} MB")
    if run.code != 0:
        print(run.stderr[-2000:])


if __name__ == "__main__":
    main()
