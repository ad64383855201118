"""Contract: provider sessions, the suppression list, secrets kept out, and handles that agree."""

from __future__ import annotations

import pytest

from notify import secrets
from notify.errors import JournalError
from notify.journal import Journal, JournalSessionStore, PlannedDelivery
from tests.journal.contract.helpers import (
    INCIDENT_ID,
    MakeJournal,
    UsesJournal,
    delivery,
    payments,
    post,
)


class StateContract(UsesJournal):
    def test_kv_and_session_store_round_trip(self, journal: Journal) -> None:
        assert journal.kv_get("bluesky:session") is None
        journal.kv_set("bluesky:session", {"did": "did:plc:abc", "n": 1})
        journal.kv_set("bluesky:session", {"did": "did:plc:abc", "n": 2})
        assert journal.kv_get("bluesky:session") == {"did": "did:plc:abc", "n": 2}

        store = JournalSessionStore(journal, "status-bsky")
        store.set("session", {"handle": "status.acme.example"})
        assert store.get("session") == {"handle": "status.acme.example"}
        assert journal.kv_get("status-bsky:session") == {"handle": "status.acme.example"}
        assert JournalSessionStore(journal, "other-bsky").get("session") is None

    def test_suppressions_round_trip(self, journal: Journal) -> None:
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

        journal.suppress("customers-sms", "+14155550100", "replied STOP again")
        assert [why for c, _, why, _ in journal.suppressed("customers-sms") if c != "*"] == [
            "replied STOP again"
        ], "suppressing twice keeps one row, with the latest reason"

        assert journal.unsuppress("customers-sms", "+14155550100")
        assert not journal.unsuppress("customers-sms", "+14155550100")
        assert not journal.is_suppressed("customers-sms", "+14155550100")

    def test_secrets_in_error_text_are_masked_before_they_are_stored(
        self, journal: Journal
    ) -> None:
        token = "xoxb-1234-SECRET-abcdef"
        secrets.register(token)
        planned = [
            PlannedDelivery("ops-slack", "slack", "C1"),
            PlannedDelivery("ops-slack", "slack", "C2", status="skipped", error=f"bad {token}"),
        ]
        _, (slack, skipped) = post(journal, "k1", deliveries=planned)
        journal.finish(slack.id, status="failed", attempts=1, error=f"invalid_auth for {token}")

        assert delivery(journal, slack.id).error == "invalid_auth for ***"
        assert delivery(journal, skipped.id).error == "bad ***"
        secrets.clear()
        assert delivery(journal, slack.id).error == "invalid_auth for ***", "stored masked"

    def test_what_one_handle_writes_another_reads(
        self, journal: Journal, open_handle: MakeJournal
    ) -> None:
        other = open_handle()  # opened before anything is written: sees later commits
        _, (slack, _) = post(journal, "k1")
        journal.kv_set("status-bsky:session", {"n": 1})
        journal.suppress("*", "angry@example.com")

        assert other.get_incident(INCIDENT_ID) == journal.get_incident(INCIDENT_ID)
        assert other.find_update("k1") == journal.find_update("k1")
        assert other.kv_get("status-bsky:session") == {"n": 1}
        assert other.is_suppressed("ops-slack", "angry@example.com")
        assert other.claim(slack.id, "runner-1.example:1:1")
        assert not journal.claim(slack.id, "runner-2.example:2:2")

    def test_a_closed_journal_refuses_to_work(self, make_journal: MakeJournal) -> None:
        journal = make_journal()
        journal.save_incident(payments())
        journal.close()
        journal.close()  # closing twice is harmless

        with pytest.raises(JournalError):
            journal.get_incident(INCIDENT_ID)
        with pytest.raises(JournalError):
            journal.kv_set("k", {})
        reopened = make_journal()
        assert reopened.get_incident(INCIDENT_ID) is not None, "what was written stays"
        reopened.close()
