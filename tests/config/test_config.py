"""channels.yaml as a user writes it: the sample loads, and each mistake gets one line that says
where it is (file:line, the field) and how to fix it."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from notify import secrets
from notify.channels import registry
from notify.channels.base import (
    Channel,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    Settings,
    ThreadRef,
)
from notify.config import InvalidConfig, load_config, load_config_text, resolve_config_path
from notify.errors import ConfigError

# --- fake channel types, shaped like CONTRACT.md's table ------------------------------------


class _Fake(Channel):
    spec: ClassVar[ChannelSpec]

    def measure(self, message: Message) -> Length | None:
        return None

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        return Receipt(ok=True)


class FakeSlack(_Fake):
    spec = ChannelSpec(
        type="slack",
        fields=(
            Field("token", secret=True, help="a bot token (xoxb-…)"),
            Field("channel", help="the channel ID, like C0123456789"),
            Field("webhook_url", "url", secret=True, help="an incoming webhook URL"),
        ),
        part="body",
        format="slack",
        default_base_url="https://slack.com/api",
    )

    def validate(self) -> list[tuple[str, str]]:
        s = self.settings
        if s["webhook_url"] or (s["token"] and s["channel"]):
            return []
        missing = "channel" if s["token"] else "token"
        return [(missing, f"set token and channel (Web API), or webhook_url; {missing} is missing")]


class FakeSms(_Fake):
    spec = ChannelSpec(
        type="sms",
        fields=(
            Field("account_sid", required=True, help="the Twilio Account SID"),
            Field("auth_token", required=True, secret=True, help="the Twilio auth token"),
            Field("from", help="the sending number in E.164"),
            Field("messaging_service_sid", help="MG..., instead of from"),
            Field("to", "str_or_list", required=True, help="numbers, or an audience file"),
        ),
        part="short",
        format="plain",
        per_recipient=True,
        default_base_url="https://api.twilio.com",
    )

    def validate(self) -> list[tuple[str, str]]:
        if self.settings["from"] or self.settings["messaging_service_sid"]:
            return []
        return [("from", "set from (+15005550006) or messaging_service_sid")]

    def validate_recipient(self, recipient: Recipient) -> str | None:
        if re.fullmatch(r"\+[1-9]\d{6,14}", recipient.address):
            return None
        return f"'{recipient.address}' is not a phone number in E.164: write it like +14155550100"


class FakeEmail(_Fake):
    spec = ChannelSpec(
        type="email",
        fields=(
            Field("provider", default="smtp", choices=("smtp", "sendgrid")),
            Field("host"),
            Field("port", "int", default=587),
            Field("security", default="starttls", choices=("starttls", "tls", "none")),
            Field("username"),
            Field("password", secret=True),
            Field("api_key", secret=True),
            Field("from", required=True, help="the sender, like Acme Status <status@acme.example>"),
            Field("to", "str_or_list", required=True, help="addresses, or an audience file"),
            Field("reply_to"),
        ),
        part="body",
        format="email",
        per_recipient=True,
        http=False,
    )

    def validate_recipient(self, recipient: Recipient) -> str | None:
        return None if "@" in recipient.address else "not an email address: write name@domain"


class FakeWebhook(_Fake):
    spec = ChannelSpec(
        type="webhook",
        fields=(
            Field("url", "url", required=True, help="where to POST"),
            Field("secret", secret=True, help="signs each body"),
            Field("headers", "dict", secret=True, default={}),  # its values, as the real one
            Field("verify", "bool", default=True),
        ),
        part="body",
        format="webhook",
    )


class FakeTelegram(_Fake):
    spec = ChannelSpec(
        type="telegram",
        fields=(
            Field("token", required=True, secret=True, help="the bot token from @BotFather"),
            Field("chat_id", required=True, help="the chat's numeric ID or @channelname"),
        ),
        part="body",
        format="telegram",
    )


@pytest.fixture(autouse=True)
def fake_types() -> Iterator[None]:
    fakes = (FakeSlack, FakeSms, FakeEmail, FakeWebhook, FakeTelegram)
    registry._cache = {
        cls.spec.type: registry.ChannelType(cls.spec.type, cls, "built-in") for cls in fakes
    }
    secrets.clear()
    yield
    registry.reset()
    secrets.clear()


SAMPLE = """\
version: 1
organization:                 # available to templates as org.*
  name: Acme Cloud
  status_url: https://status.acme.example
