"""Atlassian Statuspage (manage API): one Statuspage incident per notify incident, kept current.

The first update creates the incident (`POST /v1/pages/{page_id}/incidents`), later ones PATCH
it, each with `status`, `body`, `impact_override`, the named components' ids and statuses (looked
up by name on the page) and `deliver_notifications`. A maintenance announced with
`maintenance-scheduled` becomes a scheduled incident (`scheduled_for` / `scheduled_until`).

Nothing is created twice: every request carries, in the incident's `metadata`, the notify
incident and the delivery it is for. Before creating, the page's recent incidents are searched
for one carrying this notify incident (a run that died with its create in flight may have made
it), and before changing one, its metadata tells whether this very delivery already did. The API
allows a key 1 request/s, so the adapter paces its own requests at the channel's `rate_limit`
(several per delivery), and a 420/429 is retried after the wait the page asks for.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from notify.channels.base import (
    ChannelCheckError,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.channels.http import Answer, HttpChannel, Request, failed, label, retry_after

BODY_LIMIT = 25_000  # characters of an incident update's body (Statuspage's limit)
SEARCHED = 100  # the most recent incidents searched for one a crashed run may have created
METADATA_KEY = "notify"
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60}
_AUTH_HINT = "check api_key (Statuspage: your avatar > API info) and that its user manages the page"


def seconds_between_requests(rate: str | None) -> float:
    """The pause between two requests for a `rate_limit` like "1/s" (0 without one)."""
    match = _RATE.match(rate or "")
    if not match or float(match.group(1)) <= 0:
        return 0.0
    return _PERIODS.get(match.group(2), 3600) / float(match.group(1))


class StatuspageChannel(HttpChannel):
    spec = ChannelSpec(
        type="statuspage",
        fields=(
            Field(
                "api_key",
                required=True,
                secret=True,
                help="a Statuspage API key (your avatar > API info), e.g. ${STATUSPAGE_API_KEY}",
            ),
            Field("page_id", required=True, help="the page's id, from the same API info page"),
            Field(
                "deliver_notifications",
                "bool",
                default=True,
                help="let Statuspage notify the page's own subscribers of each update",
            ),
            Field(
                "rate_limit",
                default="1/s",
                help="Statuspage allows each API key 1 request/s; raise it only if yours allows",
            ),
        ),
        part="body",
        format="webhook",  # plain text of the body: Statuspage shows and mails it as it is
        default_base_url="https://api.statuspage.io",
        threading="one Statuspage incident per notify incident: created once, then updated",
        summary="Atlassian Statuspage (manage API): incidents, their updates, component statuses",
    )

    def __init__(self, name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(name, settings)
        self._interval = seconds_between_requests(self.settings.rate_limit)
        self._last_request = 0.0
        self._pace_lock: asyncio.Lock | None = None
        self._component_ids: dict[str, str] | None = None  # name -> id, read once a run

    @property
    def page_url(self) -> str:
        return f"{self.base_url}/v1/pages/{quote(str(self.settings.page_id), safe='')}"

    def measure(self, message: Message) -> Length | None:
        return Length(len(message.text), BODY_LIMIT, "characters")

    # -- requests ------------------------------------------------------------------------------

    async def request(self, ctx: DeliveryContext, method: str, path: str, **kw: Any) -> Answer:
        """One request to the page's API, paced: never closer to the last than `rate_limit`."""
        if self._pace_lock is None:
            self._pace_lock = asyncio.Lock()
        async with self._pace_lock:
            wait = self._last_request + self._interval - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_request = time.monotonic()
        headers = {"Authorization": f"OAuth {self.settings.api_key}", "Accept": "application/json"}
        return await self.call(
            ctx, Request(method, f"{self.page_url}{path}", headers=headers, **kw)
        )

    def refused(self, answer: Answer, doing: str) -> Receipt:
        """A failed answer as a Receipt: what was being done, what Statuspage said, what to do."""
        who, status = label(self), answer.status
        said = _words(answer)
        if status in (420, 429):
            wait = retry_after(answer.headers, 429)
            return failed(
                f"{who}: Statuspage's rate limit ({said}) while {doing}",
                status_code=status,
                retryable=True,
                retry_after=wait,
            )
        if status in (401, 403):
            return failed(f"{who} was refused ({status}: {said}): {_AUTH_HINT}", status_code=status)
        if status == 404:
            return failed(
                f"{who}: no page {self.settings.page_id!r} ({said}) while {doing}: check page_id",
                status_code=status,
            )
        if status >= 500 or status == 408:
            return failed(
                f"{who}: Statuspage failed ({status}: {said}) while {doing}",
                status_code=status,
                retryable=True,
                retry_after=retry_after(answer.headers, status),
            )
        return failed(f"{who}: Statuspage refused {doing} ({status}: {said})", status_code=status)

    # -- one delivery --------------------------------------------------------------------------

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        names = [str(n) for n in ctx.incident.get("components") or ()]
        ids: dict[str, str] = {}
        if names:
            found = await self.component_ids(ctx)
            if isinstance(found, Receipt):
                return found
            missing = [n for n in names if n not in found]
            if missing:
                return failed(
                    f"{label(self)}: the page has no component named {missing[0]!r}: add it on "
                    "Statuspage with that exact name, or rename it in channels.yaml"
                )
            ids = {n: found[n] for n in names}
        existing = await self.existing_incident(thread, ctx)
        if isinstance(existing, Receipt):
            return existing
        if existing is not None and _meta(existing).get("delivery") == ctx.delivery_key:
            return self.receipt(existing)  # an earlier run did this already: nothing to repeat
        body = self.incident_body(message, ctx, ids)
        if isinstance(body, Receipt):
            return body
        if existing is None:
            answer = await self.request(ctx, "POST", "/incidents", json={"incident": body})
            doing = "creating the incident"
        else:
            path = f"/incidents/{quote(str(existing.get('id')), safe='')}"
            answer = await self.request(ctx, "PATCH", path, json={"incident": body})
            doing = "updating the incident"
        if not answer.ok or not answer.fields.get("id"):
            return self.refused(answer, doing)
        return self.receipt(answer.fields)

    def receipt(self, incident: Mapping[str, Any]) -> Receipt:
        thread = {"incident_id": str(incident.get("id"))}
        if incident.get("shortlink"):
            thread["shortlink"] = str(incident["shortlink"])
        return Receipt(ok=True, provider_message_id=str(incident.get("id")), thread_data=thread)

    async def component_ids(self, ctx: DeliveryContext) -> dict[str, str] | Receipt:
        """The page's components by name (groups left out), read once a run, page by page."""
        if self._component_ids is not None:
            return self._component_ids
        found: dict[str, str] = {}
        for page in range(1, 100):
            answer = await self.request(ctx, "GET", f"/components?page={page}&per_page=100")
            if not answer.ok or not isinstance(answer.data, list):
                return self.refused(answer, "reading the page's components")
            for item in answer.data:
                if isinstance(item, Mapping) and not item.get("group") and item.get("name"):
                    found.setdefault(str(item["name"]), str(item.get("id")))
            if len(answer.data) < 100:
                break
        self._component_ids = found
        return found

    async def existing_incident(
        self, thread: ThreadRef, ctx: DeliveryContext
    ) -> Mapping[str, Any] | Receipt | None:
        """The Statuspage incident of this notify incident: the one an earlier delivery made
        (read back, to see whether this delivery already reached it), else one carrying this
        incident in its metadata among the page's recent incidents, else None."""
        known = next(
            (
                str(ref["incident_id"])
                for ref in (thread.previous, thread.root)
                if ref and ref.get("incident_id")
            ),
            None,
        )
        if known is not None:
            answer = await self.request(ctx, "GET", f"/incidents/{quote(known, safe='')}")
            if answer.ok and answer.fields.get("id"):
                return answer.fields
            if answer.status != 404:  # 404: deleted on Statuspage; look for another, or create
                return self.refused(answer, "reading the incident")
        answer = await self.request(ctx, "GET", f"/incidents?limit={SEARCHED}&page=1")
        if not answer.ok or not isinstance(answer.data, list):
            return self.refused(answer, "looking for the incident")
        ours = str(ctx.incident.get("id") or "")
        for item in answer.data:
            if isinstance(item, Mapping) and _meta(item).get("incident") == ours:
                return item
        return None

    def incident_body(
        self, message: Message, ctx: DeliveryContext, ids: Mapping[str, str]
    ) -> dict[str, Any] | Receipt:
        """The `incident` object of a create or an update."""
        incident, update = ctx.incident, ctx.update
        status = str(message.status or update.get("status") or incident.get("status"))
        body: dict[str, Any] = {
            "name": str(incident.get("title") or ""),
            "status": status,
            "body": message.text,
            "deliver_notifications": bool(self.settings.deliver_notifications),
            "metadata": {
                METADATA_KEY: {
                    "incident": str(incident.get("id") or ""),
                    "update": str(update.get("number") or ""),
                    "delivery": ctx.delivery_key,
                }
            },
        }
        impact = incident.get("impact")
        if impact in ("none", "minor", "major", "critical") and status not in _MAINTENANCE:
            body["impact_override"] = impact
        if ids:
            body["component_ids"] = list(ids.values())
            statuses = update.get("component_statuses") or {}
            changes = {ids[n]: s for n, s in statuses.items() if n in ids}
            if changes:
                body["components"] = changes
        if status == "scheduled":
            window = update.get("maintenance") or {}
            starts, ends = window.get("starts_at"), window.get("ends_at")
            if not starts or not ends:
                return failed(
                    f"{label(self)}: a scheduled maintenance needs its window on Statuspage: "
                    "give --set window_start=<ISO time> and --set window_end=<ISO time>"
                )
            body["scheduled_for"], body["scheduled_until"] = starts, ends
        return body

    async def check_online(self, ctx: DeliveryContext) -> str:
        answer = await self.request(ctx, "GET", "")
        if not answer.ok:
            raise ChannelCheckError(self.refused(answer, "reading the page").error or "")
        found = await self.component_ids(ctx)
        if isinstance(found, Receipt):
            raise ChannelCheckError(found.error or "")
        name = answer.fields.get("name") or self.settings.page_id
        return f"statuspage: page {name!r} reachable, {len(found)} component(s)"


_MAINTENANCE = frozenset({"scheduled", "in_progress", "verifying", "completed"})


def _meta(incident: Mapping[str, Any]) -> Mapping[str, Any]:
    """What notify wrote into an incident's metadata ({} when none)."""
    metadata = incident.get("metadata")
    mine = metadata.get(METADATA_KEY) if isinstance(metadata, Mapping) else None
    return mine if isinstance(mine, Mapping) else {}


def _words(answer: Answer) -> str:
    """What Statuspage said: {"message": ...} (its documented errors), {"error": ... or [...]}."""
    data = answer.fields
    for key in ("message", "error", "errors"):
        value = data.get(key)
        if isinstance(value, list) and value:
            return "; ".join(str(v) for v in value)
        if isinstance(value, str) and value:
            return value
    return answer.snippet()
