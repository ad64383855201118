"""What the user sees: preview panels, the plan, the result table, or one JSON document.

Every byte written goes through notify.secrets.redact, so a secret that slipped into a provider's
error text or a rendered message is still never printed.
"""

from __future__ import annotations

import io
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from notify.model import DeliveryStatus
from notify.secrets import redact

if TYPE_CHECKING:
    from rich.console import Console

    from notify.cli.options import GlobalOptions
    from notify.delivery.dispatch import Outcome
    from notify.delivery.preflight import CheckedUpdate, RenderedDelivery

T = TypeVar("T")

STATUS_STYLE: dict[str, str] = {  # looked up with the journal's plain strings too
    DeliveryStatus.SENT: "green",
    DeliveryStatus.FAILED: "red",
    DeliveryStatus.SKIPPED: "yellow",
    DeliveryStatus.PENDING: "cyan",
    DeliveryStatus.UNKNOWN: "magenta",
}
# The order of --json's "totals" (CONTRACT.md).
TOTALS_ORDER = (
    DeliveryStatus.SENT,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.PENDING,
    DeliveryStatus.UNKNOWN,
)


class RedactingStream(io.TextIOBase):  # rich accepts any text stream; typed IO[str] below
    """A text stream that scrubs secrets from everything written through it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._stream, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8") or "utf-8")


class Output:
    """stdout for results (or JSON), stderr for progress, prompts and notes."""

    def __init__(self, options: GlobalOptions) -> None:
        self.options = options
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            from rich.console import Console

            stream = cast("IO[str]", RedactingStream(sys.stdout))
            self._out = Console(file=stream, highlight=False, soft_wrap=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            from rich.console import Console

            stream = cast("IO[str]", RedactingStream(sys.stderr))
            self._err = Console(file=stream, highlight=False, stderr=True)
        return self._err

    def json(self, document: Any) -> None:
        # Indented for people; one compact line for scripts (json's C encoder skips indenting,
        # and a 100,000-delivery report is seconds faster without it).
        if sys.stdout.isatty() or not isinstance(document, dict):
            text = json.dumps(document, indent=2, ensure_ascii=False, default=_json_default)
            sys.stdout.write(redact(text) + "\n")
        else:
            write_compact(document, sys.stdout.write)
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A line for people (stderr), silenced by -q."""
        if not self.options.quiet:
            self.err.print(text)


# --- JSON documents (CONTRACT.md "--json") ------------------------------------------------------


class JsonRows(Sequence[dict[str, Any]], Generic[T]):
    """A document's list of objects, each made only when it is read: `Output.json` writes a
    100,000-delivery document one delivery at a time, never holding 100,000 dicts or one string
    of them all."""

    def __init__(self, items: Sequence[T], convert: Callable[[T], dict[str, Any]]) -> None:
        self._items = items
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._convert(item) for item in self._items[index]]
        return self._convert(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._convert, self._items)


def _json_default(value: Any) -> Any:
    return list(value) if isinstance(value, JsonRows) else str(value)


# One encoder for every piece: json.dumps would build a new one per call with these options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_default)


def write_compact(document: dict[str, Any], write: Callable[[str], Any]) -> None:
    """`document` as json.dumps writes it on one line, a top-level list item by item. Each piece
    is redacted whole: a secret cannot straddle two values."""
    encode = _ENCODER.encode
    write("{")
    for index, (key, value) in enumerate(document.items()):
        write(f"{', ' if index else ''}{encode(key)}: ")
        if isinstance(value, list | JsonRows):
            write("[")
            pieces: list[str] = []
            for n, item in enumerate(value):
                pieces.append(redact(f"{', ' if n else ''}{encode(item)}"))
                if len(pieces) == 1000:  # fewer, larger writes
                    write("".join(pieces))
                    pieces.clear()
            write("".join(pieces) + "]")
        else:
            write(redact(encode(value)))
    write("}\n")


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


def totals(statuses: Iterable[str]) -> dict[str, int]:
    counts = Counter(statuses)
    return {k.value: counts.get(k, 0) for k in TOTALS_ORDER}


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
    return {
        "incident": incident_json(checked),
        "update": update_json(checked, number),
        "dry_run": False,
        "deliveries": JsonRows(outcomes, outcome_json),
        "totals": totals(o.status for o in outcomes),
        "skipped_rows": [s.to_json() for s in checked.skipped_rows],
    }


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
            length = r.length.to_json() if r.length else None
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
    }
    if with_content and checked.fallbacks:
        doc["fallbacks"] = {
            name: [rendered_json(r, with_content=True) for r in rs]
            for name, rs in checked.fallbacks.items()
        }
    return doc


