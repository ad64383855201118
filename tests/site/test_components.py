"""`components:` in channels.yaml, `--component NAME` / `NAME=STATUS`, and the status history the
journal keeps of each component."""

from __future__ import annotations

from pathlib import Path

import pytest

from notify.config import load_config_text
from notify.errors import ConfigError
from notify.journal import open_journal
from notify.model import component_status_for
from tests.site.conftest import SiteWorkspace

CHANNELS = "channels:\n  hook:\n    type: webhook\n    url: https://hooks.example.com/x\n"


def load(text: str, tmp_path: Path) -> object:
    return load_config_text(text + CHANNELS, name="channels.yaml", base_dir=tmp_path, env={})


def test_components_are_read_in_order_with_groups_and_descriptions(tmp_path: Path) -> None:
    config = load(
        "components:\n"
        "  - name: Payments API\n    group: Platform\n    description: Card payments\n"
        "  - Website\n",
        tmp_path,
    )
    names = [(c.name, c.group, c.description) for c in config.components]  # type: ignore[attr-defined]
    assert names == [("Payments API", "Platform", "Card payments"), ("Website", None, "")]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("components:\n  - name: Website\n    grup: Web\n", 3, "unknown key 'grup'"),
        ("components:\n  - name: Website\n    grup: Web\n", 3, "did you mean 'group'?"),
        ("components:\n  - name: A\n  - name: A\n", 3, "component 'A' is declared twice"),
        ("components:\n  - group: Web\n", 2, "a component needs a name"),
        ("components:\n  - name: [a, b]\n", 2, "'name' must be text"),
        ("components: Website\n", 1, "expected a list"),
        ("component:\n  - name: A\n", 1, "did you mean 'components'?"),
    ],
)
def test_bad_components_are_errors_with_their_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(text, tmp_path)
    assert f"channels.yaml:{line}" in str(caught.value)
    assert words in str(caught.value)


def test_the_contract_maps_updates_to_component_statuses() -> None:
    assert component_status_for("investigating", None) == "degraded_performance"
    assert component_status_for("identified", "none") == "degraded_performance"
    assert component_status_for("identified", "minor") == "degraded_performance"
    assert component_status_for("monitoring", "major") == "partial_outage"
    assert component_status_for("investigating", "critical") == "major_outage"
    assert component_status_for("in_progress", "major") == "under_maintenance"
    assert component_status_for("resolved", "critical") == "operational"
    assert component_status_for("completed", None) == "operational"
    assert component_status_for("scheduled", "major") is None  # announced: unchanged


def test_an_unknown_component_is_refused_naming_the_nearest(
    site_workspace: SiteWorkspace,
) -> None:
    result = site_workspace.send("investigating", "--title", "X", "--component", "Chekout")
    assert result.code == 2
    assert "--component 'Chekout' is not a component" in result.stderr
    assert "Did you mean 'Checkout'?" in result.stderr
    assert site_workspace.sandbox.requests() == []


def test_an_unknown_component_status_is_refused(site_workspace: SiteWorkspace) -> None:
    result = site_workspace.send(
        "investigating", "--title", "X", "--component", "Checkout=partial_outtage"
    )
    assert result.code == 2
    assert "Did you mean 'partial_outage'?" in result.stderr


def test_without_components_declared_any_name_goes(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    ws.write(components=[])
    result = ws.send("investigating", "--title", "X", "--component", "Anything", "--to",
                     "status-site")  # fmt: skip
    assert result.code == 0, result.output
    names = [c["name"] for c in ws.json("api/v2/components.json")["components"]]
    assert names == ["Anything"]


def test_the_journal_keeps_each_components_status_history(site_workspace: SiteWorkspace) -> None:
    ws = site_workspace
    steps = [
        ("investigating", "--impact", "minor", "--component", "Checkout"),
        ("identified", "--impact", "critical"),  # a new impact moves the incident's components
        ("update", "--component", "Checkout=partial_outage"),  # explicit
        ("monitoring",),  # names none, changes nothing: keeps the explicit status
        ("resolved",),
    ]
    for template, *rest in steps:
        result = ws.send(template, "--incident", "i-1", "--title", "T", *rest, "--to",
                         "status-site")  # fmt: skip
        assert result.code == 0, result.output
    journal = open_journal(ws.journal)
    try:
        history = [u.context.get("component_statuses") for u in journal.updates("i-1")]
    finally:
        journal.close()
    assert history == [
        {"Checkout": "degraded_performance"},
        {"Checkout": "major_outage"},
        {"Checkout": "partial_outage"},
        None,
        {"Checkout": "operational"},
    ]
    statuses = {c["name"]: c["status"] for c in ws.json("api/v2/components.json")["components"]}
    assert statuses["Checkout"] == "operational"


def test_a_rerun_with_the_same_key_records_the_same_statuses(
    site_workspace: SiteWorkspace,
) -> None:
    ws = site_workspace
    args = ["investigating", "--incident", "i-1", "--title", "T", "--impact", "major",
            "--component", "Checkout", "--key", "k1", "--to", "status-site"]  # fmt: skip
    assert ws.send(*args).code == 0
    again = ws.send(*args, "--json")
    assert again.code == 0 and [d["status"] for d in again.json()["deliveries"]] == ["skipped"]
    journal = open_journal(ws.journal)
    try:
        (update,) = journal.updates("i-1")
    finally:
        journal.close()
    assert update.context["component_statuses"] == {"Checkout": "partial_outage"}
    summary = ws.json("api/v2/summary.json")
    statuses = {c["name"]: c["status"] for c in summary["components"]}
    assert statuses["Checkout"] == "partial_outage" and statuses["Website"] == "operational"
