"""A sandbox in its own process for benchmarks, so it does not share a GIL with the client.

Prints one JSON line with its addresses, then answers commands on stdin, one per line:
`stats` prints {provider: {status: count}} for the requests it has seen (SMTP too), the first and
last arrival per provider under "window", and the size of the last email; `quit` stops it.

    python -m benchmarks._sandbox_process --latency 0.05 --rate-limit twilio=500
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--rate-limit", action="append", default=[], help="provider=N (per second)")
    args = parser.parse_args()

    from notify.sandbox import Sandbox

    stats: Counter[tuple[str, int]] = Counter()
    first_last: dict[str, list[float]] = {}

    def seen(rec: Any) -> None:
        stats.update([(rec.provider, rec.status)])
        now = time.time()
        first_last.setdefault(rec.provider, [now, now])[1] = now

    def arrived(message: Any) -> None:  # SMTP has no Recorded request: time its arrivals too
        now = time.time()
        first_last.setdefault("smtp", [now, now])[1] = now

    sb = Sandbox(latency=args.latency)
    sb.on_request = seen
    sb.on_email = arrived
    sb.start()
    for item in args.rate_limit:
        provider, _, count = item.partition("=")
        sb.set_rate_limit(provider, float(count), 1.0)
    print(
        json.dumps(
            {
                "url": sb.url,
                "smtp_host": sb.smtp_host,
                "smtp_port": sb.smtp_port,
                "twilio": sb.base_url("twilio"),
            }
        ),
        flush=True,
    )
    for line in sys.stdin:
        command = line.strip()
        if command == "stats":
            out: dict[str, dict[str, int]] = {}
            for (provider, status), n in stats.items():
                out.setdefault(provider, {})[str(status)] = n
            emails = sb.emails()
            out["smtp"] = {"250": len(emails)}
            if emails:
                out["smtp_last_bytes"] = {"bytes": len(emails[-1].as_bytes())}
            out["window"] = {p: {"first": f, "last": last} for p, (f, last) in first_last.items()}
            print(json.dumps(out), flush=True)
        elif command == "quit":
            break
    sb.stop()


if __name__ == "__main__":
    main()
