"""The support line with the team's journal on PostgreSQL: the saved voice URL, the call-back
requests and their texts live in the shared database, so another runner (here: the same CLI
with another working folder) resolves the incident and texts the callers."""

from __future__ import annotations

from typing import Any

from notify.journal import open_journal
from tests.voice.conftest import ORIGINAL_URL, VoiceWorkspace


def test_a_runner_on_another_machine_resolves_and_texts_the_callers(
    voice_workspace: VoiceWorkspace, postgres_dsn: str, tmp_path_factory: Any
) -> None:
    ws = voice_workspace
    opened = ws.run(
        "--journal", postgres_dsn, "send", "investigating", "--incident", "db-outage",
        "--title", "Database outage", "--message", "Logins fail.", "--yes",
    )  # fmt: skip
    assert opened.code == 0, opened.output
    ws.call("+14155550101", press="1")

    other = VoiceWorkspace(tmp_path_factory.mktemp("runner-2"), ws.sandbox)
    other.write()  # the same channels.yaml, in another folder
    ticked = other.run("--journal", postgres_dsn, "--json", "tick")
    assert ticked.code == 0, ticked.output
    assert [c["caller"] for c in ticked.json()["callbacks"]] == ["+14155550101"]
    resolved = other.run(
        "--journal", postgres_dsn, "send", "resolved", "--incident", "db-outage",
        "--message", "Logins work again.", "--yes",
    )  # fmt: skip
    assert resolved.code == 0, resolved.output

    assert ws.number()["voice_url"] == ORIGINAL_URL  # the URL saved by the first runner
    assert [to for to, body in ws.texts() if "Logins work again." in body].count(
        "+14155550101"
    ) == 1
    journal = open_journal(postgres_dsn)
    try:
        rows = [d for d in journal.deliveries() if d.recipient == "+14155550101"]
        assert [(d.channel, d.status) for d in rows] == [("customers-sms", "sent")]
        assert [c.caller for c in journal.callbacks("db-outage")] == ["+14155550101"]
    finally:
        journal.close()
