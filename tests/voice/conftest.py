"""A workspace with a support line: a status site served by the sandbox, an SMS channel for the
call-backs and a `voice` channel on the sandbox's Twilio number, for the support line's tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from notify.journal import open_journal
from notify.journal.base import CallbackRequest, Delivery
from notify.sandbox.config import channel, config_text
from tests.conftest import CliResult, Workspace

LINE = "+15005550006"  # the sandbox account's number
AGENTS = "+15005550010"  # where callers are put through
ORIGINAL_URL = "https://demo.twilio.com/welcome/voice/"  # the number's voice URL before notify


class VoiceWorkspace(Workspace):
    """A workspace (tests.conftest) whose config has the support line and what it names."""

    @property
    def site(self) -> Path:
        return self.path / "site"

    def write(self, **changes: Any) -> None:
        """channels.yaml with the site, the SMS channel and the support line; `changes` replace
        settings of the support line (None drops one) or whole channels (a dict)."""
        sb = self.sandbox
        line: dict[str, Any] = {
            "type": "voice",
            "base_url": sb.base_url("twilio"),
            "account_sid": sb.credentials.twilio_account_sid,
            "auth_token": sb.credentials.twilio_auth_token,
            "number": LINE,
            "site": "status-site",
            "connect_to": AGENTS,
            "callback_sms": "customers-sms",
        }
        channels: dict[str, Any] = {
            "status-site": channel("site", sb),
            "customers-sms": channel("twilio", sb, to=["+14155550100"]),
            "support-line": line,
        }
        for key, value in changes.items():
            if isinstance(value, dict):
                channels[key] = value
            elif value is None:
                line.pop(key, None)
            else:
                line[key] = value
        text = config_text(channels, timezone="UTC", journal=".notify/journal.db")
        self.config.write_text(text, encoding="utf-8")

    def send(self, *args: str) -> CliResult:
        return self.run("send", *args, "--yes")

    def number(self) -> dict[str, Any]:
        """The line's IncomingPhoneNumber as Twilio has it now."""
        sb = self.sandbox
        sid = sb.credentials.twilio_account_sid
        answer = httpx.get(
            f"{sb.base_url('twilio')}/2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json",
            params={"PhoneNumber": LINE},
            auth=(sid, sb.credentials.twilio_auth_token),
        )
        answer.raise_for_status()
        (number,) = answer.json()["incoming_phone_numbers"]
        return dict(number)

    def call(self, caller: str, press: str | None = None) -> list[str]:
        """Call the support line; what the caller heard."""
        return list(self.sandbox.call(LINE, caller=caller, press=press).said())

    def texts(self) -> list[tuple[str, str]]:
        """(to, body) of every SMS the sandbox's Twilio accepted, in order."""
        return [(m["to"], m["body"]) for m in self.sandbox.posts("twilio")]

    def callbacks(self, incident: str) -> list[CallbackRequest]:
        journal = open_journal(self.journal)
        try:
            return journal.callbacks(incident)
        finally:
            journal.close()

    def deliveries(self) -> list[Delivery]:
        journal = open_journal(self.journal)
        try:
            return journal.deliveries()
        finally:
            journal.close()


@pytest.fixture
def voice_workspace(tmp_path: Path, sandbox: Any) -> VoiceWorkspace:
    sandbox.reset()
    sandbox.serve_site(tmp_path / "site")
    workspace = VoiceWorkspace(tmp_path, sandbox)
    workspace.write()
    return workspace
