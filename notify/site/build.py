"""Rendering a whole status site from the journal into its folder, every file replaced atomically.

`build_site` is what the `site` channel runs on each update and what `notify site build` runs for
every site channel: pages, feeds, the Statuspage-compatible JSON, the banner script and the
badge, all from one reading of the journal, so they never disagree with each other.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notify.model import Workspace
from notify.site.api import Page, api_documents
from notify.site.badge import badge_svg
from notify.site.feeds import atom, rss
from notify.site.files import SiteWriter, Written
from notify.site.history import CurrentEntry, History, read_history
from notify.site.pages import environment, groups_of, override_dirs, render_page
from notify.site.status import overall

if TYPE_CHECKING:
    from notify.journal.base import Journal

BANNER = Path(__file__).parent / "assets" / "banner.js"


@dataclass(frozen=True)
class SiteOptions:
    """One site channel's settings, as the renderer needs them."""

    dir: Path  # where the files go (absolute)
    url: str  # where `dir` is served
    channel: str | None = None  # the site channel whose rendered entries to show
    history_days: int = 90
    title: str | None = None  # the page's name; default: the organization's name


@dataclass
class BuildReport:
    """What a build wrote, and what it showed."""

    options: SiteOptions
    written: Written = field(default_factory=Written)
    incidents: int = 0
    indicator: str = "none"

    def to_json(self) -> dict[str, Any]:
        return {
            "dir": str(self.options.dir),
            "url": self.options.url,
            "files_written": len(self.written.changed),
            "files_unchanged": self.written.unchanged,
            "incidents": self.incidents,
            "status": self.indicator,
        }


def build_site(
    journal: Journal,
    options: SiteOptions,
    workspace: Workspace,
    *,
    current: CurrentEntry | None = None,
    now: datetime | None = None,
) -> BuildReport:
    """Render everything into `options.dir`. `current` is the entry a delivery is publishing
    right now (not yet recorded as sent); `now` judges what "the past history_days" is."""
    history = read_history(
        journal, components=workspace.components, channel=options.channel, current=current
    )
    return render_site(history, options, workspace, now=now)


def render_site(
    history: History,
    options: SiteOptions,
    workspace: Workspace,
    *,
    now: datetime | None = None,
) -> BuildReport:
    """Write every file of the site for `history`."""
    now = now or datetime.now(UTC)
    org = dict(workspace.organization)
    name = options.title or str(org.get("name") or "Service")
    url = options.url.rstrip("/")
    page = Page(name=name, url=url, time_zone=workspace.timezone, updated_at=history.updated_at)
    status = overall(history.components, history.incidents)
    writer = SiteWriter(options.dir)

    for path, document in api_documents(history, page, status).items():
        text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
        writer.write(f"api/v2/{path}", text)
    writer.write("history.atom", atom(page, history.incidents))
    writer.write("history.rss", rss(page, history.incidents))
    writer.write("embed/banner.js", BANNER.read_bytes())
    writer.write("badge.svg", badge_svg(status))

    env = environment(override_dirs(workspace.template_dirs), workspace.timezone)
    base: dict[str, Any] = {
        "org": org,
        "page": page,
        "overall": status,
        "timezone": workspace.timezone,
        "history_days": options.history_days,
        "lang": str(org.get("language") or "en"),
    }
    since = now - timedelta(days=options.history_days)
    index = {
        **base,
        "root": "",
        "active": [i for i in history.incidents if i.is_active],
        "upcoming": sorted(
            (i for i in history.incidents if i.is_upcoming),
            key=lambda i: i.starts_at or i.started_at,
        ),
        "history": [i for i in history.incidents if i.is_closed and i.started_at >= since],
        "groups": groups_of(history.components),
    }
    writer.write("index.html", render_page(env, "index.html", index))
    for incident in history.incidents:
        context = {**base, "root": "../", "incident": incident}
        writer.write(f"incidents/{incident.id}.html", render_page(env, "incident.html", context))
    return BuildReport(options, writer.report, len(history.incidents), status.indicator)
