"""`notify sandbox`: its options, its banner, live lines per request, and a clean Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from notify.errors import InputError
from notify.sandbox.cli import parse_failure, parse_rate
from tests.conftest import ROOT


def test_rate_and_failure_options_parse() -> None:
    assert parse_rate("twilio=10/s") == ("twilio", 10.0, 1.0)
    assert parse_rate("slack=1/min") == ("slack", 1.0, 60.0)
    assert parse_rate("x=300/15min") == ("x", 300.0, 900.0)
    assert parse_failure("slack=503x2") == ("slack", 503, 2)
    assert parse_failure("smtp=451") == ("smtp", 451, 1)
    with pytest.raises(InputError, match="--rate-limit") as caught:
        parse_rate("twilio=fast")
    assert "twilio=10/s" in str(caught.value)
    with pytest.raises(InputError, match="STATUS"):
        parse_failure("slack=oops")


def test_notify_sandbox_serves_shows_requests_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200", "HOME": str(tmp_path)}
    code = "from notify.sandbox.cli import sandbox_command; sandbox_command()"
    args = ["--port", "0", "--smtp-port", "0", "--fail", "slack=503"]
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not lines or "Ctrl-C" not in lines[-1]:
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            lines.append(line)
        banner = "".join(lines)
        url = banner.split("listening on ", 1)[1].split()[0]
        assert f"twilio    {url}/twilio" in banner
        assert "account_sid: AC00000000000000000000000000000001" in banner
        response = httpx.post(
            f"{url}/slack/api/chat.postMessage", json={"channel": "C0123456789", "text": "hi"}
        )
        assert response.status_code == 503
        line = ""
        while not line.strip():
            line = proc.stdout.readline()
        assert "slack" in line and "/slack/api/chat.postMessage" in line and "503" in line
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0
    assert "Traceback" not in err
    assert "stopped" in out


def test_notify_sandbox_refuses_an_unknown_provider() -> None:
    from click.testing import CliRunner

    from notify.sandbox.cli import sandbox_command

    result = CliRunner().invoke(sandbox_command, ["--fail", "pagerduty=500"])
    assert isinstance(result.exception, InputError)
    assert "pagerduty" in str(result.exception)
    assert "slack" in str(result.exception)  # the hint lists the valid ones
