"""The README's promises, checked: its first commands, and its webhook verification snippet."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

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
    """The README's receiver, on the standardwebhooks package, accepts what notify sent; the
    webhook-id is the same on every attempt of one delivery, retried in the run and by retry."""
    pytest.importorskip("standardwebhooks", reason="the test extra installs standardwebhooks")
    from notify.sandbox import Credentials

    snippet = next(b for b in code_blocks("python") if "def verify(" in b)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)  # the code a receiver copies
    verify = namespace["verify"]

    send = ("send", "investigating", "--title", "Checkout errors", "--message", "m")
    workspace.sandbox.fail("webhook", 503, times=4)  # the first attempt and its 3 retries
    failed = workspace.run(*send, "--to", "status-webhook", "--yes")
    assert failed.code == 1, failed.output
    retried = workspace.run("retry", "--yes")
    assert retried.code == 0, retried.output

    requests = workspace.sandbox.requests("webhook")
    assert len(requests) == 5
    assert len({r.headers["webhook-id"] for r in requests}) == 1  # one delivery, one id
    request = requests[-1]
    secret = Credentials().webhook_secret
    assert secret.startswith("whsec_")
    update = verify(secret, dict(request.headers), request.body)
    assert update is not None and update["incident"]["name"] == "Checkout errors"
    assert (
        verify("whsec_" + "d3Jvbmcta2V5LXdyb25nLWtleQ==", dict(request.headers), request.body)
        is None
    )
    assert verify(secret, dict(request.headers), request.body + b" ") is None
    stale = {
        **request.headers,
        "webhook-timestamp": str(int(request.headers["webhook-timestamp"]) - 3600),
    }
    assert verify(secret, stale, request.body) is None


def test_journal_is_readable_by_its_owner_only(workspace: Workspace) -> None:
    import stat

    workspace.run(
        "send", "investigating", "--title", "T", "--message", "m", "--to", "ops-slack", "--yes"
    )
    for path in Path(workspace.journal).parent.glob("journal.db*"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
