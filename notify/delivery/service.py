"""The one way an update goes out: preflight, plan, dispatch. send, retry, demo and check use it.

The CLI keeps to options, the confirmation prompt and output: it passes a `proceed` callback
(shown what preflight checked, it may decline) and a progress bar as callbacks. Ctrl-C or
SIGTERM while delivering stops the run the same way everywhere (`Interrupted`, exit 130).
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from notify.delivery.dispatch import Dispatcher
from notify.delivery.inputs import UpdateRequest
from notify.delivery.jobs import rescues
from notify.delivery.plan import Plan, RecordedPlan, record_plan
from notify.delivery.preflight import CheckedUpdate, preflight
from notify.errors import Interrupted, JournalError
from notify.journal import run_owner
from notify.journal.base import RETRYABLE_STATUSES
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from datetime import datetime

    from notify.config.model import Config
    from notify.delivery.jobs import Outcome
    from notify.journal.base import Journal, Update
    from notify.render.templates import TemplateSet


class Progress(Protocol):
    """What a run reports while it delivers (the CLI draws a progress bar from it)."""

    def planned(self, count: int) -> None:
        """`count` deliveries are about to be sent (not counting those settled earlier)."""

    def done(self, outcome: Outcome) -> None:
        """One delivery is settled: sent, failed, skipped, or left pending or unknown."""


ProgressFactory = Callable[[], AbstractContextManager[Progress]]
"""Entered once the user said yes, left when the run is over (a bar shows only meanwhile)."""


# No generated repr: asyncio.run reprs its finished main task, result included (CPython 3.11's
# Runner passes its SIGINT handler, which holds the task, through signal's enum lookup), and a
# full repr of 100,000 deliveries took 10 s and 800 MB.
@dataclass(repr=False)
class UpdateResult:
    """What happened to one update's deliveries."""

    checked: CheckedUpdate
    update_number: int
    outcomes: list[Outcome]
    # The journal failed mid-run: `outcomes` is what is known (what went out may be missing
    # from the journal); the run stopped there.
    journal_failure: JournalError | None = None
    notes: list[str] = field(default_factory=list)  # call-backs collected, or why they were not

    @property
    def undelivered(self) -> list[Outcome]:
        """Primary deliveries that failed without a fallback rescuing them."""
        return [
            o
            for o in self.outcomes
            if o.status in (DeliveryStatus.FAILED, DeliveryStatus.UNKNOWN)
            and o.fallback_for is None
            and o.rescued_by is None
        ]


def send_update(
    request: UpdateRequest,
    config: Config,
    templates: TemplateSet,
    journal: Journal | None,
    *,
    open_journal: Callable[[], Journal] | None = None,
    proceed: Callable[[CheckedUpdate], bool] | None = None,
    progress: ProgressFactory | None = None,
    owner: str | None = None,
    now: datetime | None = None,
) -> UpdateResult | None:
    """Check `request` against every selected channel, then record and deliver it.

    `journal` is only read by preflight (None: none exists yet); the update is recorded in it,
    or, when there was none, in `open_journal()`, created only once everything checked out.
    `proceed` is shown the checked update first and may decline. Returns None when nothing was
    sent: a dry run (which never sends), or `proceed` declined.
    """
    notes = _collect_callbacks(request, config, journal)
    checked = preflight(request, config, templates, journal, now=now)
    go_on = proceed(checked) if proceed is not None else True
    if request.dry_run or not go_on:
        return None
    if journal is None:
        if open_journal is None:
            raise ValueError("send_update needs a journal to record the update in")
        journal = open_journal()
    result = deliver(checked, config, journal, progress=progress, owner=owner)
    result.notes += notes
    return result


def _collect_callbacks(
    request: UpdateRequest, config: Config, journal: Journal | None
) -> list[str]:
    """Before an update of an incident on a support line: who pressed 1 since the last look,
    so the `resolved` update texts a caller who asked a moment ago. Not for a dry run, which
    reads only what is already known."""
    if request.dry_run or journal is None or not request.incident:
        return []
    if not config.enabled_of_type("voice"):
        return []
    from notify.delivery.callbacks import collect_callbacks, describe

    return describe(collect_callbacks(config, journal, [request.incident]))


def retry_update(
    update: Update,
    config: Config,
    templates: TemplateSet,
    journal: Journal,
    *,
    progress: ProgressFactory | None = None,
    owner: str | None = None,
) -> UpdateResult:
    """Finish what earlier runs left of `update`: rendered again from what it recorded, and sent
    where it has not gone out yet."""
    request = UpdateRequest(template=update.template, incident=update.incident_id, key=update.key)
    result = send_update(request, config, templates, journal, progress=progress, owner=owner)
    assert result is not None  # not a dry run, nothing to decline
    return result


