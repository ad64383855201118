"""The site's `api/v2/*.json`: Atlassian Statuspage's public status API, same shapes and values.

Tools that already read a Statuspage page (dashboards, chat integrations, `statuspage` client
libraries) read these unchanged: `page`, `status` (indicator none / minor / major / critical),
`components` (Statuspage's five statuses, groups as components with `group: true`), incidents
with `incident_updates` newest first, and scheduled maintenances with their window. Ids are
stable: a component's id is derived from its name, an incident's is notify's incident id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from notify.site.history import ComponentState, History, SiteIncident
from notify.site.status import COMPONENT_INDICATOR, Overall, incident_impact, worst

RECENT = 50  # incidents.json and scheduled-maintenances.json list this many, as Statuspage does
_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_WORST_COMPONENT = {"none": "operational", "minor": "degraded_performance"}
_WORST_COMPONENT.update({"major": "partial_outage", "critical": "major_outage"})


def stable_id(*parts: str) -> str:
    """A 12-character lower-case id like Statuspage's, the same for the same parts every time."""
    number = int.from_bytes(hashlib.sha256("\x00".join(parts).encode()).digest()[:10], "big")
    out = ""
    for _ in range(12):
        number, digit = divmod(number, 36)
        out += _ALPHABET[digit]
    return out


def timestamp(moment: datetime | None) -> str | None:
    """Statuspage's time format: ISO 8601 with milliseconds, in UTC."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + "000Z"


@dataclass(frozen=True)
class Page:
    """Who the documents describe: the `page` object every document starts with."""

    name: str
    url: str  # where the site is served, without a trailing slash
    time_zone: str
    updated_at: datetime

    @property
    def id(self) -> str:
        return stable_id("page", self.url)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "url": self.url,
            "time_zone": self.time_zone,
            "updated_at": timestamp(self.updated_at),
        }

    def incident_url(self, incident_id: str) -> str:
        return f"{self.url}/incidents/{incident_id}.html"


def api_documents(history: History, page: Page, status: Overall) -> dict[str, Any]:
    """Every `api/v2/` document by its path under `api/v2/`."""
    components = components_json(history.components, page)
    by_name = {c["name"]: c for c in components if not c["group"]}
    old = _old_statuses(history.incidents)
    incidents = [i for i in history.incidents if not i.is_maintenance]
    maintenances = [i for i in history.incidents if i.is_maintenance]

    def many(items: Iterable[SiteIncident]) -> list[dict[str, Any]]:
        return [incident_json(i, page, by_name, old) for i in items]

    head = {"page": page.to_json()}
    unresolved = many(i for i in incidents if not i.is_closed)
    upcoming = many(i for i in maintenances if i.status == "scheduled")
    active = many(i for i in maintenances if i.status in ("in_progress", "verifying"))
    return {
        "summary.json": {
            **head,
            "components": components,
            "incidents": unresolved,
            "scheduled_maintenances": active + upcoming,
            "status": status.to_json(),
        },
        "status.json": {**head, "status": status.to_json()},
        "components.json": {**head, "components": components},
        "incidents.json": {**head, "incidents": many(incidents[:RECENT])},
        "incidents/unresolved.json": {**head, "incidents": unresolved},
        "scheduled-maintenances.json": {
            **head,
            "scheduled_maintenances": many(maintenances[:RECENT]),
        },
        "scheduled-maintenances/upcoming.json": {**head, "scheduled_maintenances": upcoming},
        "scheduled-maintenances/active.json": {**head, "scheduled_maintenances": active},
    }


def components_json(states: Iterable[ComponentState], page: Page) -> list[dict[str, Any]]:
    """Statuspage's component list: each component, and each group as a component holding its
    members' ids (its status the worst of theirs), in the order they were declared."""
    states = list(states)
    created = timestamp(min((s.since for s in states if s.since), default=page.updated_at))
    out: list[dict[str, Any]] = []
    groups: dict[str, dict[str, Any]] = {}
    for state in states:
        component = state.component
        group_id = stable_id("group", component.group) if component.group else None
        if component.group and component.group not in groups:
            group = _component(component.group, group_id or "", None, True, created, page)
            group["components"] = []
            groups[component.group] = group
            out.append(group)
        item = _component(component.name, stable_id("component", component.name), group_id,
                          False, created, page)  # fmt: skip
        item["status"] = state.status
        item["description"] = component.description or None
        item["updated_at"] = timestamp(state.since) or created
        if component.group:
            groups[component.group]["components"].append(item["id"])
        out.append(item)
    members: dict[str, list[str]] = {}
    for state in states:
        if state.component.group:
            members.setdefault(state.component.group, []).append(state.status)
    for name, group in groups.items():
        indicator = worst(COMPONENT_INDICATOR.get(s, "none") for s in members.get(name, []))
        statuses = members.get(name, [])
        group["status"] = (
            "under_maintenance"
            if indicator == "none" and "under_maintenance" in statuses
            else _WORST_COMPONENT[indicator]
        )
    for position, item in enumerate(out, start=1):
        item["position"] = position
    return out


