"""The status site as a user meets it: `notify send` publishes it with every other channel."""

from __future__ import annotations

import re
from pathlib import Path

import feedparser
import pytest

from tests.site import statuspage_schemas
from tests.site.conftest import SiteWorkspace

TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
API_FILES = sorted(statuspage_schemas.DOCUMENTS)


def open_incident(ws: SiteWorkspace, *extra: str) -> None:
    result = ws.send(
        "investigating",
        "--incident", "checkout-errors",
        "--title", "Checkout errors",
        "--message", "Card payments fail for some customers.",
        "--impact", "major",
        "--component", "Checkout",
        "--component", "Payments API=major_outage",
        "--set", "workaround=Orders by phone work: +1 415 555 0100.",
        "--next-update", "30m",
        *extra,
    )  # fmt: skip
    assert result.code == 0, result.output


def test_every_update_publishes_the_whole_site(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    open_incident(ws)
    files = {str(p.relative_to(ws.site)) for p in ws.site.rglob("*") if p.is_file()}
    assert {
        "index.html",
        "incidents/checkout-errors.html",
        "history.atom",
        "history.rss",
        "embed/banner.js",
        "badge.svg",
        *(f"api/v2/{name}" for name in API_FILES),
    } <= files
    summary = ws.json("api/v2/summary.json")
    assert summary["status"] == {"indicator": "critical", "description": "Major Service Outage"}
    statuses = {c["name"]: c["status"] for c in summary["components"]}
    assert statuses == {
        "Website": "operational",
        "Checkout": "partial_outage",  # --component NAME follows a major incident
        "Payments API": "major_outage",  # NAME=STATUS as asked
        "Mobile app": "operational",
        "Platform": "major_outage",  # a group: the worst of its members
    }
    (incident,) = summary["incidents"]
    assert incident["name"] == "Checkout errors" and incident["impact"] == "major"
    assert incident["shortlink"] == f"{ws.url}/incidents/checkout-errors.html"
    assert incident["incident_updates"][0]["body"].startswith("Card payments fail")
    page = (ws.site / "index.html").read_text()
    assert "Orders by phone work" in page and "Major Service Outage" in page


def test_the_json_has_statuspages_shapes_through_a_whole_incident(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    scheduled = ws.send(
        "maintenance-scheduled",
        "--title", "Database upgrade",
        "--incident", "db-upgrade",
        "--component", "Payments API",
        "--set", "window_start=2099-12-13T02:00:00Z",
        "--set", "window_end=2099-12-13T04:00:00Z",
        "--to", "status-site",
    )  # fmt: skip
    assert scheduled.code == 0, scheduled.output
    open_incident(ws)
    for template in ("identified", "monitoring", "resolved"):
        result = ws.send(template, "--incident", "checkout-errors", "--message", f"{template}.")
        assert result.code == 0, result.output
        for name in API_FILES:
            document = ws.json(f"api/v2/{name}")
            statuspage_schemas.check(name, document)
            stamps = re.findall(r'"(?:\w+_at|scheduled_\w+)":"([^"]+)"', str(document))
            assert all(TIME.match(s) for s in stamps)
    summary = ws.json("api/v2/summary.json")
    assert summary["incidents"] == []  # resolved
    assert summary["status"]["indicator"] == "none"
    assert {c["status"] for c in summary["components"]} == {"operational"}
    (upcoming,) = ws.json("api/v2/scheduled-maintenances/upcoming.json")["scheduled_maintenances"]
    assert upcoming["scheduled_for"] == "2099-12-13T02:00:00.000Z"
    assert upcoming["scheduled_until"] == "2099-12-13T04:00:00.000Z"
    (past,) = ws.json("api/v2/incidents.json")["incidents"]
    assert [u["status"] for u in past["incident_updates"]] == [
        "resolved", "monitoring", "identified", "investigating",
    ]  # fmt: skip
    first = past["incident_updates"][-1]["affected_components"]
    assert {(a["name"], a["old_status"], a["new_status"]) for a in first} == {
        ("Checkout", "operational", "partial_outage"),
        ("Payments API", "operational", "major_outage"),
    }


def test_the_feeds_are_read_by_a_real_feed_parser(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    open_incident(ws)
    assert ws.send("resolved", "--incident", "checkout-errors", "--message", "Fixed.").code == 0
    second = ws.send("investigating", "--title", "Login delays", "--incident", "login-delays")
    assert second.code == 0, second.output
    for name, version in (("history.atom", "atom10"), ("history.rss", "rss20")):
        feed = feedparser.parse((ws.site / name).read_bytes())
        assert not feed.bozo, feed.get("bozo_exception")
        assert feed.version == version
        titles = [entry.title for entry in feed.entries]
        assert titles == ["Login delays (Investigating)", "Checkout errors (Resolved)"]
        checkout = feed.entries[1]
        assert checkout.link == f"{ws.url}/incidents/checkout-errors.html"
        content = checkout.get("content", [{}])[0].get("value") or checkout.description
        assert content.index("Fixed.") < content.index("Card payments fail")  # newest first


def test_a_folder_that_cannot_be_written_stops_the_send_before_anything_leaves(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    (ws.path / "blocked").write_text("a file where the site's folder should be")
    ws.write(**{"status-site": {"type": "site", "dir": "blocked/status", "url": ws.url}})
    result = ws.send("investigating", "--title", "Checkout errors")
    assert result.code == 2
    assert "site channel 'status-site'" in result.stderr and "blocked" in result.stderr
    assert "nothing was sent on any channel" in result.stderr
    assert ws.sandbox.requests("slack") == [] and ws.sandbox.requests("statuspage") == []
    assert not ws.journal.exists()  # nothing recorded either


def test_a_site_url_must_be_http(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    ws.write(**{"status-site": {"type": "site", "dir": "site", "url": "ftp://status.example"}})
    result = ws.run("check")
    assert result.code == 2
    assert "status-site.url" in result.output and "is not an http(s) URL" in result.output


def test_preview_shows_what_the_site_and_statuspage_will_say(
    site_workspace: SiteWorkspace,
) -> None:
    result = site_workspace.run(
        "preview", "investigating", "--title", "Checkout errors",
        "--message", "Card payments fail.", "--set", "workaround=Pay by phone.",
        "--next-update", "30m", "--json",
    )  # fmt: skip
    assert result.code == 0, result.output
    by_channel = {d["channel"]: d for d in result.json()["deliveries"]}
    site = by_channel["status-site"]["rendered"]
    assert site["text"] == "Card payments fail."  # the page shows the workaround beside it
    assert site["html"] == "<p>Card payments fail.</p>"
    statuspage = by_channel["hosted-status"]["rendered"]["text"]
    assert statuspage.startswith("Card payments fail.")
    assert "What you can do meanwhile: Pay by phone." in statuspage
    assert "We will post the next update by" in statuspage
    assert by_channel["hosted-status"]["length"]["limit"] == 25_000
    assert not site_workspace.site.exists()  # preview writes nothing


def test_page_templates_are_overridden_from_the_templates_folder(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    own = ws.path / "templates" / "site"
    own.mkdir(parents=True)
    (own / "index.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>Our own page</h1>'
        "<p>{{ overall.description }}</p>{% endblock %}"
    )
    ws.write(templates="templates")
    open_incident(ws)
    page = (ws.site / "index.html").read_text()
    assert "<h1>Our own page</h1>" in page and "<p>Major Service Outage</p>" in page
    assert "Checkout errors" in (ws.site / "incidents" / "checkout-errors.html").read_text()


def test_a_broken_page_template_fails_the_site_delivery_saying_where(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    own = ws.path / "templates" / "site"
    own.mkdir(parents=True)
    (own / "index.html").write_text(
        '{% extends "base.html" %}\n{% block main %}{{ nope.x }}\n{% endblock %}\n'
    )
    ws.write(templates="templates")
    result = ws.send("investigating", "--title", "Checkout errors", "--json")
    assert result.code == 1  # the other channels went out
    by_channel = {d["channel"]: d for d in result.json()["deliveries"]}
    assert by_channel["ops-slack"]["status"] == "sent"
    error = by_channel["status-site"]["error"]
    assert re.search(r"templates/site/index\.html:2 failed: 'nope' is undefined", error), error


@pytest.mark.parametrize("count", [12])
def test_a_reader_polling_summary_json_never_sees_a_partial_file(
    site_workspace: SiteWorkspace, count: int
) -> None:
    import json
    import threading

    ws = site_workspace
    open_incident(ws)
    summary = ws.site / "api" / "v2" / "summary.json"
    stop = threading.Event()
    reads: list[int] = []
    bad: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            data = Path(summary).read_bytes()
            try:
                json.loads(data)
            except ValueError:
                bad.append(data[-80:].decode(errors="replace"))
            reads.append(len(data))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for n in range(count):
            result = ws.send(
                "update", "--incident", "checkout-errors", "--message", f"Still on it ({n}). " * 40
            )
            assert result.code == 0, result.output
    finally:
        stop.set()
        thread.join()
    assert not bad, bad[:3]
    assert len(reads) > count and len(set(reads)) > 1  # it did read while files changed


def test_site_build_publishes_before_the_first_incident_and_after_a_template_change(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    first = ws.run("site", "build", "--json")  # no journal yet: every component operational
    assert first.code == 0, first.output
    (report,) = first.json()["sites"]
    assert report["channel"] == "status-site" and report["dir"] == str(ws.site)
    assert report["incidents"] == 0 and report["status"] == "none"
    assert "All Systems Operational" in (ws.site / "index.html").read_text()
    assert not ws.journal.exists()  # nothing recorded, nothing sent
    assert ws.sandbox.requests("slack") == [] and ws.sandbox.requests("statuspage") == []

    open_incident(ws)
    own = ws.path / "templates" / "site"
    own.mkdir(parents=True)
    (own / "incident.html").write_text(
        '{% extends "base.html" %}{% block main %}<h1>{{ incident.title }}!</h1>{% endblock %}'
    )
    ws.write(templates="templates")
    again = ws.run("site", "build", "--to", "status-site")
    assert again.code == 0, again.output
    assert "<h1>Checkout errors!</h1>" in (ws.site / "incidents/checkout-errors.html").read_text()
    assert [r.method for r in ws.sandbox.requests("statuspage") if r.method != "GET"] == ["POST"]


def test_site_build_names_a_missing_site_channel(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    wrong = ws.run("site", "build", "--to", "status-sit")
    assert wrong.code == 2 and "Did you mean 'status-site'?" in wrong.stderr
    ws.write(**{"status-site": None})
    none = ws.run("site", "build")
    assert none.code == 2 and "no site channel in channels.yaml" in none.stderr
