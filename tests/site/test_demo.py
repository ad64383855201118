"""`notify demo` publishes its incident on the status site and Statuspage too, and says where."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import invoke


def test_the_demo_publishes_the_site_and_statuspage(tmp_path: Path) -> None:
    result = invoke(["demo", "--keep", str(tmp_path), "--json"])
    assert result.code == 0, result.output
    document = result.json()
    assert document["site"]["status_page"].endswith("/site/")
    assert document["site"]["banner_sample"].endswith("/example/")
    (incident,) = document["received"]["statuspage"]
    assert incident["text"] == (
        "Checkout errors: investigating → identified → resolved (one incident)"
    )
    for update in document["updates"]:
        sent = {d["channel"]: d["status"] for d in update["deliveries"]}
        assert sent["status-site"] == sent["status-page"] == "sent"
    site = tmp_path / "site"
    summary = json.loads((site / "api" / "v2" / "summary.json").read_text())
    assert summary["status"]["indicator"] == "none" and summary["incidents"] == []
    index = (site / "index.html").read_text()
    assert "Checkout errors" in index and "All Systems Operational" in index


def test_without_a_terminal_the_demo_says_the_site_was_served_while_it_ran(
    tmp_path: Path,
) -> None:
    result = invoke(["demo", "--keep", str(tmp_path)])
    assert result.code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "the demo's status site was served while it ran" in said
    assert f"its files are in {tmp_path / 'site'}" in said
    assert "the status page:" in said and "/site/" in said and "/example/" in said
