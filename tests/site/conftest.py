"""A workspace whose channels.yaml has components, a status site served by the sandbox, Atlassian
Statuspage (the sandbox's emulator) and a Slack channel, for the website's end-to-end tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from notify.sandbox.config import channel, config_text
from tests.conftest import CliResult, invoke

COMPONENTS = [
    {"name": "Website"},
    {"name": "Checkout", "description": "Cart and payment pages"},
    {"name": "Payments API", "group": "Platform"},
    {"name": "Mobile app", "group": "Platform"},
]


@dataclass
class SiteWorkspace:
    path: Path
    sandbox: Any

    @property
    def config(self) -> Path:
        return self.path / "channels.yaml"

    @property
    def site(self) -> Path:
        return self.path / "site"

    @property
    def journal(self) -> Path:
        return self.path / ".notify" / "journal.db"

    @property
    def url(self) -> str:
        return str(self.sandbox.base_url("site"))

    def write(self, **changes: Any) -> None:
        """channels.yaml with the usual channels; `changes` replace or add channels (None drops
        one) or top-level settings (`components`)."""
        channels: dict[str, Any] = {
            "status-site": channel("site", self.sandbox),
            "hosted-status": channel("statuspage", self.sandbox, rate_limit="50/s"),
            "ops-slack": channel("slack", self.sandbox),
        }
        top: dict[str, Any] = {"components": COMPONENTS, "journal": ".notify/journal.db"}
        for key, value in changes.items():
            target = top if key in ("components", "journal", "templates", "timezone") else channels
            if value is None:
                target.pop(key, None)
            else:
                target[key] = value
        self.config.write_text(config_text(channels, **top), encoding="utf-8")

    def run(self, *args: str) -> CliResult:
        return invoke(["--config", str(self.config), *args])

    def send(self, *args: str) -> CliResult:
        return self.run("send", *args, "--yes")

    def json(self, relative: str) -> Any:
        return json.loads((self.site / relative).read_text(encoding="utf-8"))


@pytest.fixture
def site_workspace(tmp_path: Path, sandbox: Any) -> SiteWorkspace:
    sandbox.reset()
    sandbox.serve_site(tmp_path / "site")
    workspace = SiteWorkspace(tmp_path, sandbox)
    workspace.write()
    return workspace
