"""The one channels.yaml generator: what `notify sandbox`, the demo, tests and benchmarks write."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from notify.sandbox import Credentials, Sandbox, SandboxAddress
from notify.sandbox.cli import channels_yaml
from notify.sandbox.config import channel, config_text, every_channel
from tests.conftest import invoke

CREDS = Credentials()
WHERE = SandboxAddress("http://127.0.0.1:4010", "127.0.0.1", 2525)


def test_channels_yaml_points_every_channel_at_the_sandbox() -> None:
    with Sandbox() as sb:
        config = yaml.safe_load(channels_yaml(sb))
    channels = config["channels"]
    assert channels["sandbox-sms"]["base_url"] == sb.base_url("twilio")
    assert channels["sandbox-sms"]["from"] == "+15005550006"
    assert channels["sandbox-slack"]["token"] == CREDS.slack_token
    assert channels["sandbox-slack-webhook"]["webhook_url"] == sb.webhook_url("slack")
    assert channels["sandbox-email"]["port"] == sb.smtp_port
    assert channels["sandbox-webhook"]["secret"] == CREDS.webhook_secret


def test_every_channel_the_sandbox_offers_passes_notify_check(tmp_path: Path) -> None:
    config = tmp_path / "channels.yaml"
    config.write_text(config_text(every_channel(WHERE)), encoding="utf-8")
    result = invoke(["--config", str(config), "check"])
    assert result.code == 0, result.output
    assert "14 channel(s), 14 enabled" in " ".join(result.output.split())


def test_every_channel_is_one_per_kind_of_entry_email_first() -> None:
    names = list(every_channel(WHERE))
    assert names[0] == "sandbox-email"
    assert {"sandbox-sms", "sandbox-sendgrid", "sandbox-slack", "sandbox-slack-webhook"} <= set(
        names
    )
    assert len(names) == len(set(names)) == 14


def test_channel_takes_the_emulators_entry_and_changes_only_what_it_is_given() -> None:
    sms = channel("twilio", WHERE, to=["+14155550100", "+442071838750"], rate_limit="10/s")
    assert list(sms) == [
        "type",
        "base_url",
        "account_sid",
        "auth_token",
        "from",
        "to",
        "rate_limit",
    ]
    assert sms["base_url"] == "http://127.0.0.1:4010/twilio"
    assert sms["to"] == ["+14155550100", "+442071838750"]
    mail = channel("smtp", WHERE, username=None, password=None, sender="Acme <a@acme.example>")
    assert "username" not in mail and "password" not in mail
    assert (mail["from"], mail["port"]) == ("Acme <a@acme.example>", 2525)
    hook = channel("slack", WHERE, variant="slack-webhook")
    assert set(hook) == {"type", "webhook_url"}
    with pytest.raises(ValueError, match="slack-webhook"):
        channel("slack", WHERE, variant="slack-bot")
    with pytest.raises(ValueError, match="unknown provider"):
        channel("pagerduty", WHERE)


TRICKY: list[Any] = [
    "+15005550006", "-1000000000001", "yes", "No", "null", "~", "12:30", "1e3", "0x1F",
    "2024-01-01", "10/s", "Acme Status <status@acme.example>", "a: b", "ends with a colon:",
    "#hash", "{recipient}", "https://status.acme.example/unsubscribe?email={recipient}",
    ".notify/journal.db", " padded ", "100001:sandbox-telegram-bot-token", "ünïcode",
    'quote "inside"', "", 7, 2.5, True,
]  # fmt: skip


@pytest.mark.parametrize("value", TRICKY, ids=repr)
def test_whatever_is_written_reads_back_the_same(value: Any) -> None:
    channels = {"c": {"type": "webhook", "value": value, "listed": [value, "plain"]}}
    document = yaml.safe_load(config_text(channels, journal=value if value else None))
    assert document["channels"]["c"] == channels["c"]
    if value:
        assert document["journal"] == value


def test_top_level_settings_sit_between_the_organization_and_the_channels() -> None:
    text = config_text({}, organization={"name": "Sandbox Cloud"}, timezone="UTC", groups=None)
    assert text == "version: 1\norganization:\n  name: Sandbox Cloud\ntimezone: UTC\nchannels: {}\n"
