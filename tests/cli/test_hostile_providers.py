"""Hostile providers through the real CLI: huge, compressed, trickling and escape-laden answers
are read up to a cap and within the channel's timeout, and never drive the terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli.hostile import MIB, hostile_endpoint, webhook_config

SEND = ["send", "investigating", "--title", "Search down", "--message", "Looking", "--yes"]


def _send_measured(folder: Path, *extra: str) -> tuple[int, str, str, float, int]:
    """`notify send` in its own process: exit code, stdout, stderr, seconds, peak RSS in MiB."""
    out, err = folder / "out.txt", folder / "err.txt"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "notify", "--config", "channels.yaml", *SEND, *extra],
            cwd=folder,
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
        deadline = started + 120
        while True:  # bounded: a run that hangs fails the test instead of the suite
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                proc.wait()
                pytest.fail("notify send did not finish within 120 s")
            time.sleep(0.05)
        seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_mib = usage.ru_maxrss // 1024  # kilobytes on Linux
    return proc.returncode, out.read_text(), err.read_text(), seconds, peak_mib


@pytest.mark.parametrize("mode", ["huge", "gzip"])
def test_a_huge_or_bomb_answer_is_read_up_to_a_cap(tmp_path: Path, mode: str) -> None:
    with hostile_endpoint(mode) as hostile:
        (tmp_path / "channels.yaml").write_text(webhook_config(hostile.url, timeout=3))
        code, stdout, stderr, seconds, peak_mib = _send_measured(tmp_path, "--json")
    assert code == 1, stderr
    (delivery,) = json.loads(stdout)["deliveries"]
    assert delivery["status"] == "failed"
    assert "400" in delivery["error"]
    assert len(delivery["error"]) <= 300
    assert seconds < 15, f"{seconds:.1f} s for one answer"
    assert peak_mib < 250, f"{peak_mib} MiB for one answer"
    if mode == "huge":  # the client stopped reading: far less than the 1 GiB on offer went out
        assert hostile.sent < 64 * MIB


def test_the_timeout_covers_reading_the_body(tmp_path: Path) -> None:
    with hostile_endpoint("trickle") as hostile:
        (tmp_path / "channels.yaml").write_text(webhook_config(hostile.url, timeout=2))
        code, stdout, stderr, seconds, _ = _send_measured(tmp_path, "--json")
    assert code == 1, stderr
    (delivery,) = json.loads(stdout)["deliveries"]
    assert "timed out after 2 s" in delivery["error"]
    assert seconds < 6, f"{seconds:.1f} s with timeout: 2"  # not 2 s a chunk, nor 2 + 5 s


# A window title, a screen clear, hidden text, a bell, a one-byte CSI and a bidi override.
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x1b[8mhidden\x1b[0m \x9b31m \u202egnp.exe"


def _no_control(text: str) -> None:
    for char in ("\x1b", "\x07", "\x9b", "\u202e"):
        assert char not in text, f"{char!r} reached the terminal: {text!r}"


def test_provider_text_never_drives_the_terminal(tmp_path: Path) -> None:
    from tests.conftest import invoke

    config = tmp_path / "channels.yaml"
    with hostile_endpoint("text", status=400, text=ESCAPES.encode()) as hostile:
        config.write_text(webhook_config(hostile.url))
        sent = invoke(["--config", str(config), *SEND])
    assert sent.code == 1, sent.output
    _no_control(sent.output)
    assert "pwned" in sent.output and "␛" in sent.output  # shown, not obeyed
    replayed = invoke(["--config", str(config), "log"])  # the stored error, replayed
    assert replayed.code == 0, replayed.output
    _no_control(replayed.output)
    assert "pwned" in replayed.output
    logged = invoke(["--config", str(config), "log", "--json"]).json()
    incident = logged["deliveries"][0]["incident_id"]
    for command in (["log", "--failed"], ["show", incident]):
        shown = invoke(["--config", str(config), *command])
        assert shown.code == 0, shown.output
        _no_control(shown.output)


def test_text_from_files_and_arguments_never_drives_the_terminal(tmp_path: Path) -> None:
    from tests.conftest import invoke

    config = tmp_path / "channels.yaml"
    config.write_text(webhook_config("http://127.0.0.1:9/hook"))
    message = tmp_path / "message.txt"
    message.write_text(f"Looking {ESCAPES}")
    preview = invoke(
        [
            "--config",
            str(config),
            "preview",
            "investigating",
            "--title",
            f"Down {ESCAPES}",
            "--message-file",
            str(message),
        ]
    )
    assert preview.code == 0, preview.output
    _no_control(preview.output)
    assert "pwned" in preview.output
    error = invoke(["--config", str(config), "send", f"nope{ESCAPES}", "--title", "t"])
    assert error.code == 2
    _no_control(error.output)


def test_control_characters_in_a_config_value_are_shown_not_obeyed(tmp_path: Path) -> None:
    from tests.conftest import invoke

    config = tmp_path / "channels.yaml"
    # YAML's "\e" is ESC: a value in channels.yaml can carry one into an error message.
    config.write_text(
        webhook_config("http://127.0.0.1:9/hook")
        + '  other:\n    type: "sl\\e]0;pwned\\a\\e[2Jack"\n'
        + '  third:\n    type: "x\\e[8m"\n'
    )
    for command in (["check"], ["channels"], ["preview", "investigating", "--title", "t"]):
        result = invoke(["--config", str(config), *command])
        assert result.code == 2, result.output
        _no_control(result.output)