journal: .notify/journal.db   # relative to this file; --journal and $NOTIFY_JOURNAL override it
templates: templates          # relative to this file

channels:
  ops-slack:
    type: slack
    token: ${SLACK_BOT_TOKEN}
    channel: C0123456789
  status-email:
    type: email               # provider: smtp (default) or sendgrid
    host: smtp.acme.example
    port: 587
    security: starttls        # starttls | tls | none
    username: ${SMTP_USER}
    password: ${SMTP_PASSWORD}
    from: "Acme Status <status@acme.example>"
    to: [oncall@acme.example, support-leads@acme.example]
  customers-sms:
    type: sms                 # provider: twilio (default)
    account_sid: ${TWILIO_ACCOUNT_SID}
    auth_token: ${TWILIO_AUTH_TOKEN}
    from: "+15005550006"      # or messaging_service_sid
    to: ["+14155550100"]
    rate_limit: 10/s
    fallback: status-email

groups:
  internal: [ops-slack, status-email]
  customers: [customers-sms]
"""

ENV = {
    "SLACK_BOT_TOKEN": "xoxb-1111-secret-slack",
    "SMTP_USER": "mailer-user",
    "SMTP_PASSWORD": "hunter2-smtp-password",
    "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
    "TWILIO_AUTH_TOKEN": "twilio-auth-secret",
}

MINIMAL = """\
version: 1
channels:
  hooks:
    type: webhook
    url: https://hooks.example/notify
