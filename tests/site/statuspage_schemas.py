"""JSON Schemas of Atlassian Statuspage's public status API (`/api/v2/*.json` of any page).

Written from Statuspage's documentation of the public API (every page documents it at
`<page>/api`) and its OpenAPI description of the same objects (Component, Incident,
IncidentUpdate): the fields a consumer reads, their types and their value sets. The site's JSON
must pass them, so that tools built for Statuspage read it unchanged.
"""

from __future__ import annotations

from typing import Any

TIME = {"type": "string", "format": "date-time"}
TIME_OR_NULL = {"anyOf": [TIME, {"type": "null"}]}
TEXT_OR_NULL = {"type": ["string", "null"]}
COMPONENT_STATUSES = [
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
]
INCIDENT_STATUSES = ["investigating", "identified", "monitoring", "resolved", "postmortem"]
MAINTENANCE_STATUSES = ["scheduled", "in_progress", "verifying", "completed"]
IMPACTS = ["none", "minor", "major", "critical", "maintenance"]

PAGE: dict[str, Any] = {
    "type": "object",
    "required": ["id", "name", "url", "time_zone", "updated_at"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "url": {"type": "string", "pattern": "^https?://"},
        "time_zone": {"type": "string"},
        "updated_at": TIME,
    },
}
STATUS: dict[str, Any] = {
    "type": "object",
    "required": ["indicator", "description"],
    "properties": {
        "indicator": {"enum": ["none", "minor", "major", "critical"]},
        "description": {"type": "string", "minLength": 1},
    },
    "additionalProperties": False,
}
COMPONENT: dict[str, Any] = {
    "type": "object",
    "required": [
        "id", "name", "status", "created_at", "updated_at", "position", "description",
        "showcase", "start_date", "group_id", "page_id", "group", "only_show_if_degraded",
    ],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string", "minLength": 1},
        "status": {"enum": COMPONENT_STATUSES},
        "created_at": TIME,
        "updated_at": TIME,
        "position": {"type": "integer", "minimum": 1},
        "description": TEXT_OR_NULL,
        "showcase": {"type": "boolean"},
        "start_date": TEXT_OR_NULL,
        "group_id": TEXT_OR_NULL,
        "page_id": {"type": "string"},
        "group": {"type": "boolean"},
        "only_show_if_degraded": {"type": "boolean"},
        "components": {"type": "array", "items": {"type": "string"}},
    },
}  # fmt: skip
AFFECTED: dict[str, Any] = {
    "type": "object",
    "required": ["code", "name", "old_status", "new_status"],
    "properties": {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "old_status": {"enum": COMPONENT_STATUSES},
        "new_status": {"enum": COMPONENT_STATUSES},
    },
}
INCIDENT_UPDATE: dict[str, Any] = {
    "type": "object",
    "required": [
        "id", "status", "body", "incident_id", "created_at", "updated_at", "display_at",
        "affected_components", "deliver_notifications", "custom_tweet", "tweet_id",
    ],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "status": {"enum": INCIDENT_STATUSES + MAINTENANCE_STATUSES},
        "body": {"type": "string"},
        "incident_id": {"type": "string"},
        "created_at": TIME,
        "updated_at": TIME,
        "display_at": TIME,
        "affected_components": {"anyOf": [{"type": "null"}, {"type": "array", "items": AFFECTED}]},
        "deliver_notifications": {"type": "boolean"},
        "custom_tweet": TEXT_OR_NULL,
        "tweet_id": TEXT_OR_NULL,
    },
}  # fmt: skip
_INCIDENT_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "minLength": 1},
    "name": {"type": "string", "minLength": 1},
    "created_at": TIME,
    "updated_at": TIME,
    "monitoring_at": TIME_OR_NULL,
    "resolved_at": TIME_OR_NULL,
    "impact": {"enum": IMPACTS},
    "shortlink": {"type": "string", "pattern": "^https?://"},
    "started_at": TIME,
    "page_id": {"type": "string"},
    "incident_updates": {"type": "array", "items": INCIDENT_UPDATE, "minItems": 1},
    "components": {"type": "array", "items": COMPONENT},
}
_INCIDENT_REQUIRED = [
    "id", "name", "status", "created_at", "updated_at", "monitoring_at", "resolved_at", "impact",
    "shortlink", "started_at", "page_id", "incident_updates", "components",
]  # fmt: skip
INCIDENT: dict[str, Any] = {
    "type": "object",
    "required": _INCIDENT_REQUIRED,
    "properties": {**_INCIDENT_FIELDS, "status": {"enum": INCIDENT_STATUSES}},
}
MAINTENANCE: dict[str, Any] = {
    "type": "object",
    "required": [*_INCIDENT_REQUIRED, "scheduled_for", "scheduled_until"],
    "properties": {
        **_INCIDENT_FIELDS,
        "status": {"enum": MAINTENANCE_STATUSES},
        "impact": {"const": "maintenance"},
        "scheduled_for": TIME,
        "scheduled_until": TIME_OR_NULL,
    },
}


def _document(**fields: Any) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["page", *fields],
        "properties": {"page": PAGE, **fields},
        "additionalProperties": False,
    }


def _list(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": item}


DOCUMENTS: dict[str, dict[str, Any]] = {  # path under api/v2/ -> its schema
    "summary.json": _document(
        components=_list(COMPONENT),
        incidents=_list(INCIDENT),
        scheduled_maintenances=_list(MAINTENANCE),
        status=STATUS,
    ),
    "status.json": _document(status=STATUS),
    "components.json": _document(components=_list(COMPONENT)),
    "incidents.json": _document(incidents=_list(INCIDENT)),
    "incidents/unresolved.json": _document(incidents=_list(INCIDENT)),
    "scheduled-maintenances.json": _document(scheduled_maintenances=_list(MAINTENANCE)),
    "scheduled-maintenances/upcoming.json": _document(scheduled_maintenances=_list(MAINTENANCE)),
    "scheduled-maintenances/active.json": _document(scheduled_maintenances=_list(MAINTENANCE)),
}


def check(path: str, document: Any) -> None:
    """Raise jsonschema's ValidationError (saying where) unless `document` fits `path`'s shape."""
    from jsonschema import Draft202012Validator, FormatChecker

    validator = Draft202012Validator(DOCUMENTS[path], format_checker=FormatChecker())
    validator.validate(document)