def skipped_notes(checked: CheckedUpdate) -> list[str]:
    """Lines for people about audience rows `skip_invalid` left out (markup-safe)."""
    from rich.markup import escape

    from notify.audience import skipped_summary

    return [f"[yellow]{escape(line)}[/]" for line in skipped_summary(checked.skipped_rows)]


# --- tables and panels --------------------------------------------------------------------------


def plan_table(checked: CheckedUpdate) -> Any:
    """One row per channel: how many deliveries, how long the message is, how many skipped.
    Under --tag, per-recipient channels say how many of their recipients the tags selected."""
    from rich.markup import escape
    from rich.table import Table

    title = _headline(checked)
    tags = checked.draft.request.tags
    if tags:
        title += f"\nonly recipients tagged {' or '.join(tags)} (email, SMS)"
    table = Table(title=escape(title), title_justify="left", show_edge=False)
    for col in ("channel", "type", "recipients", "length", "skipped"):
        table.add_column(col, justify="right" if col in ("recipients", "skipped") else "left")
    by_channel: dict[str, list[RenderedDelivery]] = {}
    for r in checked.deliveries:
        by_channel.setdefault(r.channel.name, []).append(r)
    for name in checked.tagged:  # channels the tags left with nobody still get a row
        by_channel.setdefault(name, [])
    for name, rows in by_channel.items():
        # Recipients of one message share its Length: describe each one once.
        lengths = {d.describe() for d in {id(r.length): r.length for r in rows}.values() if d}
        length = (
            next(iter(lengths))
            if len(lengths) == 1
            else (f"{len(lengths)} variants" if lengths else "")
        )
        skipped = sum(1 for r in rows if r.skip_reason)
        count = f"{len(rows):,}"
        selection = checked.tagged.get(name)
        if selection is not None:
            count = f"{selection.selected:,} of {selection.total:,}"
        table.add_row(
            escape(name),
            rows[0].channel.type if rows else (selection.type if selection else ""),
            count,
            length,
            f"{skipped:,}" if skipped else "",
        )
    return table


def _headline(checked: CheckedUpdate) -> str:
    draft = checked.draft
    i = draft.incident
    state = "new incident" if draft.is_new_incident else f"update {draft.number}"
    return f"{i.id} — {i.title} [{draft.status}] ({state})"


def results_table(outcomes: list[Outcome], *, limit: int = 200) -> Any:
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False)
    for col in ("channel", "recipient", "status", "attempts", "provider id", "error"):
        table.add_column(col, overflow="fold")
    shown = (
        outcomes
        if len(outcomes) <= limit
        else [o for o in outcomes if o.status != DeliveryStatus.SENT][:limit]
    )
    for o in shown:
        style = STATUS_STYLE.get(o.status, "")
        status = f"[{style}]{o.status}[/]" if style else o.status
        if o.fallback_for is not None:
            status += " (fallback)"
        if o.rescued_by is not None:
            status += " (rescued)"
        table.add_row(
            escape(o.channel),
            escape(o.recipient),
            status,
            str(o.attempts),
            escape(o.provider_message_id or ""),
            escape(o.error or ""),
        )
    return table


def summary_line(outcomes: list[Outcome]) -> str:
    counts = totals(o.status for o in outcomes)
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    return ", ".join(parts) or "nothing to deliver"


def preview_panels(checked: CheckedUpdate) -> list[Any]:
    """One panel per channel (the first recipient's message; variants noted)."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    panels = []
    by_channel: dict[str, list[RenderedDelivery]] = {}
    for r in checked.deliveries:
        by_channel.setdefault(r.channel.name, []).append(r)
    for name, rows in by_channel.items():
        first = rows[0]
        body = Text()
        fmt = first.channel.adapter.spec.format
        # Show the subject only where the recipient sees it: email and webhook bodies carry it,
        # a Teams card shows it as its title; Slack, Telegram and Discord messages do not.
        if first.message.subject and fmt in ("email", "webhook"):
            body.append("Subject: ", style="bold")
            body.append(first.message.subject + "\n\n")
        elif first.message.subject and fmt == "teams":
            body.append(first.message.subject + "\n\n", style="bold")
        body.append(first.message.text)
        who = (
            first.recipient.address
            if len(rows) == 1
            else f"{first.recipient.address} (+{len(rows) - 1} more)"
        )
        title = escape(f"{name} · {first.channel.type} → {who}")
        notes = [first.length.describe()] if first.length else []
        if first.truncated:
            notes.append("truncated")
        if first.message.html:
            notes.append(f"+ HTML part, {len(first.message.html)} bytes")
        panels.append(
            Panel(
                body,
                title=title,
                title_align="left",
                subtitle=" · ".join(notes),
                subtitle_align="right",
            )
        )
    return panels
