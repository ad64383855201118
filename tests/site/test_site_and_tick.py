"""The status site shows an incident's own updates, never the team's nudges `notify tick` sends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.site.conftest import SiteWorkspace


def test_tick_reminders_do_not_appear_on_the_public_site(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    text = ws.config.read_text(encoding="utf-8")
    ws.config.write_text(text + "schedule:\n  reminders_to: ops-slack\n  remind_before: 5m\n")
    opened = ws.send(
        "investigating",
        "--incident",
        "db-1",
        "--title",
        "Database errors",
        "--message",
        "Checkout fails for some customers.",
        "--next-update",
        "30m",
        "--to",
        "status-site",
        "--to",
        "ops-slack",
    )
    assert opened.code == 0, opened.stderr
    due = (datetime.now(UTC) + timedelta(minutes=27)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ticked = ws.run("tick", "--now", due, "--json")
    assert ticked.code == 0, ticked.stderr
    assert [a["kind"] for a in ticked.json()["actions"]] == ["reminder"]
    later = ws.send("identified", "--incident", "db-1", "--message", "A failed failover.")
    assert later.code == 0, later.stderr

    incidents = ws.json("api/v2/incidents.json")["incidents"]
    updates = [u["body"] for u in incidents[0]["incident_updates"]]
    assert len(updates) == 2, updates
    assert any("failed failover" in body for body in updates)
    page = Path(ws.site / "incidents" / "db-1.html").read_text(encoding="utf-8")
    assert "failed failover" in page and "reminder" not in page.lower()
