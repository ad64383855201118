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

    sb = Sandbox(latency=args.latency)
    sb.on_request = seen
    store_email = sb.recording.store_email
    email_bytes = [0]

    def arrived(message: Any) -> None:
        # SMTP has no Recorded request: count and time arrivals here, without parsing them
        # (sb.emails() would parse every one; on_email would parse each on arrival).
        now = time.time()
        first_last.setdefault("smtp", [now, now])[1] = now
        stats.update([("smtp", 250)])
        email_bytes[0] = len(message.data)
        store_email(message)

    sb.recording.store_email = arrived  # type: ignore[method-assign]
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
            out: dict[str, dict[str, Any]] = {}
            for (provider, status), n in stats.items():
                out.setdefault(provider, {})[str(status)] = n
            out.setdefault("smtp", {"250": 0})
            out["smtp_last_bytes"] = {"bytes": email_bytes[0]}
            out["window"] = {p: {"first": f, "last": last} for p, (f, last) in first_last.items()}
            print(json.dumps(out), flush=True)
        elif command == "quit":
            break
    sb.stop()


if __name__ == "__main__":
    main()
