"""notify-pagerduty: incident updates as PagerDuty alerts, through the Events API v2.

Every update of an incident is one event on the same alert: its `dedup_key` is the incident's id,
so `investigating` opens (triggers) the alert, later updates re-trigger it with their new text,
and `resolved` (or a maintenance's `completed`) resolves it. That is this type's threading.

A notify channel type is a `Channel` subclass with a `spec` (its settings and how it renders,
declared as data: notify validates channels.yaml, redacts secrets and lists the type from it) and
an async `send` that turns one rendered message into one request and the answer into a `Receipt`.
Retries, rate limits, the journal and fallbacks are notify's job, not the plugin's.
"""

from __future__ import annotations

import json
from typing import Any

from notify.channels.base import (
    Channel,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)

__version__ = "0.1.0"

# The incident's impact (`notify send --impact`) -> the alert's severity in PagerDuty.
SEVERITY = {"critical": "critical", "major": "error", "minor": "warning", "none": "info"}
NO_IMPACT_SEVERITY = "error"  # an incident someone pages about without saying how bad it is
# Incident statuses that close the alert: an incident's `resolved`, a maintenance's `completed`.
RESOLVING = frozenset({"resolved", "completed"})

MAX_SUMMARY = 1024  # characters: PagerDuty's limit on payload.summary (the alert's title)
MAX_EVENT_BYTES = 512 * 1024  # PagerDuty's limit on one event
ENVELOPE_BYTES = 4096  # room kept for the event's other fields when measuring the text


class PagerDutyChannel(Channel):
    spec = ChannelSpec(
        type="pagerduty",  # must equal the entry point's name in pyproject.toml
        fields=(
            Field(
                "routing_key",
                required=True,
                secret=True,  # never printed, logged or journaled by notify
                help="the Integration Key of an Events API v2 integration, e.g. ${PD_ROUTING_KEY}",
            ),
            Field("source", help="where the problem is (a host or service); default: org.name"),
            Field(
                "severity",
                choices=("critical", "error", "warning", "info"),
                help="a fixed severity; default: from --impact (critical, major, minor, none)",
            ),
        ),
        part="body",  # subject + Markdown body, not the short SMS text
        format="webhook",  # the body as readable plain text, the subject as one line
        default_base_url="https://events.pagerduty.com",  # or https://events.eu.pagerduty.com
        threading="one alert per incident (dedup_key = incident id); resolved resolves it",
        summary="a PagerDuty alert on a service, through the Events API v2",
    )

    def target(self) -> str:
        # What tables and the journal show as the recipient: never the routing key itself.
        return "events-api-v2"

    def validate(self) -> list[tuple[str, str]]:
        # Rules a Field declaration cannot say; notify reports them at `check` with file and line.
        key = str(self.settings.get("routing_key") or "")
        if len(key) != 32:
            return [
                (
                    "routing_key",
                    "a routing key is 32 characters: copy the Integration Key of the service's "
                    "Events API v2 integration (not an API access key)",
                )
            ]
        return []

    def measure(self, message: Message) -> Length:
        used = len(message.text.encode()) + len((message.subject or "").encode()) + ENVELOPE_BYTES
        return Length(used, MAX_EVENT_BYTES, "bytes")

    def event(self, message: Message, thread: ThreadRef, ctx: DeliveryContext) -> dict[str, Any]:
        """The Events API v2 request body for one update."""
        incident, org = ctx.incident, ctx.org
        # Thread data saved from this incident's first event here; the incident id before that.
        root = thread.root or {}
        dedup_key = str(root.get("dedup_key") or incident["id"])
        status = str(message.status or incident.get("status") or "")
        if status in RESOLVING:
            return {
                "routing_key": self.settings["routing_key"],
                "event_action": "resolve",
                "dedup_key": dedup_key,
            }
        impact = incident.get("impact")
        severity = self.settings.get("severity") or SEVERITY.get(impact or "", NO_IMPACT_SEVERITY)
        summary = message.subject or str(incident.get("title") or incident["id"])
        if len(summary) > MAX_SUMMARY:
            summary = summary[: MAX_SUMMARY - 1] + "…"
        event: dict[str, Any] = {
            "routing_key": self.settings["routing_key"],
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": summary,
                "source": self.settings.get("source") or org.get("name") or "notify",
                "severity": severity,
                "custom_details": {"message": message.text, "status": status, "link": message.link},
            },
            "client": org.get("name") or "notify",
        }
        if message.link:
            event["client_url"] = message.link
            event["links"] = [{"href": message.link, "text": "Status page"}]
        return event

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        # Network errors (timeouts, refused connections) propagate: notify retries them.
        response = await ctx.http.post(
            f"{self.base_url}/v2/enqueue",
            content=json.dumps(self.event(message, thread, ctx)).encode(),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        answer = _json(response.text)
        status = response.status_code
        if status == 202:
            dedup_key = str(answer.get("dedup_key") or "")
            # thread_data is kept in the journal and handed back as `thread` on later updates.
            return Receipt(
                ok=True,
                provider_message_id=dedup_key or None,
                thread_data={"dedup_key": dedup_key} if dedup_key else {},
                status_code=status,
            )
        said = "; ".join(str(e) for e in answer.get("errors") or ()) or answer.get("message")
        said = " ".join(str(said or response.text or "no details").split())[:200]
        who = f"pagerduty channel {self.name!r}"
        if status == 429 or status >= 500:
            return Receipt(
                ok=False,
                error=f"{who}: PagerDuty answered {status} ({said})",
                retryable=True,  # 429: throttled, the event was not accepted; 5xx: try again
                retry_after=_seconds(response.headers.get("retry-after")),
                status_code=status,
            )
        if "routing key" in said.lower():
            hint = "check routing_key: the Integration Key of an Events API v2 integration"
        elif status == 400:
            hint = "fix the field PagerDuty names"
        else:
            hint = "check base_url: https://events.pagerduty.com (EU: events.eu.pagerduty.com)"
        error = f"{who}: PagerDuty refused the event ({status}: {said}): {hint}"
        return Receipt(ok=False, error=error, status_code=status)

    async def check_online(self, ctx: DeliveryContext) -> str:
        # The Events API has no read-only call: a routing key is only proven by sending an event.
        return "not checked online: a routing key can only be proven by sending an event"


def _json(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _seconds(header: str | None) -> float | None:
    """Retry-After in seconds, when PagerDuty sends one (it usually does not)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
