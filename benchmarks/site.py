"""The status site: time to re-render it after one update, with 1,000 past incidents in the
journal, and the size of the banner script, each beside its target.

The journal holds 1,000 incidents of three updates each (one every day before today, so the
front page's 90 days list about 90 of them), each update with the entry the site channel
rendered. The timed step is what the `site` channel does on every update: read the journal and
write the whole site (pages, feeds, JSON, banner, badge), each changed file atomically.

    python benchmarks/site.py [--incidents 1000] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from notify.journal import open_journal
from notify.journal.base import Incident, Journal, PlannedDelivery
from notify.model import Component, Workspace
from notify.site.build import BANNER, SiteOptions, build_site
from notify.site.history import CurrentEntry

TARGET_SECONDS = 1.0
TARGET_BANNER_BYTES = 4096
CHANNEL = "status-site"
COMPONENTS = ("Website", "Checkout", "Payments API", "Mobile app", "Support line")
STEPS = (
    ("investigating", "We are seeing errors for some customers and are investigating."),
    ("identified", "A database failover left a service with stale connections; restarting it."),
    ("resolved", "Everything is working normally again. Thank you for your patience."),
)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def fill(journal: Journal, count: int, now: datetime) -> None:
    """`count` past incidents, one a day, each with three updates delivered to the site."""
    for n in range(count):
        start = now - timedelta(days=n + 1)
        component = COMPONENTS[n % len(COMPONENTS)]
        incident = Incident(
            id=f"{start:%Y-%m-%d}-incident-{n}",
            title=f"Incident number {n}: errors on {component}",
            status="investigating",
            impact=("minor", "major", "critical")[n % 3],
            components=[component],
            started_at=stamp(start),
            updated_at=stamp(start),
        )
        for number, (status, words) in enumerate(STEPS, start=1):
            incident.status = status
            incident.resolved_at = stamp(start) if status == "resolved" else None
            _, rows = journal.add_update(
                incident,
                key=f"{incident.id}#{number}",
                template=status,
                status=status,
                message=words,
                next_update_at=None,
                context={"component_statuses": {component: "partial_outage"}},
                deliveries=[PlannedDelivery(CHANNEL, "site", CHANNEL)],
            )
            journal.finish(
                rows[0].id,
                status="sent",
                attempts=1,
                thread_data={"update": number, "text": words, "html": f"<p>{words}</p>"},
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    workspace = Workspace(
        organization={"name": "Acme Cloud"}, components=tuple(Component(c) for c in COMPONENTS)
    )
    with tempfile.TemporaryDirectory(prefix="notify-site-bench-") as tmp:
        folder = Path(tmp)
        journal = open_journal(folder / "journal.db")
        started = time.perf_counter()
        fill(journal, args.incidents, now)
        print(
            f"journal: {args.incidents} incidents filled in {time.perf_counter() - started:.1f} s"
        )
        options = SiteOptions(
            dir=folder / "site", url="https://status.acme.example", channel=CHANNEL
        )
        first = build_site(journal, options, workspace)
        print(f"first render: {len(first.written.changed)} files")
        times = []
        for run in range(args.runs):
            # One more update, as `notify send` records it before the site channel renders.
            incident = Incident(
                id=f"live-{run}", title="Checkout errors", status="investigating",
                impact="major", components=["Checkout"], started_at=stamp(now),
                updated_at=stamp(now),
            )  # fmt: skip
            journal.add_update(
                incident, key=f"live-{run}#1", template="investigating", status="investigating",
                message="Card payments fail.", next_update_at=None,
                context={"component_statuses": {"Checkout": "partial_outage"}}, deliveries=[],
            )  # fmt: skip
            current = CurrentEntry(
                incident.id, 1, "Card payments fail.", "<p>Card payments fail.</p>"
            )
            started = time.perf_counter()
            report = build_site(journal, options, workspace, current=current)
            times.append(time.perf_counter() - started)
        journal.close()
    median = statistics.median(times)
    verdict = "ok" if median < TARGET_SECONDS else "OVER TARGET"
    print(
        f"re-render after one update, {args.incidents} past incidents: median {median:.3f} s "
        f"(min {min(times):.3f}, max {max(times):.3f}; {len(report.written.changed)} files "
        f"changed) — target < {TARGET_SECONDS:g} s: {verdict}"
    )
    size = len(BANNER.read_bytes())
    verdict = "ok" if size < TARGET_BANNER_BYTES else "OVER TARGET"
    print(f"embed/banner.js: {size} bytes — target < {TARGET_BANNER_BYTES} bytes (4 KB): {verdict}")


if __name__ == "__main__":
    main()
