"""What the contract tests share: a sample incident, posting an update, and child processes."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from notify.journal import Delivery, Incident, Journal, PlannedDelivery, Update, run_owner

MakeJournal = Callable[[], Journal]

SPAWN = multiprocessing.get_context("spawn")
NO_SUCH_PID = 2**22 + 1  # above Linux's largest possible pid_max
INCIDENT_ID = "2026-11-22-payments-api"


class UsesJournal:
    """The `journal` fixture (one handle from `make_journal`) and `open_handle` for more."""

    @pytest.fixture
    def journal(self, make_journal: MakeJournal) -> Iterator[Journal]:
        handle = make_journal()
        yield handle
        handle.close()

    @pytest.fixture
    def open_handle(self, make_journal: MakeJournal) -> Iterator[MakeJournal]:
        """Another handle on the same journal, as another process would hold; closed at the end."""
        opened: list[Journal] = []

        def open_one() -> Journal:
            opened.append(make_journal())
            return opened[-1]

        yield open_one
        for handle in opened:
            handle.close()


def payments(**changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": INCIDENT_ID,
        "title": "Payments API errors",
        "status": "investigating",
        "impact": "major",
        "components": ["api"],
    }
    fields.update(changes)
    return Incident(**fields)


def slack_and_email(*extra: str) -> list[PlannedDelivery]:
    rows = [
        PlannedDelivery("ops-slack", "slack", "C0123456789"),
        PlannedDelivery("status-email", "email", "oncall@acme.example"),
    ]
    rows += [PlannedDelivery("status-email", "email", address) for address in extra]
    return rows


def post(
    journal: Journal, key: str, status: str = "investigating", **kw: Any
) -> tuple[Update, list[Delivery]]:
    """add_update for the payments incident (or kw["incident"]), as `notify send --key` does."""
    incident = kw.pop("incident", None) or payments(status=status)
    return journal.add_update(
        incident,
        key=key,
        template=status,
        status=status,
        message=kw.pop("message", "Card payments fail for some customers."),
        next_update_at=kw.pop("next_update_at", None),
        context=kw.pop("context", {"vars": {}}),
        deliveries=kw.pop("deliveries", None) or slack_and_email(),
    )


def delivery(journal: Journal, delivery_id: int) -> Delivery:
    found = journal.get_delivery(delivery_id)
    assert found is not None
    return found


def incident(journal: Journal, incident_id: str = INCIDENT_ID) -> Incident:
    found = journal.get_incident(incident_id)
    assert found is not None
    return found


def run_processes(target: Any, *args: Any, count: int = 2) -> None:
    """Run `target(barrier, index, *args)` in `count` spawned processes; all must exit 0."""
    barrier = SPAWN.Barrier(count)
    procs = [SPAWN.Process(target=target, args=(barrier, i, *args)) for i in range(count)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        if p.is_alive():
            p.kill()
    assert [p.exitcode for p in procs] == [0] * count


# Run in child processes (spawned: they import this module afresh).


def send_everything(barrier: Any, index: int, make_journal: MakeJournal, sent_log: str) -> None:
    """A run of `notify send --key payments-1` to 22 recipients, logging each row it sends."""
    barrier.wait()
    journal = make_journal()
    addresses = [f"user{n}@acme.example" for n in range(20)]
    _, rows = post(journal, "payments-1", deliveries=slack_and_email(*addresses))
    for row in rows:
        if journal.claim(row.id, run_owner()):
            with open(sent_log, "a") as log:  # O_APPEND: one line per write, whole
                log.write(f"{row.id}\n")
            journal.finish(row.id, status="sent", attempts=1, provider_message_id=f"m{row.id}")
    journal.close()


def claim_and_die(make_journal: MakeJournal, delivery_id: int, owners: Any) -> None:
    """A run that claims a delivery and exits as if killed mid-request (no finish)."""
    journal = make_journal()
    assert journal.claim(delivery_id, run_owner())
    owners.put(run_owner())
