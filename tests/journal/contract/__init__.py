"""The journal contract: the tests every journal backend must pass, whatever stores its rows.

A backend's test module subclasses `JournalContract` and gives it one fixture, `make_journal`:
a picklable callable that opens a new handle on one fresh, empty journal each time it is called
(spawned processes call it too, so a `functools.partial(open_journal, location)` is the usual one).
"""

from __future__ import annotations

from tests.journal.contract.callbacks import CallbacksContract
from tests.journal.contract.claims import ClaimsContract
from tests.journal.contract.records import RecordsContract
from tests.journal.contract.schedule import ScheduleContract
from tests.journal.contract.state import StateContract

__all__ = ["JournalContract"]


class JournalContract(
    RecordsContract, ClaimsContract, StateContract, ScheduleContract, CallbacksContract
):
    """Incidents, updates, deliveries and threads; claims and races; sessions and opt-outs;
    scheduled actions; call-back requests."""
