"""Rendering a whole status site from the journal into its folder, every file replaced atomically.

`build_site` is what the `site` channel runs on each update and what `notify site build` runs for
every site channel: pages, feeds, the Statuspage-compatible JSON, the banner script and the
badge, all from one reading of the journal, so they never disagree with each other.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from notify.model import Workspace
from notify.site.api import Page, api_documents
from notify.site.badge import badge_svg
from notify.site.feeds import atom, rss
from notify.site.files import SiteWriter, Written, write_atomic
from notify.site.history import CurrentEntry, History, SiteIncident, read_history
from notify.site.pages import SHIPPED, environment, groups_of, override_dirs, render_page
from notify.site.status import overall

if TYPE_CHECKING:
    from notify.journal.base import Journal

BANNER = Path(__file__).parent / "assets" / "banner.js"
MANIFEST = ".notify-site.json"  # which incident pages are up to date (see PageCache)


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
    full: bool = False,
) -> BuildReport:
    """Render everything into `options.dir`. `current` is the entry a delivery is publishing
    right now (not yet recorded as sent); `now` judges what "the past history_days" is; `full`
    renders every incident page even when it looks up to date."""
    history = read_history(
        journal, components=workspace.components, channel=options.channel, current=current
    )
    return render_site(history, options, workspace, now=now, full=full)


def render_site(
    history: History,
    options: SiteOptions,
    workspace: Workspace,
    *,
    now: datetime | None = None,
    full: bool = False,
) -> BuildReport:
    """Write every file of the site for `history`. Incident pages already up to date are left
    alone (see `PageCache`) unless `full`."""
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
    pages = PageCache(options.dir, _generation(page, workspace, options), full=full)
    for incident in history.incidents:
        path = f"incidents/{incident.id}.html"
        if pages.fresh(path, incident):
            writer.report.unchanged += 1
            continue
        context = {**base, "root": "../", "incident": incident}
        writer.write(path, render_page(env, "incident.html", context))
    pages.save()
    return BuildReport(options, writer.report, len(history.incidents), status.indicator)


def _generation(page: Page, workspace: Workspace, options: SiteOptions) -> str | None:
    """What every incident page depends on besides its incident; None when the page templates
    are overridden (a template of one's own may show anything: render every page each time)."""
    if override_dirs(workspace.template_dirs):
        return None
    shipped = [(p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(SHIPPED.iterdir())]
    return _digest(page.name, page.url, workspace.timezone, dict(workspace.organization), shipped)


def _digest(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


class PageCache:
    """Which incident pages are already what a render would write: an incident's page depends
    only on that incident (and the templates, the page's name and address, the time zone), so
    an update re-renders the pages of the incidents it changed, not a thousand others. The
    record is a hidden file in the folder: delete the folder's files and it goes with them."""

    def __init__(self, folder: Path, generation: str | None, *, full: bool) -> None:
        self.folder = folder
        self.generation = generation
        self.known: dict[str, str] = {}
        self.seen: dict[str, str] = {}
        if generation is not None and not full:
            try:
                data = json.loads((folder / MANIFEST).read_bytes())
            except (OSError, ValueError):
                data = {}
            if isinstance(data, dict) and data.get("generation") == generation:
                self.known = dict(data.get("pages") or {})

    def fresh(self, path: str, incident: SiteIncident) -> bool:
        """Whether `path` holds `incident` as it is now (noting it for the record either way)."""
        if self.generation is None:
            return False
        digest = _digest(incident)
        self.seen[path] = digest
        return self.known.get(path) == digest and (self.folder / path).is_file()

    def save(self) -> None:
        if self.generation is None or self.seen == self.known:
            return
        record = {"generation": self.generation, "pages": self.seen}
        write_atomic(self.folder / MANIFEST, json.dumps(record, separators=(",", ":")).encode())
