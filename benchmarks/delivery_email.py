"""10,000 personalised emails to the sandbox's SMTP server: notify against a bare aiosmtplib loop.

All send multipart/alternative messages (text + HTML, each with its own To and Message-ID), one
SMTP transaction per recipient, over the same number of connections (the channel's concurrency),
to a sandbox in its own process. Two bare loops, one connection per worker:

- compose each, send: what a hand-written script does, and the same work notify does: each
  message built with the standard library's EmailMessage, sent with aiosmtplib. The target,
  notify at least 0.8x its messages per second, is measured against this one.
- SMTP only: one message built once, To and Message-ID swapped in as bytes: the ceiling the wire
  and the server allow, to show what composing costs.

    python -m benchmarks.delivery_email [--count 10000] [--connections 8] [--profile FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate, make_msgid
from pathlib import Path

from benchmarks._common import SandboxProcess, run_notify
from notify.sandbox.config import SandboxLike, channel, config_text

SENDER = "status@acme.example"
TARGET = 0.8
POLICY = SMTP_POLICY.clone(max_line_length=998, cte_type="7bit")
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
    # notify's own policy choice: SMTP line ends, lines up to RFC 5322's 998 (no refolding).
    msg = EmailMessage(policy=POLICY)
    msg["From"] = f"Acme Status <{SENDER}>"
    msg["To"] = address
    msg["Subject"] = "[Acme Cloud] Checkout errors"
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = make_msgid(domain="acme.example")
    msg.set_content(TEXT)
    msg.add_alternative(HTML, subtype="html")
    return msg.as_bytes()


def prebuilt() -> Callable[[str], bytes]:
    """One message composed once; per recipient only To and Message-ID are swapped in (bytes).

    The SMTP-only ceiling: what the wire and the server allow when composing costs nothing."""
    template = compose("TO-PLACEHOLDER@example.com")
    old_id = re.search(rb"Message-ID: (<[^>]+>)", template)
    assert old_id is not None

    def make(address: str) -> bytes:
        new_id = make_msgid(domain="acme.example").encode()
        personal = template.replace(b"TO-PLACEHOLDER@example.com", address.encode())
        return personal.replace(old_id.group(1), new_id)

    return make


async def bare_loop(
    host: str, port: int, addresses: list[str], connections: int, make: Callable[[str], bytes]
) -> float:
    """N workers, each with one connection, each making and sending its share in turn."""
    import aiosmtplib

    async def worker(share: list[str]) -> None:
        client = aiosmtplib.SMTP(
            hostname=host, port=port, use_tls=False, start_tls=False, local_hostname="bench.local"
        )
        await client.connect()
        for address in share:
            await client.sendmail(SENDER, [address], make(address))
        await client.quit()

    start = time.perf_counter()
    await asyncio.gather(*(worker(addresses[i::connections]) for i in range(connections)))
    return time.perf_counter() - start


def window_of(stats: dict[str, object]) -> float:
    window = stats.get("window", {})
    assert isinstance(window, dict)
    smtp = window.get("smtp") or {}
    return float(smtp.get("last", 0.0)) - float(smtp.get("first", 0.0))


def measure_bare(count: int, connections: int, make: Callable[[str], bytes]) -> Measured:
    with SandboxProcess() as sb:
        host, port = sb.info["smtp_host"], sb.info["smtp_port"]
        seconds = asyncio.run(bare_loop(host, port, recipients(count), connections, make))
        stats = sb.stats()
    return Measured(
        stats["smtp"]["250"],
        seconds,
        window_of(stats),
        stats.get("smtp_last_bytes", {}).get("bytes", 0),
    )


def email_config(where: SandboxLike, connections: int, count: int) -> str:
    """channels.yaml: one email channel over plain SMTP (no AUTH) to `count` recipients."""
    email = channel(
        "smtp",
        where,
        username=None,
        password=None,
        sender=f"Acme Status <{SENDER}>",
        to=recipients(count),
        concurrency=connections,
    )
    return config_text({"status-email": email})


def measure_notify(count: int, connections: int, profile: str | None) -> Measured:
    with SandboxProcess() as sb, tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        text = email_config(sb.address, connections, count)
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


def show(label: str, m: Measured) -> None:
    print(
        f"{label:<34} sent {m.sent:5d} in {m.seconds:6.2f} s: {m.rate(m.seconds):5.0f} msg/s "
        f"(sending window {m.rate(m.window):5.0f} msg/s), ~{m.message_bytes} B a message"
    )


def verdict(ratio: float) -> str:
    return f"{ratio:.2f}x (target >= {TARGET}x: {'ok' if ratio >= TARGET else 'BELOW TARGET'})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=8, help="the channel's concurrency")
    parser.add_argument("--profile", metavar="FILE", help="cProfile the notify run into FILE")
    args = parser.parse_args()

    count, n = args.count, args.connections
    bare = measure_bare(count, n, compose)
    ceiling = measure_bare(count, n, prebuilt())
    notify = measure_notify(count, n, args.profile)

    print(f"{count} personalised emails over {n} SMTP connections; sandbox in its own process")
    show("bare loop (compose each, send)", bare)
    show("bare loop, SMTP only (prebuilt)", ceiling)
    show("notify send", notify)
    whole = notify.rate(notify.seconds) / bare.rate(bare.seconds)
    window = notify.rate(notify.window) / bare.rate(bare.window)
    print(f"notify / bare loop, whole command:  {verdict(whole)}")
    print(f"notify / bare loop, sending window: {verdict(window)}")
    smtp_only = notify.rate(notify.window) / ceiling.rate(ceiling.window)
    print(f"notify / SMTP-only ceiling, sending window: {smtp_only:.2f}x (composing is the rest)")
    print(
        f"notify outside its sending window: {notify.seconds - notify.window:.2f} s "
        "(start-up, config, preflight, journal, report)"
    )


if __name__ == "__main__":
    main()
