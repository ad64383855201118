"""Bad support line settings and scripts: exit 2, one line saying where and how to fix it, and
nothing sent to anyone; the auth token never shows, not in output, the journal or the scripts."""

from __future__ import annotations

from typing import Any

import pytest

from notify.sandbox.config import channel
from tests.conftest import CliResult
from tests.voice.conftest import VoiceWorkspace

LONG = " ".join(["Our engineers are still working through the backlog of queued jobs."] * 20)


def send_a_long_script(ws: VoiceWorkspace) -> CliResult:
    return ws.send(
        "investigating", "--incident", "x", "--title", "X", "--message", LONG,
        "--to", "support-line",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"site": "customers-sms"}, "site 'customers-sms' is a sms channel, not a site one"),
        ({"site": "status-sight"}, "site 'status-sight' is not a channel"),
        ({"number": "5005550006"}, "is not in E.164"),
        ({"callback_sms": "status-site"}, "callback_sms 'status-site' is a site channel"),
        ({"connect_to": "the front desk"}, "is neither a number in E.164"),
    ],
)
def test_a_wrong_setting_is_one_line_and_nothing_is_sent(
    voice_workspace: VoiceWorkspace, changes: dict[str, Any], words: str
) -> None:
    ws = voice_workspace
    ws.write(**changes)
    result = ws.send("investigating", "--incident", "x", "--title", "X", "--message", "Down.")
    assert result.code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], result.stderr
    assert "channels.yaml" in lines[0]  # where: the file and line
    assert ws.sandbox.requests("twilio") == []
    assert not ws.journal.exists()


def test_a_site_that_twilio_cannot_reach_is_refused(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    site = channel("site", ws.sandbox, url="http://status.acme.example")
    ws.write(**{"status-site": site})
    result = ws.send("investigating", "--incident", "x", "--title", "X", "--message", "Down.")
    assert result.code == 2, result.output
    assert "is not https" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_script_too_long_to_listen_to_is_refused(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    result = send_a_long_script(ws)
    assert result.code == 2, result.output
    assert "seconds of speech" in result.stderr and "overflow: truncate" in result.stderr
    assert ws.sandbox.requests("twilio") == []


def test_a_long_script_is_cut_at_a_sentence_when_asked(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    ws.write(overflow="truncate")
    result = send_a_long_script(ws)
    assert result.code == 0, result.output
    heard = ws.call("+14155550199")
    assert heard[0].endswith(".") and "…" not in heard[0]


def test_the_auth_token_is_never_shown_or_stored(voice_workspace: VoiceWorkspace) -> None:
    ws = voice_workspace
    token = ws.sandbox.credentials.twilio_auth_token
    outputs = [
        ws.send("investigating", "--incident", "x", "--title", "X", "--message", "Down."),
        ws.run("--json", "show", "x"),
        ws.run("check", "--online"),
        ws.run("--json", "tick"),
        ws.send("resolved", "--incident", "x", "--message", "Fixed."),
        ws.run("--json", "callbacks", "x"),
    ]
    for result in outputs:
        assert token not in result.output
    for path in [*ws.site.rglob("*"), ws.journal]:
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path
