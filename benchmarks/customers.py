"""The audience issue's acceptance scenario, at any size: a customer CSV with a few bad rows,
opt-outs and two locales goes out through SMS (Twilio) and email (SendGrid) into a sandbox, and
every customer's messages are checked.

    python -m benchmarks.customers [--rows 50000]

tests/test_customers_scenario.py runs the same scenario with 2,000 rows.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from notify.sandbox.config import SandboxLike, channel, config_text

AREA_CODES = ("212", "312", "415", "617", "202")
GERMAN = "Wir untersuchen"


def phone(n: int) -> str:
    area = AREA_CODES[n % len(AREA_CODES)]
    rest = n // len(AREA_CODES)
    return f"+1{area}{200 + rest // 10_000}{rest % 10_000:04d}"


@dataclass
class Scenario:
    folder: Path
    rows: int
    bad_phone_rows: list[int]  # spreadsheet row numbers (header = 1)
    bad_email_rows: list[int]
    opted_out: list[str]  # phone numbers on the suppression list
    german: set[str]  # phones of customers with locale de


def write_scenario(folder: Path, rows: int, sandbox: SandboxLike) -> Scenario:
    """customers.csv, a German template, and channels.yaml pointing at `sandbox`."""
    bad_phone = [5, rows // 2, rows - 3]
    bad_email = [7, rows // 3]
    german: set[str] = set()
    with (folder / "customers.csv").open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["phone", "email", "name", "locale", "tags"])
        for n in range(rows):
            row_number = n + 2
            number = "+1 555 0" if row_number in bad_phone else phone(n)
            email = "not-an-address" if row_number in bad_email else f"customer{n}@example.com"
            locale = "de" if n % 4 == 0 else "en"
            if locale == "de" and row_number not in bad_phone:
                german.add(number)
            out.writerow([number, email, f"Customer {n}", locale, "eu;vip" if n % 2 else "us"])
    templates = folder / "templates" / "de"
    templates.mkdir(parents=True)
    (templates / "investigating.j2").write_text(
        "---\nstatus: investigating\n---\n"
        "{% block subject %}[{{ org.name }}] {{ incident.title }}{% endblock %}\n"
        "{% block short %}" + GERMAN + " {{ incident.title }}. {{ org.status_url }}"
        "{% endblock %}\n"
        "{% block body %}**Untersuchung** — " + GERMAN + " {{ incident.title }}.{% endblock %}\n",
        encoding="utf-8",
    )
    channels = {
        "customers-sms": channel(
            "twilio", sandbox, to="customers.csv", skip_invalid=True, concurrency=50
        ),
        "customers-email": channel(
            "sendgrid",
            sandbox,
            sender="Acme Status <status@acme.example>",
            to="customers.csv",
            skip_invalid=True,
        ),
    }
    (folder / "channels.yaml").write_text(
        config_text(channels, templates="templates"), encoding="utf-8"
    )
    opted_out = [phone(n) for n in (10, 11, 12) if n + 2 not in bad_phone]
    return Scenario(folder, rows, bad_phone, bad_email, opted_out, german)


def notify(scenario: Scenario, *args: str) -> subprocess.CompletedProcess[str]:
    config = str(scenario.folder / "channels.yaml")
    env = {**os.environ, "HOME": str(scenario.folder)}
    return subprocess.run(
        [sys.executable, "-m", "notify", "--config", config, *args],
        cwd=scenario.folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=3600,
    )


def run(scenario: Scenario, sandbox: Any) -> dict[str, Any]:
    """Opt out three customers, send, and check what every customer received."""
    for number in scenario.opted_out:
        done = notify(scenario, "suppress", "add", number, "--channel", "customers-sms")
        assert done.returncode == 0, done.stderr
    start = time.perf_counter()
    sent = notify(
        scenario, "send", "investigating", "--title", "Checkout errors",
        "--message", "Card payments fail for some customers.", "--yes", "--json",
    )  # fmt: skip
    seconds = time.perf_counter() - start
    assert sent.returncode == 0, sent.stderr[-2000:]
    document = json.loads(sent.stdout)

    sms = sandbox.posts("twilio")
    by_number = Counter(p["to"] for p in sms)
    expected = {
        phone(n) for n in range(scenario.rows) if n + 2 not in scenario.bad_phone_rows
    } - set(scenario.opted_out)
    assert set(by_number) == expected, "every valid, not opted-out customer got one SMS"
    assert set(by_number.values()) == {1}, "nobody got two"
    german_texts = {p["to"] for p in sms if GERMAN in p["body"]}
    assert german_texts == scenario.german - set(scenario.opted_out), "German in German"

    emails = sandbox.posts("sendgrid")
    addresses = Counter(str(e["to"]) for e in emails)
    assert len(addresses) == scenario.rows - len(scenario.bad_email_rows)
    assert set(addresses.values()) == {1}

    skipped_rows = {(s["channel"], s["row"]) for s in document["skipped_rows"]}
    assert {r for c, r in skipped_rows if c == "customers-sms"} == set(scenario.bad_phone_rows)
    assert {r for c, r in skipped_rows if c == "customers-email"} == set(scenario.bad_email_rows)
    return {
        "seconds": seconds,
        "sms": len(sms),
        "emails": len(emails),
        "sendgrid_requests": len(sandbox.requests("sendgrid")),
        "totals": document["totals"],
        "skipped_rows": len(skipped_rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    from notify.sandbox import Sandbox

    with tempfile.TemporaryDirectory() as tmp, Sandbox() as sandbox:
        scenario = write_scenario(Path(tmp), args.rows, sandbox)
        result = run(scenario, sandbox)
    print(f"{args.rows:,} customers: every check passed")
    print(
        f"  {result['sms']:,} SMS and {result['emails']:,} emails "
        f"({result['sendgrid_requests']} SendGrid requests) in {result['seconds']:.1f} s"
    )
    print(f"  totals {result['totals']}; {result['skipped_rows']} invalid rows skipped")


if __name__ == "__main__":
    main()
