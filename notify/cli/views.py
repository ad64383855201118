"""What a person reads on a terminal: the plan table, preview panels, results table, summaries.

Each function returns rich renderables or markup; rich itself is imported inside them, so that
importing a command module (for `notify send --help`) does not pay for it. Text that came from
users or providers is escaped: brackets in a title print as written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from notify.cli.documents import fan_outs, length_of, totals
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from notify.delivery.dispatch import Outcome
    from notify.delivery.preflight import CheckedUpdate, RenderedDelivery
    from notify.delivery.service import UpdateResult

STATUS_STYLE: dict[str, str] = {  # looked up with the journal's plain strings too
    DeliveryStatus.SENT: "green",
    DeliveryStatus.FAILED: "red",
    DeliveryStatus.SKIPPED: "yellow",
    DeliveryStatus.PENDING: "cyan",
    DeliveryStatus.UNKNOWN: "magenta",
}


def skipped_notes(checked: CheckedUpdate) -> list[str]:
    """Lines for people about audience rows `skip_invalid` left out (markup-safe)."""
    if not checked.skipped_rows:
        return []  # the usual case: no need to load rich (a --json send may never use it)
    from rich.markup import escape

    from notify.audience import skipped_summary

    return [f"[yellow]{escape(line)}[/]" for line in skipped_summary(checked.skipped_rows)]


def _by_channel(checked: CheckedUpdate) -> dict[str, list[RenderedDelivery]]:
    by_channel: dict[str, list[RenderedDelivery]] = {}
    for r in checked.deliveries:
        by_channel.setdefault(r.channel.name, []).append(r)
    return by_channel


def _state(checked: CheckedUpdate) -> str:
    draft = checked.draft
    return "new incident" if draft.is_new_incident else f"update {draft.number}"


def duration_words(seconds: float | None) -> str:
    """A fan-out's expected time, short: "<1 s", "10 s", "3 min 20 s", "2 h 5 min"; "" for none."""
    if seconds is None:
        return ""
    if seconds < 1:
        return "<1 s"
    whole = round(seconds)
    if whole < 120:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 120:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


def plan_table(checked: CheckedUpdate) -> Any:
    """One row per channel: how many deliveries, how long the message is, how many skipped,
    and how long its fan-out takes at its rate_limit (blank without one). Under --tag,
    per-recipient channels say how many of their recipients the tags selected."""
    from rich.markup import escape
    from rich.table import Table

    draft = checked.draft
    title = f"{draft.incident.id} — {draft.incident.title} [{draft.status}] ({_state(checked)})"
    tags = draft.request.tags
    if tags:
        title += f"\nonly recipients tagged {' or '.join(tags)} (email, SMS)"
    table = Table(title=escape(title), title_justify="left", show_edge=False)
    for col in ("channel", "type", "recipients", "length", "skipped", "time"):
        # On a narrow terminal the length's words wrap; names and counts stay whole.
        table.add_column(
            col,
            justify="right" if col in ("recipients", "skipped", "time") else "left",
            no_wrap=col != "length",
            overflow="fold",
        )
    by_channel = _by_channel(checked)
    times = {f["channel"]: duration_words(f["seconds"]) for f in fan_outs(checked)}
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
            times.get(name, ""),
        )
    return table


def plan_summary(checked: CheckedUpdate) -> str:
    """The plan in one line (plain text): the incident, its status, how many deliveries."""
    draft = checked.draft
    count = sum(1 for r in checked.deliveries if not r.skip_reason)
    channels = len({r.channel.name for r in checked.deliveries})
    skipped = len(checked.deliveries) - count
    return (
        f"{draft.incident.id} [{draft.status}] ({_state(checked)}): {count} delivery(ies) on "
        f"{channels} channel(s)" + (f", {skipped} skipped" if skipped else "") + "; dry run, "
        "nothing sent"
    )


def results_table(outcomes: list[Outcome], *, limit: int = 200) -> Any:
    """One row per delivery (beyond `limit`, only those that did not go out)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(show_edge=False)
    for col in ("channel", "recipient", "status", "attempts", "provider id", "error"):
        # Too wide for the terminal: addresses, ids and errors fold (every character kept);
        # the columns people scan stay whole.
        table.add_column(col, overflow="fold", no_wrap=col in ("channel", "status", "attempts"))
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
    """How many deliveries ended how: "3 sent, 1 failed"."""
    counts = totals(o.status for o in outcomes)
    parts = [f"{n} {k}" for k, n in counts.items() if n]
    return ", ".join(parts) or "nothing to deliver"


def result_line(result: UpdateResult) -> str:
    """The line under a results table: the incident, the update's number, its summary."""
    incident = result.checked.draft.incident.id
    return f"{incident} update {result.update_number}: {summary_line(result.outcomes)}"


