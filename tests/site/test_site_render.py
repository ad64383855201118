"""The site renderer on its own: what it writes, how, and what it never lets through."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from notify.journal import open_journal
from notify.journal.base import Incident, Journal
from notify.model import Component, Workspace
from notify.site.build import BANNER, SiteOptions, build_site, render_site
from notify.site.files import writable_problem, write_atomic
from notify.site.history import empty_history
from tests.site import statuspage_schemas

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
WORKSPACE = Workspace(
    organization={"name": "Acme Cloud"},
    components=(Component("Website"), Component("Payments API", "Platform")),
)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    opened = open_journal(tmp_path / "journal.db")
    yield opened
    opened.close()


def record(journal: Journal, incident_id: str, title: str, days_ago: float, **kw: object) -> None:
    incident = Incident(
        id=incident_id,
        title=title,
        status=str(kw.get("status", "investigating")),
        impact="major",
        components=["Website"],
        started_at=at(days_ago),
        updated_at=at(days_ago),
        resolved_at=at(days_ago) if kw.get("status") == "resolved" else None,
    )
    journal.add_update(
        incident,
        key=f"{incident_id}#1",
        template="investigating",
        status=incident.status,
        message=str(kw.get("message", "Something broke.")),
        next_update_at=None,
        context={"component_statuses": {"Website": "partial_outage"}},
        deliveries=[],
    )


def options(tmp_path: Path, **changes: object) -> SiteOptions:
    return SiteOptions(dir=tmp_path / "site", url="https://status.acme.example", **changes)  # type: ignore[arg-type]


def test_the_banner_script_is_small_and_standalone() -> None:
    script = BANNER.read_text()
    assert len(BANNER.read_bytes()) < 4096
    assert "import " not in script and "require(" not in script  # no dependencies
    assert 'new URL("../api/v2/summary.json", me.src)' in script  # from its own origin
    assert "localStorage" in script and "incident_updates" in script  # dismissed per update


def test_a_site_before_any_incident_says_all_is_well(tmp_path: Path) -> None:
    report = render_site(empty_history(WORKSPACE.components), options(tmp_path), WORKSPACE)
    site = tmp_path / "site"
    summary = (site / "api" / "v2" / "summary.json").read_text()
    assert '"indicator":"none"' in summary and report.incidents == 0
    statuspage_schemas.check("summary.json", __import__("json").loads(summary))
    assert "All Systems Operational" in (site / "index.html").read_text()
    badge = ET.fromstring((site / "badge.svg").read_text())
    assert badge.get("aria-label") == "status: all systems operational"
    assert badge.find("{http://www.w3.org/2000/svg}title") is not None


def test_operator_text_is_escaped_everywhere(journal: Journal, tmp_path: Path) -> None:
    record(journal, "xss", "<script>alert(1)</script> & co", 0, message="<img src=x onerror=y>")
    build_site(journal, options(tmp_path), WORKSPACE, now=NOW)
    site = tmp_path / "site"
    for name in ("index.html", "incidents/xss.html"):
        page = (site / name).read_text()
        assert "<script>alert(1)</script>" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    for feed in ("history.atom", "history.rss"):
        ET.fromstring((site / feed).read_bytes())  # still well-formed XML


def test_the_front_page_lists_the_history_window_and_every_incident_has_a_page(
    journal: Journal, tmp_path: Path
) -> None:
    record(journal, "recent", "Recent trouble", 10, status="resolved")
    record(journal, "old", "Old trouble", 200, status="resolved")
    build_site(journal, options(tmp_path, history_days=90), WORKSPACE, now=NOW)
    index = (tmp_path / "site" / "index.html").read_text()
    assert "Recent trouble" in index and "Old trouble" not in index
    assert (tmp_path / "site" / "incidents" / "old.html").is_file()


def test_a_rerender_rewrites_only_what_changed(journal: Journal, tmp_path: Path) -> None:
    record(journal, "a", "First", 1)
    first = build_site(journal, options(tmp_path), WORKSPACE, now=NOW)
    assert first.written.unchanged == 0
    page = tmp_path / "site" / "incidents" / "a.html"
    stamp = page.stat().st_mtime_ns
    again = build_site(journal, options(tmp_path), WORKSPACE, now=NOW)
    assert again.written.changed == [] and page.stat().st_mtime_ns == stamp
    record(journal, "b", "Second", 0)
    third = build_site(journal, options(tmp_path), WORKSPACE, now=NOW)
    assert "incidents/b.html" in third.written.changed
    assert "incidents/a.html" not in third.written.changed and "embed/banner.js" not in str(
        third.written.changed
    )


def test_an_atomic_write_leaves_no_temporary_file_and_a_readable_mode(tmp_path: Path) -> None:
    target = tmp_path / "deep" / "file.json"
    write_atomic(target, b"{}")
    write_atomic(target, b'{"a":1}')
    assert target.read_bytes() == b'{"a":1}'
    assert os.listdir(target.parent) == ["file.json"]
    assert target.stat().st_mode & 0o044 == 0o044  # the web server may read it


def test_a_folder_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    assert writable_problem(tmp_path / "new" / "site") is None  # created on first write
    assert not (tmp_path / "new").exists()  # the check itself creates nothing
    problem = writable_problem(tmp_path / "file" / "site")
    assert problem is not None and "is a file, not a folder" in problem
