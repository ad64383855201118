"""Claim owners: this run's name, and which runs count as alive or abandoned."""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta

from notify.journal import claim_abandoned, owner_alive, run_owner
from tests.journal.contract.helpers import NO_SUCH_PID


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


def test_unreadable_owners_and_times_never_risk_a_second_send() -> None:
    now = datetime(2026, 11, 22, 18, 0, tzinfo=UTC)
    assert owner_alive("not an owner"), "can't tell: treated as alive"
    assert not claim_abandoned("ci-runner-7:4242:99", "yesterday-ish", now)
    assert claim_abandoned("not an owner", "2026-11-22T15:00:00", now), "naive times are UTC"
    assert not claim_abandoned("not an owner", "2026-11-22T17:30:00+00:00", now)
