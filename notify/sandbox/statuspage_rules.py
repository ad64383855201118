"""What Statuspage's manage API accepts in a request: the `incident` object's fields, their types
and value sets, and the answers it gives when they are wrong (notify.sandbox.statuspage uses it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from notify.sandbox.core.emulator import Request, Response

__all__ = [
    "BODY_LIMIT", "COMPONENT_STATUSES", "IMPACTS", "REALTIME", "SCHEDULED", "incident_problem",
    "paging", "request_object",
]  # fmt: skip

REALTIME = ("investigating", "identified", "monitoring", "resolved")
SCHEDULED = ("scheduled", "in_progress", "verifying", "completed")
IMPACTS = ("none", "maintenance", "minor", "major", "critical")
COMPONENT_STATUSES = (
    "operational",
    "under_maintenance",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "",
)
BODY_LIMIT = 25_000
NAME_LIMIT = 255
_FIELDS = {
    "name": str,
    "status": str,
    "impact_override": str,
    "scheduled_for": str,
    "scheduled_until": str,
    "scheduled_remind_prior": bool,
    "scheduled_auto_in_progress": bool,
    "scheduled_auto_completed": bool,
    "scheduled_auto_transition": bool,
    "auto_transition_to_maintenance_state": bool,
    "auto_transition_to_operational_state": bool,
    "auto_transition_deliver_notifications_at_start": bool,
    "auto_transition_deliver_notifications_at_end": bool,
    "metadata": dict,
    "deliver_notifications": bool,
    "auto_tweet_at_beginning": bool,
    "auto_tweet_on_completion": bool,
    "auto_tweet_on_creation": bool,
    "auto_tweet_one_hour_before": bool,
    "backfill_date": str,
    "backfilled": bool,
    "body": str,
    "components": dict,
    "component_ids": list,
}


def _date_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def incident_problem(
    body: dict[str, Any], incident: dict[str, Any] | None, components: dict[str, dict[str, Any]]
) -> Response | None:
    """The first thing the real API would refuse in an `incident` object (a create when
    `incident` is None), as its answer."""
    for key, value in body.items():
        kind = _FIELDS.get(key)
        if kind is None:
            return Response(400, {"error": f"unknown incident field {key!r}"})
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            return Response(400, {"error": f"{key} must be a {kind.__name__}"})
    if len(body.get("name", "")) > NAME_LIMIT:
        return _invalid(f"Name is too long (maximum is {NAME_LIMIT} characters)")
    if len(body.get("body", "")) > BODY_LIMIT:
        return _invalid(f"Body is too long (maximum is {BODY_LIMIT} characters)")
    status = body.get("status")
    if status is not None and status not in REALTIME + SCHEDULED:
        return _invalid(f"Status {status!r} is not a valid incident status")
    current = incident["status"] if incident else None
    if status and current and (status in SCHEDULED) != (current in SCHEDULED):
        return _invalid(f"Status cannot change from {current} to {status}")
    if body.get("impact_override") not in (None, *IMPACTS):
        return _invalid(f"Impact override {body['impact_override']!r} is not valid")
    metadata = body.get("metadata") or {}
    if any(not isinstance(v, dict) for v in metadata.values()):
        return _invalid("Metadata top-level values must be objects")
    for component_id, value in (body.get("components") or {}).items():
        if component_id not in components or components[component_id]["group"]:
            return _invalid(f"Component {component_id} could not be found")
        if value not in COMPONENT_STATUSES:
            return _invalid(f"Component status {value!r} is not valid")
    for component_id in body.get("component_ids") or []:
        if component_id not in components:
            return _invalid(f"Component {component_id} could not be found")
    if (status or current) == "scheduled" and (incident is None or "scheduled_for" in body):
        start, end = (
            _date_time(body.get("scheduled_for")),
            _date_time(body.get("scheduled_until")),
        )
        if start is None or end is None:
            return _invalid("Scheduled incidents need scheduled_for and scheduled_until")
        if end <= start:
            return _invalid("Scheduled until must be after scheduled for")
    return None


def request_object(req: Request, key: str) -> tuple[dict[str, Any], Response | None]:
    """The request's `key` object ({"incident": {...}}); or the 400 the API answers."""
    if req.content_type != "application/json":
        return {}, Response(400, {"error": "send JSON (Content-Type: application/json)"})
    try:
        data = req.json()
    except ValueError:
        return {}, Response(400, {"error": "the body is not valid JSON"})
    if not isinstance(data, dict) or not isinstance(data.get(key), dict):
        return {}, Response(400, {"error": f"param is missing or the value is empty: {key}"})
    return data[key], None


def paging(req: Request, size_name: str) -> tuple[Response | None, int, int]:
    """(a 400 for bad paging, page number, page size up to 100)."""
    values = {}
    for name, default in (("page", 1), (size_name, 100)):
        text = (req.query.get(name) or [str(default)])[-1]
        if not text.isdigit() or int(text) < 1:
            return Response(400, {"error": f"{name} must be a positive integer"}), 0, 0
        values[name] = int(text)
    return None, values["page"], min(values[size_name], 100)


def _invalid(message: str) -> Response:
    return Response(422, {"error": [message]})