def preview_headline(checked: CheckedUpdate) -> str:
    """The line above the preview panels (markup): the incident, its status, which update."""
    from rich.markup import escape

    draft = checked.draft
    return (
        f"[bold]{escape(draft.incident.id)}[/] — {escape(draft.incident.title)} · "
        f"[cyan]{draft.status}[/] ({_state(checked)})"
    )


def preview_panels(checked: CheckedUpdate) -> list[Any]:
    """One panel per channel (the first recipient's message; variants noted)."""
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    panels = []
    for name, rows in _by_channel(checked).items():
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
        length = length_of(first)
        notes = [length.describe()]
        if first.truncated:
            notes.append("truncated")
        if first.message.html and length.detail.get("part") != "html":
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


# -- listings that keep ids whole ---------------------------------------------------------------

ID = "id"  # an incident id or a channel name: never cut, never wrapped; heads a record
SHORT = "short"  # a status, a count: never wrapped
WRAP = "wrap"  # words that may wrap (a long word folds)
_NARROWEST_WRAP = 10  # below this, a wrapped column reads as a column of letters


def listing(columns: list[tuple[str, str]], rows: list[list[str]], width: int) -> Any:
    """A table whose ids are never cut: ids and short values get the width they need and the
    other columns wrap in what is left. When that leaves them too little (a narrow terminal, a
    long id), one record per row instead: the ids on a line of their own, the rest under them.
    Cells are rich markup (escaped text, perhaps styled)."""
    from rich.table import Table
    from rich.text import Text

    texts = [[Text.from_markup(cell) for cell in row] for row in rows]
    longest = [max([0, *(row[i].cell_len for row in texts)]) for i in range(len(columns))]
    # Short values' headers whole if they fit, else wrapped between words ("rate / limit").
    widths = _widths(columns, longest, width, whole_headers=True) or _widths(
        columns, longest, width, whole_headers=False
    )
    if widths is None:
        return _records(columns, texts)
    table = Table(show_edge=False)
    for (header, kind), w in zip(columns, widths, strict=True):
        table.add_column(header, width=w, no_wrap=kind == ID, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def _widths(
    columns: list[tuple[str, str]], longest: list[int], width: int, *, whole_headers: bool
) -> list[int] | None:
    """Each column's width within `width`: ids and short values whole, the wrapping columns
    sharing the rest fairly, none under _NARROWEST_WRAP (or its content); None if impossible."""
    natural = [
        max(
            n,
            len(header)
            if kind == ID or whole_headers
            else max(len(word) for word in header.split()),
        )
        for n, (header, kind) in zip(longest, columns, strict=True)
    ]
    wraps = [i for i, (_, kind) in enumerate(columns) if kind == WRAP]
    for i in wraps:
        natural[i] = max(longest[i], max(len(word) for word in columns[i][0].split()))
    # As Table lays out with show_edge=False: a space each side of a cell, a rule between cells.
    room = width - (3 * len(columns) - 1)
    room -= sum(n for i, n in enumerate(natural) if i not in wraps)
    widths = list(natural)
    for i in wraps:
        widths[i] = min(natural[i], _NARROWEST_WRAP)
    spare = room - sum(widths[i] for i in wraps)
    if spare < 0:
        return None
    while spare > 0:  # what is left goes a character at a time to the narrowest still short
        wanting = [i for i in wraps if widths[i] < natural[i]]
        if not wanting:
            break
        widths[min(wanting, key=lambda i: widths[i])] += 1
        spare -= 1
    return widths


def _records(columns: list[tuple[str, str]], texts: list[list[Any]]) -> Any:
    """One record per row: its ids (bold) on their own line, each other value under them as
    "name value". A line too long for the terminal breaks between values, never inside an id."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.text import Text

    blocks: list[Any] = []
    for row in texts:
        head = Text("  ").join(
            Text.assemble(cell, style="bold") if n == 0 else cell
            for n, (cell, (_, kind)) in enumerate(zip(row, columns, strict=True))
            if kind == ID
        )
        rest = Text(" · ").join(
            Text.assemble((f"{header} ", "dim"), cell)
            for cell, (header, kind) in zip(row, columns, strict=True)
            if kind != ID and cell.plain
        )
        blocks.append(head)
        if rest.plain:
            blocks.append(Padding(rest, (0, 0, 0, 2), expand=False))
    return Group(*blocks)
