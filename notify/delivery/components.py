"""What an update does to the incident's components: the status it gives each (CONTRACT.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from notify.model import component_status_for

if TYPE_CHECKING:
    from notify.delivery.inputs import UpdateRequest
    from notify.journal.base import Incident


def component_statuses(request: UpdateRequest, incident: Incident) -> dict[str, str]:
    """The status this update gives each component (CONTRACT.md): each named with --component
    follows the update (`component_status_for`) unless NAME=STATUS set it. An update naming
    none moves the incident's components when it ends or starts a maintenance, or changes the
    impact; otherwise they keep their status (so a NAME=STATUS set earlier stays)."""
    status, impact = incident.status, incident.impact
    explicit = request.component_statuses
    if request.components:
        chosen = {
            n: explicit.get(n) or component_status_for(status, impact) for n in request.components
        }
        return {name: value for name, value in chosen.items() if value}
    if explicit:  # a re-run of an update that recorded them: as recorded
        return dict(explicit)
    if status in ("resolved", "completed", "in_progress") or request.impact:
        follows = component_status_for(status, impact)
        return {name: follows for name in incident.components} if follows else {}
    return {}
