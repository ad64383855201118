"""The site's HTML pages: `index.html` and `incidents/<id>.html`, from Jinja templates.

The templates ship in notify/site/templates (base.html, parts.html, index.html, incident.html
and site.css); a `site/` folder in the config's templates folder overrides any of them by name.
They run sandboxed, autoescaped, and an undefined name is an error, as message templates are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from notify.errors import TemplateError
from notify.site.status import (
    COMPONENT_WORDS,
    IMPACT_WORDS,
    INCIDENT_WORDS,
    incident_impact,
)

if TYPE_CHECKING:
    from jinja2 import Environment

    from notify.site.history import ComponentState, Entry, SiteIncident

SHIPPED = Path(__file__).parent / "templates"
PAGE_TEMPLATES = ("base.html", "parts.html", "index.html", "incident.html", "site.css")
_COMPONENT_TONES = {
    "operational": "ok",
    "degraded_performance": "minor",
    "partial_outage": "major",
    "major_outage": "critical",
    "under_maintenance": "maintenance",
}
_IMPACT_TONES = {"none": "minor", "minor": "minor", "major": "major", "critical": "critical"}


@dataclass(frozen=True)
class Group:
    """Components shown under one heading (`name` None: those in no group)."""

    name: str | None
    states: tuple[ComponentState, ...]


def groups_of(states: Sequence[ComponentState]) -> list[Group]:
    """Components in declared order: those in no group first (a list without a heading), then
    each group, in the order of its first member."""
    order: dict[str | None, list[ComponentState]] = {None: []}
    for state in states:
        order.setdefault(state.component.group, []).append(state)
    return [Group(name, tuple(members)) for name, members in order.items() if members]


def override_dirs(template_dirs: Sequence[Path]) -> tuple[Path, ...]:
    """The `site/` folders of the config's templates folders that exist."""
    return tuple(d / "site" for d in template_dirs if (d / "site").is_dir())


def incident_tone(incident: SiteIncident) -> str:
    if incident.is_maintenance:
        return "ok" if incident.status == "completed" else "maintenance"
    if incident.is_closed:
        return "ok"
    return _IMPACT_TONES.get(incident_impact(incident), "minor")


def entry_tone(incident: SiteIncident, entry: Entry) -> str:
    if entry.status in ("resolved", "completed"):
        return "ok"
    if incident.is_maintenance:
        return "maintenance"
    return _IMPACT_TONES.get(incident_impact(incident), "minor")


@functools.lru_cache(maxsize=8)
def environment(overrides: tuple[Path, ...], timezone: str) -> Environment:
    """The sandboxed environment reading `overrides` first, then the shipped templates."""
    from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined
    from jinja2.sandbox import SandboxedEnvironment

    loaders = [FileSystemLoader(str(d)) for d in overrides] + [FileSystemLoader(str(SHIPPED))]
    env = SandboxedEnvironment(
        loader=ChoiceLoader(loaders),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(_filters(ZoneInfo(timezone)))
    env.globals.update(
        component_words=COMPONENT_WORDS,
        incident_words=INCIDENT_WORDS,
        impact_words=IMPACT_WORDS,
        component_tone=lambda status: _COMPONENT_TONES.get(status, "minor"),
        incident_tone=incident_tone,
        entry_tone=entry_tone,
        impact=incident_impact,
    )
    return env


def _filters(zone: ZoneInfo) -> dict[str, Callable[..., str]]:
    def local(moment: datetime) -> datetime:
        return moment.astimezone(zone)

    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        here = local(moment)
        return f"{here.day} {here:%b %Y, %H:%M} {here.tzname()}"

    def day(moment: datetime) -> str:
        here = local(moment)
        return f"{here.day} {here:%b %Y}"

    def iso(moment: datetime | None) -> str:
        return moment.isoformat().replace("+00:00", "Z") if moment else ""

    def lasted(start: datetime, end: datetime) -> str:
        minutes = round((end - start) / timedelta(minutes=1))
        if minutes < 1:
            return "under a minute"
        if minutes < 60:
            return f"{minutes} min"
        hours, rest = divmod(minutes, 60)
        if hours < 48:
            return f"{hours} h {rest} min" if rest else f"{hours} h"
        return f"{round(hours / 24)} days"

    return {"when": when, "day": day, "iso": iso, "lasted": lasted}


def render_page(env: Environment, name: str, context: dict[str, Any]) -> str:
    """One page; a template's error becomes a TemplateError naming the file and line."""
    from jinja2 import TemplateError as JinjaError

    try:
        return env.get_template(name).render(context)
    except JinjaError as exc:
        location = _template_line(exc) or name
        raise TemplateError(
            f"the status site's template {location} failed: {exc}",
            hint="Fix the template in your templates/site/ folder, or remove it to use the "
            "shipped one",
        ) from None


def _template_line(exc: BaseException) -> str | None:
    """ "file:line" of the template that failed: a syntax error says it, a rendering error's
    traceback has the template's frames (Jinja rewrites them to the template's lines)."""
    filename, line = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if filename and line:
        return f"{filename}:{line}"
    found = None
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code.co_filename
        if code.endswith((".html", ".css")):
            found = f"{code}:{tb.tb_lineno}"
        tb = tb.tb_next
    return found
