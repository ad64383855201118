"""JournalSessionStore: a channel's provider session (Bluesky tokens) kept in the journal's kv."""

from __future__ import annotations

from typing import Any

from notify.journal.base import Journal


class JournalSessionStore:
    """notify.model.SessionStore over the journal's kv table, one namespace per channel."""

    def __init__(self, journal: Journal, namespace: str) -> None:
        self.journal = journal
        self.namespace = namespace

    def get(self, key: str) -> dict[str, Any] | None:
        return self.journal.kv_get(f"{self.namespace}:{key}")

    def set(self, key: str, value: dict[str, Any]) -> None:
        self.journal.kv_set(f"{self.namespace}:{key}", value)
