"""10,000 personalised emails to the sandbox's SMTP server: notify against a bare aiosmtplib loop.

Both send multipart/alternative messages (text + HTML, each with its own To and Message-ID), one
SMTP transaction per recipient, over the same number of connections (the channel's concurrency),
to a sandbox in its own process. The bare loop is what a hand-written script does: compose each
message with the standard library and send it with aiosmtplib, one connection per worker. Target:
notify at least 0.8x the bare loop's messages per second.

    python -m benchmarks.delivery_email [--count 10000] [--connections 8] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path

from benchmarks._common import SandboxProcess, run_notify

SENDER = "status@acme.example"
TARGET = 0.8
MESSAGE = (
    "We are seeing errors for some customers at checkout and are investigating. "
    "Card payments may fail or take several minutes to complete; orders placed by phone are not "
    "affected. We will post the next update within 30 minutes."
)
# About the size of what notify renders from the `investigating` template for MESSAGE.
TEXT = (
    "Investigating: " + MESSAGE + "\n\n"
    "We are aware of the problem and are looking into it now.\n\n" + "Impact: Major\n" * 4
) * 2
HTML = (
    "<!doctype html><html><body style='font-family:sans-serif'>"
    + f"<p><strong>Investigating</strong> &mdash; {MESSAGE}</p>" * 3
    + "<p><a href='https://status.acme.example'>status.acme.example</a></p></body></html>"
)


@dataclass
class Measured:
    sent: int
    seconds: float  # the whole run: the command, or the bare loop from its first connect
    window: float  # first to last message arriving at the sandbox
    message_bytes: int

    def rate(self, seconds: float) -> float:
        return self.sent / seconds if seconds > 0 else 0.0


def recipients(count: int) -> list[str]:
    return [f"user{n:04d}@example.com" for n in range(count)]


def compose(address: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Acme Status <{SENDER}>"
    msg["To"] = address
    msg["Subject"] = "[Acme Cloud] Checkout errors"
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain="acme.example")
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    return msg.as_bytes(policy=SMTP_POLICY)


async def bare_loop(host: str, port: int, addresses: list[str], connections: int) -> float:
    """N workers, each with one connection, each composing and sending its share in turn."""
    import aiosmtplib

    async def worker(share: list[str]) -> None:
        client = aiosmtplib.SMTP(
            hostname=host, port=port, use_tls=False, start_tls=False, local_hostname="bench.local"
        )
        await client.connect()
        for address in share:
            await client.sendmail(SENDER, [address], compose(address))
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(worker(addresses[i::connections]) for i in range(connections)))
    return time.perf_counter() - start


def window_of(stats: dict[str, object]) -> float:
    window = stats.get("window", {})
    assert isinstance(window, dict)
    smtp = window.get("smtp") or {}
    return float(smtp.get("last", 0.0)) - float(smtp.get("first", 0.0))


def measure_bare(count: int, connections: int) -> Measured:
    with SandboxProcess() as sb:
        seconds = asyncio.run(
            bare_loop(sb.info["smtp_host"], sb.info["smtp_port"], recipients(count), connections)
        )
        stats = sb.stats()
    return Measured(
        stats["smtp"]["250"],
        seconds,
        window_of(stats),
        stats.get("smtp_last_bytes", {}).get("bytes", 0),
    )


def config_text(host: str, port: int, connections: int, count: int) -> str:
    return f"""version: 1
organization: {{name: Acme Cloud, status_url: https://status.acme.example}}
channels:
  status-email:
    type: email
    host: {host}
    port: {port}
    security: none
    from: "Acme Status <{SENDER}>"
    concurrency: {connections}
    to: {json.dumps(recipients(count))}
"""


def measure_notify(count: int, connections: int, profile: str | None) -> Measured:
    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = config_text(sb.info["smtp_host"], sb.info["smtp_port"], connections, count)
        (folder / "channels.yaml").write_text(text, encoding="utf-8")
        args = ["send", "investigating", "--title", "Checkout errors", "--message", MESSAGE]
        run = run_notify([*args, "--yes", "--json"], folder, profile=profile)
        stats = sb.stats()
    if run.code != 0:
        print(run.stderr[-2000:])
    sent = run.document.get("totals", {}).get("sent", 0)
    assert sent == stats["smtp"]["250"], (sent, stats["smtp"])
    return Measured(
        sent, run.seconds, window_of(stats), stats.get("smtp_last_bytes", {}).get("bytes", 0)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8, help="the channel's concurrency")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the notify run into FILE")
    args = parser.parse_args()

    bare = measure_bare(args.count, args.connections)
    notify = measure_notify(args.count, args.connections, args.profile)

    n = args.connections
    print(f"{args.count} personalised emails, {n} SMTP connections, sandbox in its own process")
    print(
        f"bare aiosmtplib loop  sent {bare.sent:5d}  {bare.seconds:6.2f} s  "
        f"{bare.rate(bare.seconds):6.0f} msg/s  (window {bare.rate(bare.window):6.0f} msg/s)  "
        f"~{bare.message_bytes} B/message"
    )
    print(
        f"notify send           sent {notify.sent:5d}  {notify.seconds:6.2f} s  "
        f"{notify.rate(notify.seconds):6.0f} msg/s  (window {notify.rate(notify.window):6.0f} "
        f"msg/s)  ~{notify.message_bytes} B/message"
    )
    whole = notify.rate(notify.seconds) / bare.rate(bare.seconds)
    window = notify.rate(notify.window) / bare.rate(bare.window)
    print(
        f"ratio, whole command / bare loop:   {whole:.2f}x  (target >= {TARGET}x) "
        f"{'ok' if whole >= TARGET else 'BELOW TARGET'}"
    )
    print(
        f"ratio, sending window / bare loop:  {window:.2f}x  (target >= {TARGET}x) "
        f"{'ok' if window >= TARGET else 'BELOW TARGET'}"
    )
    print(
        f"  notify outside the sending window: {notify.seconds - notify.window:.2f} s "
        "(start-up, config, preflight, journal, report)"
    )


if __name__ == "__main__":
    main()
