"""Atlassian Statuspage's manage API for one page: components, incidents and their updates.

It checks requests as the real API does (its OpenAPI spec, developer.statuspage.io): the
`Authorization: OAuth <key>` header (a Bearer token is refused the same way as a wrong key,
`{"error": "Could not authenticate"}`), the page id, the `incident` object's fields and their
value sets (statuses, impact_override, component statuses, metadata whose top-level values are
objects), a body of at most 25,000 characters, a scheduled incident's window, component ids
that exist, and realtime and scheduled statuses kept apart. It is stricter in one way: an
unknown field is refused rather than ignored, so a misspelt field cannot pass unnoticed. Each
key may make 60 requests in a rolling minute ("1 request / second as measured on a 60 second
rolling window"), else 429 with Retry-After.
"""

from __future__ import annotations

import copy
import math
import re
from collections import deque
from datetime import UTC, datetime
from typing import Any

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials
from notify.sandbox.statuspage_rules import (
    COMPONENT_STATUSES,
    SCHEDULED,
    incident_problem,
    paging,
    request_object,
)

__all__ = ["SEEDED_COMPONENTS", "StatuspageEmulator"]

WINDOW = 60.0  # seconds of the rolling rate-limit window
PER_WINDOW = 60  # requests a key may make in it
# (name, group): the sample page's components, as an operator would have set them up.
SEEDED_COMPONENTS: tuple[tuple[str, str | None], ...] = (
    ("Website", None),
    ("Checkout", None),
    ("Payments API", "Platform"),
    ("Mobile app", "Platform"),
    ("Support line", None),
)
_PATH = re.compile(r"^/v1/pages/([^/]+)(/[^?]*)?$")