def unfinished_updates(
    journal: Journal, *, incident: str | None = None, key: str | None = None
) -> list[tuple[Update, int]]:
    """The updates `retry` would finish, oldest first, each with how many of its deliveries are
    not sent or skipped yet (pending, failed, or unknown)."""
    left: Counter[int] = Counter()
    incidents: set[str] = set()
    failed: set[int] = set()  # updates with a failure: its fallback may have rescued it
    for row in journal.deliveries(incident_id=incident, statuses=RETRYABLE_STATUSES):
        left[row.update_id] += 1
        incidents.add(row.incident_id)
        if row.status == DeliveryStatus.FAILED:
            failed.add(row.update_id)
    for update_id in failed:  # a rescued failure is done (CONTRACT.md): nothing left of it
        left[update_id] -= len(rescues(journal.deliveries(update_id=update_id)))
        if left[update_id] <= 0:
            del left[update_id]
    updates = sorted(
        (
            u
            for incident_id in incidents  # one query per incident
            for u in journal.updates(incident_id)
            if u.id in left and (key is None or u.key == key)
        ),
        key=lambda u: u.id,  # oldest first, as they were sent
    )
    return [(u, left[u.id]) for u in updates]


def deliver(
    checked: CheckedUpdate,
    config: Config,
    journal: Journal,
    *,
    progress: ProgressFactory | None = None,
    owner: str | None = None,
) -> UpdateResult:
    """Record the update and its deliveries, then send everything not already sent."""
    if owner is None:
        owner = run_owner()
    shown = progress() if progress is not None else nullcontext(None)
    recorded: list[Update] = []
    try:
        with shown as bar, _sigterm_as_interrupt():
            plan = record_plan(checked, journal)
            recorded.append(plan.update)
            return asyncio.run(_dispatch(checked, config, journal, plan, owner, bar))
    except KeyboardInterrupt:
        in_flight = _in_flight(journal, recorded[0], owner) if recorded else 0
        raise Interrupted(
            f"interrupted during update {checked.key!r}: {_in_flight_words(in_flight)}",
            hint="The journal says what went out (`notify log`); `notify retry` finishes the rest.",
        ) from None


def _in_flight(journal: Journal, update: Update, owner: str) -> int | None:
    """How many of `update`'s requests this run had sent without hearing back: the rows it
    claimed that stay `unknown`. None when the journal cannot say."""
    try:
        rows = journal.deliveries(update_id=update.id, statuses=(DeliveryStatus.UNKNOWN,))
    except Exception:  # the interrupt is the news; the count is only a detail
        return None
    return sum(1 for row in rows if row.owner == owner)


def _in_flight_words(count: int | None) -> str:
    """Exactly what is known about requests that may have arrived without an answer."""
    if count is None:
        return "some deliveries may have been in flight; a retry may repeat those"
    if count == 0:
        return "no delivery was in flight, so a retry repeats nothing"
    if count == 1:
        return "1 delivery was in flight; a retry may repeat it"
    return f"{count} deliveries were in flight; a retry may repeat those"


async def _dispatch(
    checked: CheckedUpdate,
    config: Config,
    journal: Journal,
    recorded: RecordedPlan,
    owner: str,
    progress: Progress | None,
) -> UpdateResult:
    from notify.delivery.transport import FastTransport, shared_client

    fastest = _fastest_fan_out(checked, more_than=FastTransport.LOAD_AFTER)
    async with shared_client(fastest_fan_out=fastest) as http:
        update = recorded.update
        plan = Plan(checked, config, journal, update, http)
        on_done = progress.done if progress is not None else None
        settled_later: list[Outcome] = []

        def settle_later(outcome: Outcome) -> None:  # a row of a later part, sent by nobody
            settled_later.append(outcome)
            if on_done is not None:
                on_done(outcome)

        jobs, settled, more = plan.jobs_in_parts(recorded, settle_later)
        recorded.rows.clear()  # the jobs hold what is needed; 100,000 rows need not stay alive
        if progress is not None:
            to_send = len(jobs) + (1 if more else 0)
            to_send += sum(1 for r in recorded.rest if not r.skip_reason)
            progress.planned(to_send)
            for outcome in settled:
                progress.done(outcome)
        dispatcher = Dispatcher(journal, owner=owner, fallback=plan.fallback, on_done=on_done)
        # The config, the rendered plan and the jobs live until the run ends: frozen, the
        # garbage collector's full passes skip them. Unfrozen, a 10,000-SMS fan-out stalled
        # 35-45 ms every few seconds on those passes, and each stall cost the pacing its slot.
        gc.freeze()
        try:
            outcomes = await dispatcher.run(jobs, more)
        finally:
            gc.unfreeze()
            for channel in plan.channels():
                await channel.adapter.close()
        return UpdateResult(
            checked,
            update.number,
            settled + settled_later + outcomes,
            journal_failure=dispatcher.journal_failure,
        )


def _fastest_fan_out(checked: CheckedUpdate, *, more_than: int) -> float:
    """The highest rate_limit (requests a second) among the channels with more than
    `more_than` deliveries planned; 0 when none has that many, or none of those is paced.
    (Rows a re-run finds settled count too: an upper bound is enough here.)"""
    return max(
        (
            config.rate_limit.per_second
            for config, count in checked.channel_counts().values()
            if config.rate_limit is not None and count > more_than
        ),
        default=0.0,
    )


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a CI job cancelled) stops like Ctrl-C: in-flight stays unknown, the rest pending."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
