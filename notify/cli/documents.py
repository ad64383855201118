"""The --json documents (CONTRACT.md "--json"): a plan, a result, and their totals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from notify.cli.output import JsonRows
from notify.model import DeliveryStatus, Length

if TYPE_CHECKING:
    from notify.delivery.dispatch import Outcome
    from notify.delivery.preflight import CheckedUpdate, RenderedDelivery

# The order of --json's "totals" (CONTRACT.md).
TOTALS_ORDER = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.PENDING,
    DeliveryStatus.UNKNOWN,
)


def totals(statuses: Iterable[str]) -> dict[str, int]:
    """How many deliveries have each status, every status named, in the contract's order."""
    counts = Counter(statuses)
    return {k.value: counts.get(k, 0) for k in TOTALS_ORDER}


def fan_outs(checked: CheckedUpdate) -> list[dict[str, Any]]:
    """Per channel, how long its fan-out is expected to take at its `rate_limit`: the requests
    its deliveries make (a batching adapter carries many in one) over the rate. `seconds` is
    None for a channel without a rate: as fast as the provider answers."""
    found = []
    for name, (config, count) in checked.channel_counts().items():
        batch = max(1, int(config.adapter.batch_size()))
        requests = -(-count // batch)
        rate = config.rate_limit
        found.append(
            {
                "channel": name,
                "deliveries": count,
                "requests": requests,
                "rate_limit": rate.text if rate is not None else None,
                "seconds": round(requests / rate.per_second, 3) if rate is not None else None,
            }
        )
    return found


def incident_json(checked: CheckedUpdate) -> dict[str, Any]:
    from notify.delivery import incident

    return incident.incident_json(checked.draft.incident, incident.SUMMARY_FIELDS)


def update_json(checked: CheckedUpdate, number: int | None = None) -> dict[str, Any]:
    return {
        "number": number if number is not None else checked.draft.number,
        "key": checked.key,
        "status": checked.draft.status,
        "template": checked.draft.template,
    }


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "channel": outcome.channel,
        "type": outcome.type,
        "recipient": outcome.recipient,
        "status": outcome.status,
        "attempts": outcome.attempts,
        "provider_message_id": outcome.provider_message_id,
        "error": outcome.error,
        "fallback_for": outcome.fallback_for,
        "rescued_by": outcome.rescued_by,
    }


def result_document(checked: CheckedUpdate, number: int, outcomes: list[Outcome]) -> dict[str, Any]:
    """`send --json`, `retry --json` (one per update) and `demo --json`: what became of each."""
    return {
        "incident": incident_json(checked),
        "update": update_json(checked, number),
        "dry_run": False,
        "deliveries": JsonRows(outcomes, outcome_json),
        "totals": totals(o.status for o in outcomes),
        "skipped_rows": [s.to_json() for s in checked.skipped_rows],
        "fan_out": fan_outs(checked),  # added by issue 10: the expected time of each channel
    }


def length_of(r: RenderedDelivery) -> Length:
    """The delivery's length as its channel counts it; a channel that counts none (a webhook,
    the status site, a plugin) still shows how long its text is, against no limit."""
    return r.length if r.length is not None else Length(len(r.message.text), None, "characters")


def rendered_json(
    r: RenderedDelivery, *, with_content: bool, shared: dict[int, Any] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "channel": r.channel.name,
        "type": r.channel.type,
        "recipient": r.recipient.address,
        "status": DeliveryStatus.SKIPPED if r.skip_reason else DeliveryStatus.PENDING,
        "attempts": 0,
        "provider_message_id": None,
        "error": r.skip_reason,
    }
    if with_content:
        # Recipients who get the same message share one Message: its JSON is made once.
        key = id(r.message)
        content = shared.get(key) if shared is not None else None
        if content is None or content[0] is not r.message or content[1] is not r.length:
            length = length_of(r).to_json()
            content = (r.message, r.length, r.message.rendered(), length)
            if shared is not None:
                shared[key] = content
        doc["rendered"] = content[2]
        doc["length"] = content[3]
        doc["truncated"] = r.truncated
    return doc


def plan_document(checked: CheckedUpdate, *, with_content: bool) -> dict[str, Any]:
    """`preview --json` (with rendered and length) and `send --dry-run --json`."""
    shared: dict[int, Any] = {}

    def one(r: RenderedDelivery) -> dict[str, Any]:
        return rendered_json(r, with_content=with_content, shared=shared)

    doc: dict[str, Any] = {
        "incident": incident_json(checked),
        "update": update_json(checked),
        "dry_run": True,
        "deliveries": JsonRows(checked.deliveries, one),
        "totals": totals(
            DeliveryStatus.SKIPPED if r.skip_reason else DeliveryStatus.PENDING
            for r in checked.deliveries
        ),
        "skipped_rows": [s.to_json() for s in checked.skipped_rows],
        "fan_out": fan_outs(checked),  # added by issue 10: the expected time of each channel
    }
    if with_content and checked.fallbacks:
        doc["fallbacks"] = {
            name: [rendered_json(r, with_content=True) for r in rs]
            for name, rs in checked.fallbacks.items()
        }
    return doc