def _component(
    name: str, ident: str, group_id: str | None, group: bool, created: str | None, page: Page
) -> dict[str, Any]:
    return {
        "id": ident,
        "name": name,
        "status": "operational",
        "created_at": created,
        "updated_at": created,
        "position": 0,
        "description": None,
        "showcase": not group,
        "start_date": None,
        "group_id": group_id,
        "page_id": page.id,
        "group": group,
        "only_show_if_degraded": False,
    }


def _old_statuses(incidents: Iterable[SiteIncident]) -> dict[tuple[str, int, str], str]:
    """What each component was before each update that changed it: (incident, update number,
    component) -> old status, replaying every change in time order."""
    changes = sorted(
        (entry.at, incident.started_at, incident.id, entry.number, name, status)
        for incident in incidents
        for entry in incident.entries
        for name, status in entry.components.items()
    )
    current: dict[str, str] = {}
    old: dict[tuple[str, int, str], str] = {}
    for _, _, incident_id, number, name, status in changes:
        old[(incident_id, number, name)] = current.get(name, "operational")
        current[name] = status
    return old


def incident_json(
    incident: SiteIncident,
    page: Page,
    components: Mapping[str, Mapping[str, Any]],
    old: Mapping[tuple[str, int, str], str],
) -> dict[str, Any]:
    """One incident (or scheduled maintenance) as Statuspage's public API shows it."""
    monitoring = next((e.at for e in incident.entries if e.status == "monitoring"), None)
    updates = []
    for entry in reversed(incident.entries):  # newest first
        affected = [
            {
                "code": stable_id("component", name),
                "name": name,
                "old_status": old.get((incident.id, entry.number, name), "operational"),
                "new_status": status,
            }
            for name, status in entry.components.items()
        ]
        updates.append(
            {
                "id": stable_id("update", incident.id, str(entry.number)),
                "status": entry.status,
                "body": entry.text,
                "incident_id": incident.id,
                "created_at": timestamp(entry.at),
                "updated_at": timestamp(entry.at),
                "display_at": timestamp(entry.at),
                "affected_components": affected or None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
        )
    document: dict[str, Any] = {
        "id": incident.id,
        "name": incident.title,
        "status": incident.status,
        "created_at": timestamp(incident.started_at),
        "updated_at": timestamp(incident.updated_at),
        "monitoring_at": timestamp(monitoring),
        "resolved_at": timestamp(incident.resolved_at),
        "impact": incident_impact(incident),
        "shortlink": page.incident_url(incident.id),
        "started_at": timestamp(incident.started_at),
        "page_id": page.id,
        "incident_updates": updates,
        "components": [dict(components[n]) for n in incident.components if n in components],
    }
    if incident.is_maintenance:
        document["scheduled_for"] = timestamp(incident.starts_at or incident.started_at)
        document["scheduled_until"] = timestamp(incident.ends_at)
    return document
