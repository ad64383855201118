"""The README's promises, checked: its first commands, and its webhook verification snippet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, Workspace

README = (ROOT / "README.md").read_text(encoding="utf-8")


def code_blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_readme_starts_with_install_and_run_then_the_tests() -> None:
    first, second = code_blocks("sh")[:2]
    assert first.strip() == "python -m pip install . && notify demo"
    assert "pytest" in second
    assert "python -m pytest" in (ROOT / ".ci" / "run").read_text()


def test_readme_webhook_verification_accepts_a_real_delivery(workspace: Workspace) -> None:
    snippet = next(b for b in code_blocks("python") if "def verify(" in b)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the code a receiver copies
    verify = namespace["verify"]

    result = workspace.run(
        "send",
        "investigating",
        "--title",
        "Checkout errors",
        "--message",
        "m",
        "--to",
        "status-webhook",
        "--yes",
    )
    assert result.code == 0, result.output
    request = workspace.sandbox.requests("webhook")[0]
    secret = "sandbox-webhook-signing-secret"
    headers = request.headers
    assert verify(
        secret, headers["x-notify-timestamp"], request.body, headers["x-notify-signature"]
    )
    assert not verify(
        "wrong", headers["x-notify-timestamp"], request.body, headers["x-notify-signature"]
    )
    assert not verify(
        secret, headers["x-notify-timestamp"], request.body + b" ", headers["x-notify-signature"]
    )


def test_journal_is_readable_by_its_owner_only(workspace: Workspace) -> None:
    import stat

    workspace.run(
        "send", "investigating", "--title", "T", "--message", "m", "--to", "ops-slack", "--yes"
    )
    for path in Path(workspace.journal).parent.glob("journal.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
