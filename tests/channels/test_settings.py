"""A channel's settings: built from its declared fields, read as attributes or as a Mapping."""

from __future__ import annotations

import copy
import pickle

import pytest

from notify.channels.base import Settings
from notify.channels.email import EmailChannel
from notify.channels.settings import Field
from notify.channels.sms import SmsChannel

FIELDS = (
    Field("token", secret=True),
    Field("from"),
    Field("port", "int", default=587),
    Field("timeout", "float", default=15.0),
    Field("langs", "list", default=["en"]),
)


def test_defaults_are_filled_in_and_floats_are_floats() -> None:
    settings = Settings.build(FIELDS, {"token": "t0k3n", "from": None, "timeout": 5})

    assert settings.token == "t0k3n"
    assert settings.from_ is None and settings["from"] is None  # `from` is a Python keyword
    assert settings.port == 587
    assert settings.timeout == 5.0 and isinstance(settings.timeout, float)
    assert settings.langs == ["en"]


def test_each_settings_gets_its_own_copy_of_a_mutable_default() -> None:
    first, second = Settings.build(FIELDS, {}), Settings.build(FIELDS, {})

    first.langs.append("de")

    assert second.langs == ["en"]


def test_settings_are_a_read_only_mapping() -> None:
    settings = Settings.build(FIELDS, {"token": "t0k3n", "extra": 1})

    assert dict(settings) == {
        "token": "t0k3n",
        "extra": 1,  # undeclared keys a plugin's tests pass are kept
        "from": None,
        "port": 587,
        "timeout": 15.0,
        "langs": ["en"],
    }
    assert settings.get("missing", "x") == "x" and "port" in settings and len(settings) == 6
    with pytest.raises(AttributeError, match="read-only"):
        settings.port = 25
    with pytest.raises(TypeError):
        settings["port"] = 25  # type: ignore[index]
    with pytest.raises(AttributeError, match="no setting 'prot'"):
        _ = settings.prot


def test_replace_gives_new_settings_and_keeps_the_old() -> None:
    settings = Settings.build(FIELDS, {"port": 25})
    moved = settings.replace(port=2525)

    assert (settings.port, moved.port, moved.timeout) == (25, 2525, 15.0)


def test_secrets_never_show_in_repr_and_copies_survive() -> None:
    settings = Settings.build(FIELDS, {"token": "t0k3n"})

    assert "t0k3n" not in repr(settings) and "token=<secret>" in repr(settings)
    assert copy.deepcopy(settings) == settings
    assert pickle.loads(pickle.dumps(settings)) == settings
    assert "t0k3n" not in repr(pickle.loads(pickle.dumps(settings)))


def test_an_adapter_built_from_a_plain_dict_reads_typed_settings_with_defaults() -> None:
    sms = SmsChannel("sms", {"account_sid": "AC" + "0" * 32, "auth_token": "t", "to": []})
    email = EmailChannel("mail", {"from": "a@example.test", "to": [], "host": "smtp.test"})

    assert isinstance(sms.settings, Settings)
    assert (sms.settings.max_segments, sms.settings.provider, sms.timeout) == (4, "twilio", 15.0)
    assert (sms.settings.concurrency, sms.settings.skip_invalid) == ("auto", False)
    assert (email.settings.port, email.settings.security) == (587, "starttls")
    assert sms.settings.base_url is None and sms.base_url == "https://api.twilio.com"