"""


def load(text: str, tmp_path: Path, env: dict[str, str] | None = None, **kw: Any) -> Any:
    (tmp_path / "templates").mkdir(exist_ok=True)
    return load_config_text(
        textwrap.dedent(text), name="channels.yaml", base_dir=tmp_path, env=env or {}, **kw
    )


def error_of(text: str, tmp_path: Path, env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(text, tmp_path, env)
    line = str(caught.value)
    assert "\n" not in line
    return line


# --- the sample from CONTRACT.md ------------------------------------------------------------


def test_the_contract_sample_loads_typed_with_defaults(tmp_path: Path) -> None:
    config = load(SAMPLE, tmp_path, ENV)

    assert list(config.channels) == ["ops-slack", "status-email", "customers-sms"]
    assert config.organization == {
        "name": "Acme Cloud",
        "status_url": "https://status.acme.example",
    }
    assert config.journal_path == tmp_path / ".notify" / "journal.db"
    assert config.template_dirs == [tmp_path / "templates"]
    assert config.timezone == "UTC"
    assert config.groups == {
        "internal": ["ops-slack", "status-email"],
        "customers": ["customers-sms"],
    }
    assert config.path is None

    slack = config.channels["ops-slack"]
    assert (slack.type, slack.line, slack.source) == ("slack", 9, "built-in")
    assert isinstance(slack.adapter, FakeSlack)
    assert slack.adapter.settings["token"] == ENV["SLACK_BOT_TOKEN"]
    assert (slack.enabled, slack.concurrency, slack.timeout, slack.retries) == (True, None, 15.0, 3)
    assert slack.adapter.settings["base_url"] is None
    assert slack.adapter.base_url == "https://slack.com/api"

    email = config.channels["status-email"].adapter
    assert email.settings["provider"] == "smtp"  # default filled in
    assert email.settings["port"] == 587
    assert email.settings["to"] == ["oncall@acme.example", "support-leads@acme.example"]
    assert email.settings["reply_to"] is None
    assert "base_url" not in email.settings  # not an HTTP type

    sms = config.channels["customers-sms"]
    assert sms.rate_limit is not None and sms.rate_limit.per_second == 10
    assert sms.fallback == "status-email"
    assert [r.address for r in sms.adapter.recipients()] == ["+14155550100"]
    assert [c.name for c in config.select(["customers", "ops-slack"])] == [
        "ops-slack",
        "customers-sms",
    ]


def test_each_channel_reads_frozen_settings_typed_by_its_declared_fields(tmp_path: Path) -> None:
    text = SAMPLE.replace("    port: 587\n", "    port: ${SMTP_PORT}\n    timeout: 5\n")
    email = load(text, tmp_path, {**ENV, "SMTP_PORT": "2525"}).channels["status-email"].adapter

    assert isinstance(email.settings, Settings)
    assert email.settings.port == 2525  # text from the environment, made a number once
    assert email.settings.timeout == 5.0 and isinstance(email.settings.timeout, float)
    assert (email.settings.concurrency, email.settings.security) == ("auto", "starttls")  # defaults
    assert email.settings.from_ == email.settings["from"] == "Acme Status <status@acme.example>"
    with pytest.raises(AttributeError, match="read-only"):
        email.settings.port = 25


def test_values_from_the_environment_and_secret_fields_are_redacted(tmp_path: Path) -> None:
    text = SAMPLE.replace("${TWILIO_AUTH_TOKEN}", "literal-twilio-token")
    load(text, tmp_path, ENV)

    assert secrets.redact(ENV["SLACK_BOT_TOKEN"]) == "***"
    assert secrets.redact(ENV["SMTP_USER"]) == ENV["SMTP_USER"]  # from the environment: not secret
    assert secrets.redact("auth literal-twilio-token") == "auth ***"  # secret field, written inline
    assert secrets.redact("C0123456789") == "C0123456789"  # neither


def test_load_config_reads_the_file_and_resolves_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    path = tmp_path / "channels.yaml"
    path.write_text(SAMPLE, encoding="utf-8")

    config = load_config(path, env=ENV)

    assert config.path == path
    assert config.journal_path == tmp_path / ".notify" / "journal.db"
    assert config.template_dirs == [tmp_path / "templates"]


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert list(load_config(path, env={}).channels) == ["hooks"]


def test_config_path_comes_from_option_then_env_then_cwd() -> None:
    assert resolve_config_path("ops.yaml", {"NOTIFY_CONFIG": "env.yaml"}) == Path("ops.yaml")
    assert resolve_config_path(None, {"NOTIFY_CONFIG": "env.yaml"}) == Path("env.yaml")
    assert resolve_config_path(None, {}) == Path("channels.yaml")


def test_journal_override_then_env_then_config_then_default(tmp_path: Path) -> None:
    with_journal = MINIMAL + "journal: state/notify.db\n"
    env = {"NOTIFY_JOURNAL": "/var/lib/notify.db"}
    assert load(with_journal, tmp_path, env, journal="cli.db").journal_path == Path("cli.db")
    assert load(with_journal, tmp_path, env).journal_path == Path("/var/lib/notify.db")
    assert load(with_journal, tmp_path).journal_path == tmp_path / "state" / "notify.db"
    assert load(MINIMAL, tmp_path).journal_path == tmp_path / ".notify" / "journal.db"


def test_template_dirs_default_to_a_templates_folder_only_when_present(tmp_path: Path) -> None:
    base = tmp_path / "site"
    base.mkdir()
    assert load_config_text(MINIMAL, name="c.yaml", base_dir=base, env={}).template_dirs == []
    (base / "templates").mkdir()
    assert load_config_text(MINIMAL, name="c.yaml", base_dir=base, env={}).template_dirs == [
        base / "templates"
    ]
    (base / "mine").mkdir()
    text = MINIMAL + "templates: mine\n"
    assert load_config_text(text, name="c.yaml", base_dir=base, env={}).template_dirs == [
        base / "mine"
    ]


def test_defaults_escapes_and_numbers_from_the_environment(tmp_path: Path) -> None:
    text = """\
    version: 1
    timezone: Europe/Paris
    channels:
      mail:
        type: email
        host: ${SMTP_HOST:-localhost}
        port: ${SMTP_PORT:-2525}
        from: "Status <status@example.com>"
        to: ops@example.com
        description: costs $${HOME} and ${EMPTY:-fallback} and $5
        enabled: ${MAIL_ENABLED}
        timeout: ${MAIL_TIMEOUT}
    """
    config = load(text, tmp_path, {"EMPTY": "", "MAIL_ENABLED": "false", "MAIL_TIMEOUT": "2.5"})

    mail = config.channels["mail"]
    assert mail.adapter.settings["host"] == "localhost"
    assert mail.adapter.settings["port"] == 2525
    assert mail.adapter.settings["to"] == "ops@example.com"
    assert mail.description == "costs ${HOME} and fallback and $5"
    assert (mail.enabled, mail.timeout) == (False, 2.5)
    assert config.timezone == "Europe/Paris"


def test_yaml_merge_keys_share_settings(tmp_path: Path) -> None:
    text = """\
    version: 1
    channels:
      a:
        &common
        type: webhook
        url: https://a.example/hook
        retries: 5
      b:
        <<: *common
        url: https://b.example/hook
    """
    config = load(text, tmp_path)
    assert config.channels["b"].retries == 5
    assert config.channels["b"].adapter.settings["url"] == "https://b.example/hook"


def test_keys_are_kept_as_written(tmp_path: Path) -> None:
    text = MINIMAL + "organization:\n  on: call\n  2024: year\n"
    assert load(text, tmp_path).organization == {"on": "call", "2024": "year"}


# --- mistakes: each is one line with file:line, the field, and the fix ---------------------

BAD: list[tuple[str, str, dict[str, str], int, str, str]] = [
    (
        "typo in a top-level key",
        "version: 1\nchanels:\n  a:\n    type: slack\n",
        {},
        2,
        "chanels",
        "did you mean 'channels'?",
    ),
    (
        "typo in a channel key",
        "channels:\n  ops-slack:\n    type: slack\n    tokne: xoxb-1\n    channel: C1\n",
        {},
        4,
        "channels.ops-slack.tokne",
        "did you mean 'token'?",
    ),
    (
        "unknown type",
        "channels:\n  ops:\n    type: slak\n",
        {},
        3,
        "channels.ops.type",
        "did you mean 'slack'?",
    ),
    (
        "type missing",
        "channels:\n  ops:\n    token: abc\n",
        {},
        2,
        "channels.ops.type",
        "add `type: ...`, one of: email, slack, sms, telegram, webhook",
    ),
    (
        "sms without auth_token",
        "channels:\n  sms:\n    type: sms\n    account_sid: AC1\n    from: '+15005550006'\n"
        "    to: ['+14155550100']\n",
        {},
        2,
        "channels.sms.auth_token: missing required key 'auth_token'",
        "add `auth_token: ...` (the Twilio auth token)",
    ),
    (
        "email without from",
        "channels:\n  mail:\n    type: email\n    to: a@b.example\n",
        {},
        2,
        "channels.mail.from: missing required key 'from'",
        "the sender, like Acme Status",
    ),
    (
        "telegram without chat_id",
        "channels:\n  tg:\n    type: telegram\n    token: 123:abc\n",
        {},
        2,
        "channels.tg.chat_id",
        "add `chat_id: ...` (the chat's numeric ID or @channelname)",
    ),
    (
        "webhook without url",
        "channels:\n  hook:\n    type: webhook\n",
        {},
        2,
        "channels.hook.url",
        "add `url: ...` (where to POST)",
    ),
    (
        "a quoted number",
        "channels:\n  mail:\n    type: email\n    from: a@b.example\n    to: c@d.example\n"
        "    port: '587'\n",
        {},
        6,
        "channels.mail.port: expected a whole number, got text",
        "remove the quotes",
    ),
    (
        "an unquoted phone number",
        "channels:\n  sms:\n    type: sms\n    account_sid: AC1\n    auth_token: tok-1234\n"
        "    from: +15005550006\n    to: ['+14155550100']\n",
        {},
        6,
        "channels.sms.from: expected text, got a number",
        "quote it",
    ),
    (
        "an unquoted phone number in a list",
        "channels:\n  sms:\n    type: sms\n    account_sid: AC1\n    auth_token: tok-1234\n"
        "    from: '+15005550006'\n    to:\n      - '+14155550100'\n      - +14155550101\n",
        {},
        9,
        "channels.sms.to[1]: expected text, got a number",
        "quote it",
    ),
    (
        "yes read as a boolean",
        "channels:\n  tg:\n    type: telegram\n    token: 123:abc\n    chat_id: yes\n",
        {},
        5,
        "channels.tg.chat_id: expected text, got true/false",
        "quote it",
    ),
    (
        "enabled as text",
        MINIMAL + "    enabled: 'no'\n",
        {},
        6,
        "channels.hooks.enabled: expected true or false, got text",
        "write true or false",
    ),
    (
        "headers not a mapping",
        MINIMAL + "    headers: [a, b]\n",
        {},
        6,
        "channels.hooks.headers: expected a mapping, got a list",
        "write `key: value` lines",
    ),
    (
        "bad choice",
        "channels:\n  mail:\n    type: email\n    from: a@b.example\n    to: c@d.example\n"
        "    security: ssl\n",
        {},
        6,
        "channels.mail.security: 'ssl' is not one of starttls, tls, none",
        "use one of: starttls, tls, none",
    ),
    (
        "rate_limit with an unknown unit",
        MINIMAL + "    rate_limit: 5/day\n",
        {},
        6,
        "channels.hooks.rate_limit",
        "write it like 10/s, 600/min or 1000/h",
    ),
    (
        "rate_limit as a bare number",
        MINIMAL + "    rate_limit: 10\n",
        {},
        6,
        "channels.hooks.rate_limit: expected a rate, got a number",
        "write it like 10/s",
    ),
    (
        "rate_limit of zero",
        MINIMAL + "    rate_limit: 0/s\n",
        {},
        6,
        "channels.hooks.rate_limit",
        "write it like 10/s",
    ),
    (
        "concurrency zero",
        MINIMAL + "    concurrency: 0\n",
        {},
        6,
        "channels.hooks.concurrency: concurrency must be at least 1",
        "set concurrency: at least 1",
    ),
    (
        "timeout zero",
        MINIMAL + "    timeout: 0\n",
        {},
        6,
        "channels.hooks.timeout",
        "more than 0 seconds",
    ),
    (
        "negative retries",
        MINIMAL + "    retries: -1\n",
        {},
        6,
        "channels.hooks.retries",
        "0 or more",
    ),
    (
        "base_url not a URL",
        MINIMAL + "    base_url: localhost:8025\n",
        {},
        6,
        "channels.hooks.base_url: 'localhost:8025' is not an http(s) URL",
        "starting with https://",
    ),
    (
        "missing environment variable",
        "version: 1\nchannels:\n  ops:\n    type: slack\n    token: ${SLACK_BOT_TOKEN}\n"
        "    channel: C1\n",
        {},
        5,
        "channels.ops.token: environment variable SLACK_BOT_TOKEN is not set",
        "export SLACK_BOT_TOKEN=... or write ${SLACK_BOT_TOKEN:-default}",
    ),
    (
        "missing variable inside a longer string",
        MINIMAL + "    description: on call ${TEAM} rota\n",
        {},
        6,
        "channels.hooks.description: environment variable TEAM is not set",
        "export TEAM=...",
    ),
    (
        "malformed ${",
        MINIMAL + "    description: costs ${not a var}\n",
        {},
        6,
        "channels.hooks.description",
        "or $${ for a literal ${",
    ),
    (
        "variable from the environment with the wrong shape",
        MINIMAL + "    retries: ${RETRIES}\n",
        {"RETRIES": "many"},
        6,
        "channels.hooks.retries: expected a whole number, got text from the environment",
        "set the variable to a whole number",
    ),
    (
        "required value empty in the environment",
        "channels:\n  tg:\n    type: telegram\n    token: ${TG_TOKEN}\n    chat_id: '-100123'\n",
        {"TG_TOKEN": ""},
        4,
        "channels.tg.token: 'token' is empty",
        "export the variable with a value",
    ),
    (
        "unknown fallback",
        MINIMAL + "    fallback: hookz\n  other:\n    type: webhook\n    url: https://o.example\n",
        {},
        6,
        "channels.hooks.fallback: fallback 'hookz' is not a channel",
        "valid channels: other",
    ),
    (
        "fallback with a typo",
        MINIMAL + "    fallback: sms-customer\n  sms-customers:\n    type: webhook\n"
        "    url: https://o.example\n",
        {},
        6,
        "channels.hooks.fallback",
        "did you mean 'sms-customers'?",
    ),
    (
        "fallback to itself",
        MINIMAL + "    fallback: hooks\n",
        {},
        6,
        "channels.hooks.fallback: channel 'hooks' falls back to itself",
        "name another channel, or remove `fallback:`",
    ),
    (
        "fallback cycle",
        "channels:\n  a:\n    type: webhook\n    url: https://a.example\n    fallback: b\n"
        "  b:\n    type: webhook\n    url: https://b.example\n    fallback: a\n",
        {},
        5,
        "channels.a.fallback: fallback cycle: a -> b -> a",
        "remove one of these fallbacks",
    ),
    (
        "unknown group member",
        MINIMAL + "groups:\n  everyone: [hooks, hoks-2]\n  ops:\n    - hooks\n    - hook\n",
        {},
        7,
        "groups.everyone[1]: group 'everyone' lists 'hoks-2', which is not a channel",
        "did you mean 'hooks'?",
    ),
    (
        "group named like a channel",
        MINIMAL + "groups:\n  hooks: [hooks]\n",
        {},
        7,
        "groups.hooks: group 'hooks' has the same name as a channel",
        "rename the group or the channel",
    ),
    (
        "bad timezone",
        MINIMAL + "timezone: Europe/Pariss\n",
        {},
        6,
        "timezone: unknown time zone 'Europe/Pariss'",
        "did you mean 'Europe/Paris'?",
    ),
    (
        "status_url without a scheme",
        "organization:\n  name: Acme\n  status_url: status.acme.example\n" + MINIMAL,
        {},
        3,
        "organization.status_url: 'status.acme.example' is not an http(s) URL",
        "like https://status.example.com",
    ),
    (
        "organization name as a list",
        "organization:\n  name: [Acme]\n" + MINIMAL,
        {},
        2,
        "organization.name: expected text, got a list",
        "quote the value",
    ),
    (
        "templates folder missing",
        MINIMAL + "templates: tmpl\n",
        {},
        6,
        "templates: templates folder 'tmpl' does not exist",
        "remove `templates:` to use the shipped templates",
    ),
    (
        "bad channel name",
        "channels:\n  ops slack:\n    type: webhook\n    url: https://a.example\n",
        {},
        2,
        "channels.ops slack: 'ops slack' is not a valid channel name",
        "use letters, digits",
    ),
    (
        "channel that is not a mapping",
        "channels:\n  ops: slack\n",
        {},
        2,
        "channels.ops: expected the channel's settings, got text",
        "`type: ...`",
    ),
    (
        "version 2",
        "version: 2\n" + MINIMAL.replace("version: 1\n", ""),
        {},
        1,
        "version: version 2 is not supported",
        "write `version: 1`",
    ),
    (
        "no channels",
        "version: 1\norganization:\n  name: Acme\n",
        {},
        1,
        "channels: no channels are configured",
        "add a `channels:` mapping",
    ),
    (
        "duplicate channel",
        MINIMAL + "  hooks:\n    type: slack\n",
        {},
        6,
        "channels.hooks: duplicate key 'hooks' (first on line 3)",
        "keep one of them",
    ),
    (
        "adapter's cross-field rule",
        "channels:\n  ops:\n    type: slack\n    token: xoxb-123456\n",
        {},
        2,
        "channels.ops.channel: set token and channel (Web API), or webhook_url",
        "channel is missing",
    ),
    (
        "adapter's rule pointing at a field that is set",
        "channels:\n  sms:\n    type: sms\n    account_sid: AC1\n    auth_token: tok-1234\n"
        "    to: ['+14155550100']\n",
        {},
        2,
        "channels.sms.from",
        "set from (+15005550006) or messaging_service_sid",
    ),
    (
        "recipient the adapter rejects",
        "channels:\n  sms:\n    type: sms\n    account_sid: AC1\n    auth_token: tok-1234\n"
        "    from: '+15005550006'\n    to:\n      - '+14155550100'\n      - '555-0100'\n",
        {},
        9,
        "channels.sms.to[1]: '555-0100' is not a phone number in E.164",
        "write it like +14155550100",
    ),
]


@pytest.mark.parametrize(
    ("text", "env", "line", "field", "fix"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_each_mistake_is_one_line_with_where_and_how_to_fix(
    tmp_path: Path, text: str, env: dict[str, str], line: int, field: str, fix: str
) -> None:
    message = error_of(text, tmp_path, env)
    assert message.startswith(f"channels.yaml:{line}: "), message
    assert field in message, message
    assert fix in message, message


@pytest.mark.parametrize(
    ("text", "where", "words", "fix"),
    [
        (
            "version: 1\nchannels:\n  a:\n    type: slack\n   bad: indent\n",
            ":5:",
            "indentation",
            "spaces",
        ),
        ("version: 1\nchannels:\n\ta:\n", ":3:1", "tab", "never tabs"),
        ("channels:\n  a:\n    description: a: b\n", ":3:", "':'", "quote values"),
        ("version: 1\nchannels: [a, b\n", ":2:11", "never closed", "close the bracket"),
        ("groups:\n  all: [${ALL}]\n", ":2:10", "is it a ${VAR}?", '["${VAR}"]'),
        ("version: 1\norganization:\n  name: 'Acme\n", ":3:9", "never closed", "close the quote"),
    ],
    ids=[
        "indentation",
        "tab",
        "colon in a value",
        "unclosed bracket",
        "unclosed quote",
        "${} in [ ]",
    ],
)
def test_yaml_syntax_errors_give_line_and_column_in_plain_words(
    tmp_path: Path, text: str, where: str, words: str, fix: str
) -> None:
    message = error_of(text, tmp_path)
    assert message.startswith("channels.yaml" + where), message
    assert "YAML syntax error" in message and words in message and fix in message, message


def test_a_value_yaml_cannot_construct_says_to_quote_it(tmp_path: Path) -> None:
    message = error_of(MINIMAL + "    description: 2024-13-45\n", tmp_path)
    assert message.startswith("channels.yaml:6: channels.hooks.description: YAML cannot read"), (
        message
    )
    assert "quote it" in message


def test_an_empty_file_says_how_to_start(tmp_path: Path) -> None:
    message = error_of("# nothing yet\n", tmp_path)
    assert message.startswith("channels.yaml:1: the config file is empty"), message
    assert "notify init" in message


def test_a_top_level_list_is_refused(tmp_path: Path) -> None:
    message = error_of("- slack\n- email\n", tmp_path)
    assert message.startswith("channels.yaml:1: the config must be a mapping"), message
    assert "`version: 1`" in message


def test_a_missing_file_says_to_run_init(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}: no config file here"), message
    assert "notify init" in message and "--config" in message


def test_a_non_utf8_file_names_the_line_of_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "channels.yaml"
    path.write_bytes(b"version: 1\norganization:\n  name: Caf\xe9\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, env={})
    message = str(caught.value)
    assert message.startswith(f"{path}:3: byte 0xe9 is not UTF-8"), message
    assert "save the file as UTF-8" in message


def test_a_typo_in_a_channel_key_comes_before_the_missing_key_it_causes(tmp_path: Path) -> None:
    text = "channels:\n  sms:\n    type: sms\n    acount_sid: AC1\n    auth_token: t-1234\n"
    with pytest.raises(InvalidConfig) as caught:
        load(text, tmp_path)
    assert "channels.sms.acount_sid" in str(caught.value)
    assert "did you mean 'account_sid'?" in str(caught.value)
    assert any("missing required key 'account_sid'" in p for p in caught.value.problems)
    assert any("missing required key 'to'" in p for p in caught.value.problems)


def test_a_missing_variable_is_reported_once_not_again_for_its_unfilled_text(
    tmp_path: Path,
) -> None:
    text = MINIMAL + "    retries: ${RETRIES}\ntimezone: ${TZ}\ngroups:\n  all: ['${ALL}']\n"
    with pytest.raises(InvalidConfig) as caught:
        load(text, tmp_path)
    assert [p.split(": ", 2)[1:] for p in caught.value.problems] == [
        [
            "channels.hooks.retries",
            "environment variable RETRIES is not set. export RETRIES=... "
            "or write ${RETRIES:-default}",
        ],
        ["timezone", "environment variable TZ is not set. export TZ=... or write ${TZ:-default}"],
        [
            "groups.all[0]",
            "environment variable ALL is not set. export ALL=... or write ${ALL:-default}",
        ],
    ]


def test_every_problem_is_listed_in_file_order(tmp_path: Path) -> None:
    text = """\
    version: 1
    colour: blue
    channels:
      ops:
        type: slak
      hooks:
        type: webhook
        url: https://h.example
        retries: lots
    timezone: Mars/Olympus
    """
    with pytest.raises(InvalidConfig) as caught:
        load(text, tmp_path)
    lines = [int(p.split(":")[1]) for p in caught.value.problems]
    assert lines == [2, 5, 9, 10]
    assert str(caught.value) == caught.value.problems[0]


def test_no_error_message_contains_a_secret_value(tmp_path: Path) -> None:
    text = """\
    version: 1
    channels:
      ops:
        type: slack
        token: 12345678901
        webhook_url: not-a-url-xoxb-hook-secret
      hooks:
        type: webhook
        url: https://h.example
        secret: [hook-secret-literal]
        headers:
          Authorization: ${AUTH_HEADER}
        description: ${AUTH_HEADER}
        overflow: ${AUTH_HEADER}
      mystery:
        type: pagerdooty
        api_token: pd-secret-token
    """
    env = {"AUTH_HEADER": "Bearer env-secret-value"}
    with pytest.raises(InvalidConfig) as caught:
        load(text, tmp_path, env)
    everything = "\n".join(caught.value.problems)

    assert len(caught.value.problems) == 5, everything
    for secret in (
        "12345678901",
        "xoxb-hook-secret",
        "hook-secret-literal",
        "env-secret-value",
        "pd-secret-token",
    ):
        assert secret not in everything
    assert "channels.ops.token: expected text, got a number" in everything
    assert "channels.ops.webhook_url: this value is not an http(s) URL" in everything
    assert "channels.hooks.overflow: '***' is not one of error, truncate" in everything
