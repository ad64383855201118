"""`history.atom` (Atom 1.0) and `history.rss` (RSS 2.0): one entry per incident, kept current.

Written with feedgen (a maintained feed library) rather than by hand, so escaping, dates and
the required elements are right for every feed reader. An entry's id is its incident page's
URL, so a reader shows an incident once and marks it changed when an update arrives.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import TYPE_CHECKING

from notify.site.status import INCIDENT_WORDS

if TYPE_CHECKING:
    from feedgen.feed import FeedGenerator

    from notify.site.api import Page
    from notify.site.history import SiteIncident

FEED_ENTRIES = 100  # the newest incidents a feed carries


def _generator(page: Page, kind: str, incidents: Sequence[SiteIncident]) -> FeedGenerator:
    from feedgen.feed import FeedGenerator

    feed = FeedGenerator()
    own = f"{page.url}/history.{kind}"
    feed.id(own)
    feed.title(f"{page.name} status: incident history")
    feed.description(f"Incidents and maintenance of {page.name}, newest first")
    feed.language("en")
    feed.link(href=own, rel="self", type=f"application/{kind}+xml")
    feed.link(href=f"{page.url}/", rel="alternate", type="text/html")
    feed.updated(page.updated_at)
    feed.generator("notify")
    for incident in incidents[:FEED_ENTRIES]:
        item = feed.add_entry(order="append")
        link = page.incident_url(incident.id)
        state = INCIDENT_WORDS.get(incident.status, incident.status)
        item.id(link)
        item.guid(link, permalink=True)
        item.title(f"{incident.title} ({state})")
        item.link(href=link, rel="alternate", type="text/html")
        item.published(incident.started_at)
        item.updated(incident.updated_at)
        html = _updates_html(incident)
        if kind == "atom":
            item.content(html, type="html")
        else:
            item.description(html)
            item.pubDate(incident.started_at)
    return feed


def _updates_html(incident: SiteIncident) -> str:
    parts = []
    for entry in reversed(incident.entries):
        word = escape(INCIDENT_WORDS.get(entry.status, entry.status))
        when = f"{entry.at:%Y-%m-%d %H:%M} UTC"
        parts.append(f"<p><strong>{word}</strong> · {when}</p>\n{entry.html}")
    return "\n".join(parts)


def atom(page: Page, incidents: Sequence[SiteIncident]) -> bytes:
    """The Atom 1.0 document (UTF-8) of `incidents`, newest first."""
    data: bytes = _generator(page, "atom", incidents).atom_str(pretty=True)
    return data


def rss(page: Page, incidents: Sequence[SiteIncident]) -> bytes:
    """The RSS 2.0 document (UTF-8) of `incidents`, newest first."""
    data: bytes = _generator(page, "rss", incidents).rss_str(pretty=True)
    return data