def _time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class StatuspageEmulator(Emulator):
    name = "statuspage"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {
            "statuspage": {
                "type": "statuspage",
                "api_key": credentials.statuspage_api_key,
                "page_id": credentials.statuspage_page_id,
                "base_url": cls.base_url(root),
                # The sandbox's window allows bursts of 60; 1/s would make a demo crawl.
                "rate_limit": "20/s",
            }
        }

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self._calls: deque[float] = deque()
        self.components: dict[str, dict[str, Any]] = {}
        self.incidents: dict[str, dict[str, Any]] = {}
        self._seed()

    def _seed(self) -> None:
        self.components.clear()
        self.incidents.clear()
        groups: dict[str, str] = {}
        for name, group in SEEDED_COMPONENTS:
            if group and group not in groups:
                groups[group] = self._add_component(group, None, is_group=True)["id"]
            self._add_component(name, groups.get(group or ""), is_group=False)

    def reset(self) -> None:
        super().reset()
        self._calls.clear()
        self._seed()

    def posts(self) -> list[dict[str, Any]]:
        """The page's incidents, oldest first, as the API shows them."""
        return copy.deepcopy(list(self.incidents.values()))

    def rate_limited(self, retry_after: float) -> Response:
        wait = str(max(1, math.ceil(retry_after)))
        return Response(429, {"error": "Rate limit exceeded"}, {"Retry-After": wait})

    def injected_failure(self, status: int) -> Response:
        return Response(status, {"error": f"injected failure {status}"})

    # -- routing -------------------------------------------------------------------------------

    async def handle(self, req: Request) -> Response:
        if req.headers.get("authorization", "").strip() != (
            f"OAuth {self.credentials.statuspage_api_key}"
        ):
            return Response(401, {"error": "Could not authenticate"})
        now = self.state.clock()
        while self._calls and now - self._calls[0] >= WINDOW:
            self._calls.popleft()
        if len(self._calls) >= PER_WINDOW:
            return self.rate_limited(WINDOW - (now - self._calls[0]))
        self._calls.append(now)
        match = _PATH.match(req.path.removesuffix(".json"))
        if match is None or match.group(1) != self.credentials.statuspage_page_id:
            return Response(404, {"error": "The requested resource could not be found."})
        rest = (match.group(2) or "").rstrip("/")
        parts = rest.split("/")[1:]
        if not parts:
            return self._page() if req.method == "GET" else _not_allowed("GET")
        if parts == ["components"]:
            if req.method == "GET":
                return self._list_components(req)
            if req.method == "POST":
                return self._create_component(req)
            return _not_allowed("GET, POST")
        if parts == ["incidents"]:
            if req.method == "GET":
                return self._list_incidents(req)
            if req.method == "POST":
                return self._create_incident(req)
            return _not_allowed("GET, POST")
        if len(parts) == 2 and parts[0] == "incidents":
            incident = self.incidents.get(parts[1])
            if incident is None:
                return Response(404, {"error": "The requested resource could not be found."})
            if req.method == "GET":
                return Response(200, copy.deepcopy(incident))
            if req.method in ("PATCH", "PUT"):
                return self._update_incident(req, incident)
            return _not_allowed("GET, PATCH, PUT")
        return Response(404, {"error": "The requested resource could not be found."})

    # -- the page and its components -------------------------------------------------------------

    def _page(self) -> Response:
        page_id = self.credentials.statuspage_page_id
        return Response(
            200,
            {"id": page_id, "name": "Sandbox Status", "time_zone": "UTC", "url": None},
        )

    def _add_component(self, name: str, group_id: str | None, *, is_group: bool) -> dict[str, Any]:
        stamp = _time(self.state.clock())
        component: dict[str, Any] = {
            "id": self.state.new_id("", 12),
            "page_id": self.credentials.statuspage_page_id,
            "group_id": group_id,
            "created_at": stamp,
            "updated_at": stamp,
            "group": is_group,
            "name": name,
            "description": None,
            "position": len(self.components) + 1,
            "status": "operational",
            "showcase": True,
            "only_show_if_degraded": False,
            "automation_email": f"component+{len(self.components)}@notifications.statuspage.io",
            "start_date": None,
        }
        if is_group:
            component["components"] = []
        elif group_id:
            self.components[group_id]["components"].append(component["id"])
        self.components[component["id"]] = component
        return component

    def _list_components(self, req: Request) -> Response:
        problem, page, per_page = paging(req, "per_page")
        if problem:
            return problem
        items = list(self.components.values())
        start = (page - 1) * per_page
        return Response(200, copy.deepcopy(items[start : start + per_page]))

    def _create_component(self, req: Request) -> Response:
        body, problem = request_object(req, "component")
        if problem:
            return problem
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return Response(422, {"error": ["Name can't be blank"]})
        group_id = body.get("group_id")
        if group_id is not None and not self.components.get(group_id, {}).get("group"):
            return Response(422, {"error": ["Group could not be found"]})
        component = self._add_component(name.strip(), group_id, is_group=False)
        status = body.get("status", "operational")
        if status not in COMPONENT_STATUSES or not status:
            return Response(422, {"error": [f"Status {status!r} is not a valid status"]})
        component["status"] = status
        return Response(201, copy.deepcopy(component))

    # -- incidents ----------------------------------------------------------------------------

    def _list_incidents(self, req: Request) -> Response:
        problem, page, limit = paging(req, "limit")
        if problem:
            return problem
        query = (req.query.get("q") or [""])[-1].lower()
        newest = sorted(self.incidents.values(), key=lambda i: i["_seq"], reverse=True)
        if query:
            newest = [i for i in newest if query in _searchable(i)]
        start = (page - 1) * limit
        return Response(200, [_public(i) for i in newest[start : start + limit]])

    def _create_incident(self, req: Request) -> Response:
        body, problem = request_object(req, "incident")
        if problem:
            return problem
        problem = incident_problem(body, None, self.components)
        if problem:
            return problem
        if not body.get("name", "").strip():
            return Response(422, {"error": ["Name can't be blank"]})
        status = body.get("status") or "investigating"
        stamp = _time(self.state.clock())
        incident: dict[str, Any] = {
            "id": self.state.new_id("", 12),
            "_seq": self.state.next_seq(),
            "components": [],
            "created_at": stamp,
            "impact": "none",
            "impact_override": None,
            "incident_updates": [],
            "metadata": {},
            "monitoring_at": None,
            "name": "",
            "page_id": self.credentials.statuspage_page_id,
            "postmortem_body": None,
            "resolved_at": None,
            "scheduled_for": None,
            "scheduled_until": None,
            "shortlink": "",
            "started_at": stamp,
            "status": status,
            "updated_at": stamp,
        }
        incident["shortlink"] = f"https://stspg.io/{incident['id'][:9]}"
        self._apply(incident, body, stamp)
        self.incidents[incident["id"]] = incident
        return Response(201, _public(incident))

    def _update_incident(self, req: Request, incident: dict[str, Any]) -> Response:
        body, problem = request_object(req, "incident")
        if problem:
            return problem
        problem = incident_problem(body, incident, self.components)
        if problem:
            return problem
        if "name" in body and not body["name"].strip():
            return Response(422, {"error": ["Name can't be blank"]})
        self._apply(incident, body, _time(self.state.clock()))
        return Response(200, _public(incident))

    def _apply(self, incident: dict[str, Any], body: dict[str, Any], stamp: str) -> None:
        """Store a checked create or update: fields, component statuses, one incident update."""
        for key in ("name", "impact_override", "scheduled_for", "scheduled_until", "metadata"):
            if key in body:
                incident[key] = body[key]
        old_status = incident["status"]
        status = body.get("status") or old_status
        incident["status"] = status
        affected = []
        for component_id, value in (body.get("components") or {}).items():
            component = self.components[component_id]
            if value and value != component["status"]:
                affected.append(
                    {
                        "code": component_id,
                        "name": component["name"],
                        "old_status": component["status"],
                        "new_status": value,
                    }
                )
                component["status"], component["updated_at"] = value, stamp
        ids = list(body.get("component_ids") or []) + list(body.get("components") or {})
        known = {c["id"] for c in incident["components"]}
        for component_id in dict.fromkeys(ids):
            if component_id not in known:
                incident["components"].append(self.components[component_id])
        incident["components"] = [self.components[c["id"]] for c in incident["components"]]
        incident["impact"] = incident["impact_override"] or (
            "maintenance" if status in SCHEDULED else _impact(incident["components"])
        )
        if status == "monitoring" and not incident["monitoring_at"]:
            incident["monitoring_at"] = stamp
        if status in ("resolved", "completed"):
            incident["resolved_at"] = stamp
        if "body" in body or status != old_status or not incident["incident_updates"]:
            update = {
                "id": self.state.new_id("", 12),
                "incident_id": incident["id"],
                "status": status,
                "body": body.get("body", ""),
                "created_at": stamp,
                "updated_at": stamp,
                "display_at": stamp,
                "affected_components": affected or None,
                "deliver_notifications": body.get("deliver_notifications", True),
                "custom_tweet": None,
                "tweet_id": None,
                "wants_twitter_update": False,
                "twitter_updated_at": None,
            }
            incident["incident_updates"].insert(0, update)  # newest first
        incident["updated_at"] = stamp


def _impact(components: list[dict[str, Any]]) -> str:
    """The impact Statuspage derives from its components when none is given."""
    ranks = {"degraded_performance": "minor", "partial_outage": "major"}
    ranks["major_outage"] = "critical"
    found = [ranks.get(c["status"], "none") for c in components]
    order = ("none", "minor", "major", "critical")
    return max(found, key=order.index, default="none")


def _public(incident: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in incident.items() if not k.startswith("_")}


def _searchable(incident: dict[str, Any]) -> str:
    bodies = " ".join(u["body"] for u in incident["incident_updates"])
    return f"{incident['name']} {incident['status']} {bodies}".lower()


def _not_allowed(allow: str) -> Response:
    return Response(405, {"error": "method not allowed"}, {"Allow": allow})
