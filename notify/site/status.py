"""What statuses mean on the page: words, severities, and the overall status of the service.

The overall status follows Atlassian Statuspage's rules, so the `status` object of the JSON and
the page's headline agree with what Statuspage consumers expect: the worst of the components'
statuses and the open incidents' impacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from notify.site.history import ComponentState, SiteIncident

INDICATORS = ("none", "minor", "major", "critical")  # `status.indicator`, mildest first

COMPONENT_WORDS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
    "under_maintenance": "Under maintenance",
}
COMPONENT_INDICATOR = {  # a component's status as an overall indicator
    "operational": "none",
    "under_maintenance": "none",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
}
INCIDENT_WORDS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "postmortem": "Postmortem",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "verifying": "Verifying",
    "completed": "Completed",
}
IMPACT_WORDS = {
    "none": "No impact",
    "minor": "Minor impact",
    "major": "Major impact",
    "critical": "Critical impact",
    "maintenance": "Maintenance",
}
DESCRIPTIONS = {  # Statuspage's own words for each indicator
    "none": "All Systems Operational",
    "minor": "Minor Service Outage",
    "major": "Partial System Outage",
    "critical": "Major Service Outage",
}
UNDER_MAINTENANCE = "Service Under Maintenance"


@dataclass(frozen=True)
class Overall:
    """The service as a whole: Statuspage's `status` object, and whether work is under way."""

    indicator: str  # none | minor | major | critical
    description: str
    maintenance: bool  # a maintenance is in progress

    @property
    def tone(self) -> str:
        """The page's colour family for it (never the only signal: words and icons say it)."""
        if self.indicator == "none":
            return "maintenance" if self.maintenance else "ok"
        return self.indicator

    def to_json(self) -> dict[str, str]:
        return {"indicator": self.indicator, "description": self.description}


def worst(indicators: Iterable[str]) -> str:
    """The most severe of `indicators` ("none" when there are none)."""
    return max(indicators, key=INDICATORS.index, default="none")


def incident_indicator(incident: SiteIncident) -> str:
    """An open incident's weight in the overall status (maintenance counts as none)."""
    impact = incident_impact(incident)
    return impact if impact in INDICATORS else "none"


def overall(components: Iterable[ComponentState], incidents: Iterable[SiteIncident]) -> Overall:
    """The overall status from the components' statuses and the active incidents."""
    states = list(components)
    active = [i for i in incidents if i.is_active]
    indicator = worst(
        [COMPONENT_INDICATOR.get(s.status, "none") for s in states]
        + [incident_indicator(i) for i in active]
    )
    maintenance = any(i.is_maintenance for i in active) or any(
        s.status == "under_maintenance" for s in states
    )
    description = DESCRIPTIONS[indicator]
    if indicator == "none" and maintenance:
        description = UNDER_MAINTENANCE
    return Overall(indicator, description, maintenance)


def incident_impact(incident: SiteIncident) -> str:
    """The incident's impact as Statuspage reports it: maintenance for scheduled work. An
    incident whose impact was never given counts as minor, as its components do (something is
    wrong, or there would be no incident); `--impact none` says otherwise."""
    if incident.is_maintenance:
        return "maintenance"
    return incident.impact if incident.impact in INDICATORS else "minor"
