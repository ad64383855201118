"""The SQLite journal, used as notify uses it: real files, several processes, crashed runs."""

from __future__ import annotations

import multiprocessing
import os
import socket
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notify import secrets
from notify.errors import JournalError
from notify.journal import (
    Delivery,
    Incident,
    Journal,
    JournalSessionStore,
    PlannedDelivery,
    claim_abandoned,
    open_journal,
    owner_alive,
    run_owner,
)
from notify.journal.migrations import MIGRATIONS
from notify.model import ThreadRef

SPAWN = multiprocessing.get_context("spawn")
NO_SUCH_PID = 2**22 + 1  # above Linux's largest possible pid_max


def payments(**changes: Any) -> Incident:
    fields: dict[str, Any] = {
        "id": "2026-11-22-payments-api",
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


def post(journal: Journal, key: str, status: str = "investigating", **kw: Any) -> Any:
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


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = open_journal(tmp_path / ".notify" / "journal.db")
    yield j
    j.close()


@pytest.fixture(autouse=True)
def forget_secrets() -> Iterator[None]:
    yield
    secrets.clear()


def delivery(journal: Journal, delivery_id: int) -> Delivery:
    found = journal.get_delivery(delivery_id)
    assert found is not None
    return found


def incident(journal: Journal, incident_id: str = "2026-11-22-payments-api") -> Incident:
    found = journal.get_incident(incident_id)
    assert found is not None
    return found


def recorded_migrations(path: Path) -> list[tuple[int, str, str]]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT number, name, applied_at FROM migrations ORDER BY number")
        return list(rows)


def run_processes(target: Any, *args: Any, count: int = 2) -> None:
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


def _open_at_once(barrier: Any, index: int, path: str) -> None:
    barrier.wait()
    journal = open_journal(Path(path))
    journal.kv_set(f"opened-by:{index}", {"index": index})
    journal.close()


def _send_everything(barrier: Any, index: int, path: str, sent_log: str) -> None:
    barrier.wait()
    journal = open_journal(Path(path))
    addresses = [f"user{n}@acme.example" for n in range(20)]
    _, rows = post(journal, "payments-1", deliveries=slack_and_email(*addresses))
    for row in rows:
        if journal.claim(row.id, run_owner()):
            with open(sent_log, "a") as log:  # O_APPEND: one line per write, whole
                log.write(f"{row.id}\n")
            journal.finish(row.id, status="sent", attempts=1, provider_message_id=f"m{row.id}")
    journal.close()


def _claim_and_die(path: str, delivery_id: int, owners: Any) -> None:
    journal = open_journal(Path(path))
    assert journal.claim(delivery_id, run_owner())
    owners.put(run_owner())
    # exits here as if killed mid-request: no finish(), the row stays `unknown`


# Schema


def test_a_new_journal_records_each_migration_once(tmp_path: Path) -> None:
    path = tmp_path / "state" / "nested" / "journal.db"
    open_journal(path).close()

    first = recorded_migrations(path)
    assert [(n, name) for n, name, _ in first] == [(n, name) for n, name, _ in MIGRATIONS]
    assert all(at.endswith("Z") and "T" in at for _, _, at in first)

    open_journal(path).close()
    assert recorded_migrations(path) == first
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_two_processes_opening_a_new_journal_at_once_both_work(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    run_processes(_open_at_once, str(path))

    assert [n for n, _, _ in recorded_migrations(path)] == [n for n, _, _ in MIGRATIONS]
    journal = open_journal(path)
    assert journal.kv_get("opened-by:0") == {"index": 0}
    assert journal.kv_get("opened-by:1") == {"index": 1}
    journal.close()


def test_a_journal_from_a_newer_notify_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    open_journal(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO migrations VALUES (999, 'future', '2030-01-01T00:00:00Z')")

    with pytest.raises(JournalError) as err:
        open_journal(path)
    assert str(path) in str(err.value)
    assert "upgrade notify" in str(err.value)


def test_a_file_that_is_not_a_journal_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    path.write_text("these are my notes, not a database\n" * 100)

    with pytest.raises(JournalError) as err:
        open_journal(path)
    assert str(path) in str(err.value)
    assert "--journal" in str(err.value)

    with pytest.raises(JournalError):
        open_journal(path / "journal.db")  # its folder would have to be a file


# Incidents and updates


def test_updates_are_numbered_per_incident(journal: Journal) -> None:
    first, rows = post(journal, "k1")
    second, _ = post(journal, "k2", "identified")
    other, _ = post(journal, "k3", incident=payments(id="2026-11-23-login", title="Login slow"))

    assert (first.number, second.number, other.number) == (1, 2, 1)
    assert [u.key for u in journal.updates(payments().id)] == ["k1", "k2"]
    assert [(d.channel, d.status, d.attempts) for d in rows] == [
        ("ops-slack", "pending", 0),
        ("status-email", "pending", 0),
    ]
    assert journal.find_update("k2") == second
    assert journal.find_update("nope") is None
    assert first.created_at.endswith("Z")


def test_the_same_key_returns_the_same_update_and_adds_only_missing_rows(journal: Journal) -> None:
    first, rows = post(journal, "payments-1", message="Card payments fail.")
    again, rows_again = post(
        journal,
        "payments-1",
        "resolved",
        message="Changed my mind",
        deliveries=slack_and_email("support@acme.example"),
    )

    assert again == first
    assert again.message == "Card payments fail."
    assert [d.id for d in rows_again[:2]] == [d.id for d in rows]
    assert rows_again[2].recipient == "support@acme.example"
    assert len(journal.updates(payments().id)) == 1
    assert incident(journal).status == "investigating"


def test_an_update_changes_the_incident_but_not_when_it_started(journal: Journal) -> None:
    post(journal, "k1")
    started = incident(journal).started_at
    post(journal, "k2", incident=payments(title="Payments API down", status="identified"))

    now = incident(journal)
    assert (now.title, now.status, now.started_at) == (
        "Payments API down",
        "identified",
        started,
    )
    assert now.components == ["api"]
    assert journal.get_incident("2026-01-01-nothing") is None


def test_resolved_incidents_are_listed_only_on_request(journal: Journal) -> None:
    journal.save_incident(payments(started_at="2026-11-22T10:00:00Z"))
    journal.save_incident(payments(id="login", title="Login", started_at="2026-11-22T12:00:00Z"))
    journal.save_incident(
        payments(status="resolved", resolved_at="2026-11-22T13:00:00Z", started_at="")
    )

    assert [i.id for i in journal.list_incidents()] == ["login"]
    assert [i.id for i in journal.list_incidents(include_resolved=True)] == [
        "login",
        payments().id,
    ]


# Claiming and finishing deliveries


def test_claim_then_finish(journal: Journal) -> None:
    _, (slack, email) = post(journal, "k1")
    me = run_owner()

    assert journal.claim(slack.id, me)
    in_flight = journal.get_delivery(slack.id)
    assert in_flight is not None
    assert (in_flight.status, in_flight.owner, in_flight.attempts) == ("unknown", me, 0)

    journal.finish(
        slack.id,
        status="sent",
        attempts=2,
        provider_message_id="1732270000.000100",
        thread_data={"channel": "C0123456789", "ts": "1732270000.000100"},
    )
    done = journal.get_delivery(slack.id)
    assert done is not None
    assert (done.status, done.owner, done.attempts) == ("sent", None, 2)
    assert done.thread_data == {"channel": "C0123456789", "ts": "1732270000.000100"}
    assert not journal.claim(slack.id, me), "a sent delivery is never claimed again"

    journal.finish(email.id, status="failed", attempts=4, error="550 mailbox unavailable")
    assert delivery(journal, email.id).error == "550 mailbox unavailable"
    assert journal.claim(email.id, me), "failed deliveries are retried"


def test_skipped_and_live_owned_deliveries_are_not_claimed(journal: Journal) -> None:
    planned = [
        PlannedDelivery("status-email", "email", "a@acme.example"),
        PlannedDelivery(
            "status-email", "email", "gone@acme.example", status="skipped", error="opt-out"
        ),
    ]
    _, (live, skipped) = post(journal, "k1", deliveries=planned)

    assert not journal.claim(skipped.id, run_owner())
    assert journal.claim(live.id, run_owner())
    assert journal.claim(live.id, run_owner()), "the owner may claim its own row again"
    assert not journal.claim(live.id, f"{socket.gethostname()}:1:other-run")
    assert delivery(journal, live.id).owner == run_owner()


def test_a_delivery_left_in_flight_by_a_dead_run_can_be_claimed(
    journal: Journal, tmp_path: Path
) -> None:
    _, (slack, email) = post(journal, "k1")
    dead = f"{socket.gethostname()}:{NO_SUCH_PID}:12345"
    assert journal.claim(slack.id, dead)

    assert journal.claim(slack.id, run_owner())
    assert delivery(journal, slack.id).owner == run_owner()

    # A real run that claimed a delivery and died before finishing it.
    owners = SPAWN.Queue()
    child = SPAWN.Process(
        target=_claim_and_die, args=(str(tmp_path / ".notify" / "journal.db"), email.id, owners)
    )
    child.start()
    child_owner = owners.get(timeout=120)
    child.join(120)
    assert child.exitcode == 0
    assert delivery(journal, email.id).status == "unknown"
    assert not owner_alive(child_owner)
    assert journal.claim(email.id, run_owner())


def test_which_owners_count_as_alive() -> None:
    host = socket.gethostname()
    assert owner_alive(run_owner())
    assert run_owner().startswith(f"{host}:{os.getpid()}:")
    assert not owner_alive(f"{host}:{NO_SUCH_PID}:1")
    assert not owner_alive(f"{host}:{os.getpid()}:1"), "a reused pid started at another time"
    assert owner_alive("ci-runner-7:4242:99"), "another host can't be checked"

    now = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    recent = (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    old = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert not claim_abandoned("ci-runner-7:4242:99", recent, now)
    assert claim_abandoned("ci-runner-7:4242:99", old, now)
    assert not claim_abandoned(run_owner(), old, now), "a live local run keeps its claim"


def test_threads_sharing_a_journal_claim_a_delivery_once(journal: Journal) -> None:
    _, (slack, _) = post(journal, "k1")
    won: list[str] = []

    def claim(n: int) -> None:
        owner = f"runner-{n}.example:{n}:1"  # other hosts: alive, so never taken over
        if journal.claim(slack.id, owner):
            won.append(owner)

    workers = [threading.Thread(target=claim, args=(n,)) for n in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert len(won) == 1


def test_two_runs_with_one_key_send_each_delivery_exactly_once(tmp_path: Path) -> None:
    path = tmp_path / "journal.db"
    sent_log = tmp_path / "sent.log"
    sent_log.touch()
    run_processes(_send_everything, str(path), str(sent_log))

    journal = open_journal(path)
    updates = journal.updates(payments().id)
    rows = journal.deliveries(update_id=updates[0].id)
    sent = sent_log.read_text().split()
    assert len(updates) == 1
    assert len(rows) == 22
    assert sorted(sent, key=int) == [str(d.id) for d in rows]
    assert {d.status for d in rows} == {"sent"}
    journal.close()


# Reading deliveries back


def test_deliveries_filter_and_order(journal: Journal) -> None:
    first, (a, b) = post(journal, "k1")
    _, (c, d) = post(journal, "k2", "identified")
    journal.finish(b.id, status="failed", attempts=1, error="timeout")
    journal.finish(c.id, status="sent", attempts=1)

    assert [x.id for x in journal.deliveries(update_id=first.id)] == [a.id, b.id]
    assert [x.id for x in journal.deliveries(statuses=["failed", "pending"])] == [a.id, b.id, d.id]
    assert [x.id for x in journal.deliveries(incident_id="other")] == []
    assert journal.deliveries(statuses=[]) == []
    newest = journal.deliveries(newest_first=True, limit=2)
    assert len(newest) == 2
    assert newest[0].updated_at >= newest[1].updated_at
    assert [x.id for x in journal.deliveries(incident_id=payments().id, limit=3)] == [
        a.id,
        b.id,
        c.id,
    ]


def test_thread_collects_earlier_sent_deliveries_oldest_first(journal: Journal) -> None:
    assert journal.thread(payments().id, "ops-slack", "C0123456789") == ThreadRef()

    timestamps = {"k1": "100.1", "k2": None, "k3": "300.3"}  # k2's Slack post failed
    for key, ts in timestamps.items():
        _, (slack, email) = post(journal, key)
        if ts is None:
            journal.finish(slack.id, status="failed", attempts=4, error="503")
        else:
            journal.finish(
                slack.id, status="sent", attempts=1, provider_message_id=ts, thread_data={"ts": ts}
            )
        journal.finish(email.id, status="sent", attempts=1, provider_message_id=f"<{key}@acme>")

    thread = journal.thread(payments().id, "ops-slack", "C0123456789")
    assert thread.root == {"ts": "100.1", "provider_message_id": "100.1"}
    assert thread.previous == {"ts": "300.3", "provider_message_id": "300.3"}
    assert [h["ts"] for h in thread.history] == ["100.1", "300.3"]

    email = journal.thread(payments().id, "status-email", "oncall@acme.example")
    assert [h["provider_message_id"] for h in email.history] == [
        "<k1@acme>",
        "<k2@acme>",
        "<k3@acme>",
    ]
    assert journal.thread("2026-11-23-login", "ops-slack", "C0123456789").root is None


# Sessions, suppressions, secrets


def test_kv_and_session_store_round_trip(journal: Journal) -> None:
    assert journal.kv_get("bluesky:session") is None
    journal.kv_set("bluesky:session", {"did": "did:plc:abc", "n": 1})
    journal.kv_set("bluesky:session", {"did": "did:plc:abc", "n": 2})
    assert journal.kv_get("bluesky:session") == {"did": "did:plc:abc", "n": 2}

    store = JournalSessionStore(journal, "status-bsky")
    store.set("session", {"handle": "status.acme.example"})
    assert store.get("session") == {"handle": "status.acme.example"}
    assert journal.kv_get("status-bsky:session") == {"handle": "status.acme.example"}
    assert JournalSessionStore(journal, "other-bsky").get("session") is None


def test_suppressions_round_trip(journal: Journal) -> None:
    journal.suppress("customers-sms", "+14155550100", "replied STOP")
    journal.suppress("*", "angry@example.com", "asked by email")

    assert journal.is_suppressed("customers-sms", "+14155550100")
    assert not journal.is_suppressed("status-email", "+14155550100")
    assert journal.is_suppressed("status-email", "angry@example.com")
    rows = journal.suppressed()
    assert [(c, r, why) for c, r, why, _ in rows] == [
        ("*", "angry@example.com", "asked by email"),
        ("customers-sms", "+14155550100", "replied STOP"),
    ]
    assert all(at.endswith("Z") for *_, at in rows)
    assert [r for _, r, _, _ in journal.suppressed("status-email")] == ["angry@example.com"]

    assert journal.unsuppress("customers-sms", "+14155550100")
    assert not journal.unsuppress("customers-sms", "+14155550100")
    assert not journal.is_suppressed("customers-sms", "+14155550100")


def test_secrets_in_error_text_never_reach_the_file(tmp_path: Path) -> None:
    token = "xoxb-1234-SECRET-abcdef"
    secrets.register(token)
    path = tmp_path / "journal.db"
    journal = open_journal(path)
    planned = [
        PlannedDelivery("ops-slack", "slack", "C1"),
        PlannedDelivery("ops-slack", "slack", "C2", status="skipped", error=f"bad {token}"),
    ]
    _, (slack, skipped) = post(journal, "k1", deliveries=planned)
    journal.finish(slack.id, status="failed", attempts=1, error=f"invalid_auth for token {token}")

    assert delivery(journal, slack.id).error == "invalid_auth for token ***"
    assert delivery(journal, skipped.id).error == "bad ***"
    files = [p for p in tmp_path.iterdir() if p.name.startswith("journal.db")]
    assert any(p.name.endswith("-wal") for p in files)
    for file in files:
        assert token.encode() not in file.read_bytes(), file.name
    journal.close()
    assert token.encode() not in path.read_bytes()
