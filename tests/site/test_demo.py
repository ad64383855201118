"""`notify demo` publishes its incident on the status site and Statuspage too, and says where."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

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


def test_at_a_terminal_the_demo_waits_while_the_pages_are_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import notify.cli.demo as demo

    seen: list[str] = []
    real_wait = demo._wait

    def wait_and_look(out: object, pages: dict[str, str], moment: str, then: str) -> None:
        seen.append(
            httpx.get(pages["status_page"] + "api/v2/status.json").json()["status"]["indicator"]
        )
        seen.append(httpx.get(pages["banner_sample"]).text)
        real_wait(out, pages, moment, then)  # type: ignore[arg-type]

    monkeypatch.setattr(demo, "is_interactive", lambda: True)
    monkeypatch.setattr(demo, "_wait", wait_and_look)
    result = invoke(["demo", "--keep", str(tmp_path)], input="\n\n")
    assert result.code == 0, result.output
    indicator_open, page_open, indicator_end, _ = seen
    assert indicator_open == "major" and indicator_end == "none"  # live while it waited
    assert "/embed/banner.js" in page_open
    assert "press Enter to resolve it" in result.stderr
    assert "press Enter to stop the sandbox" in result.stderr
