"""A user's mistakes, through the real CLI: every one is exit 2 and one line on stderr saying where
(file:line, or the option or field) and how to fix it, with no traceback, nothing sent to any
provider and nothing recorded (the journal is not even created).

Each case starts from the `workspace` fixture (a channels.yaml with one channel of every type,
pointed at the session's sandbox), makes one mistake, and runs `notify send` as a user would.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from notify.exitcodes import ExitCode
from tests.conftest import CliResult, Workspace, invoke, invoke_process

SEND = ("send", "investigating", "--title", "Checkout errors", "--message", "Errors at checkout.")
Edit = Callable[[str], str]


# --- editing the workspace's channels.yaml as a user would -------------------------------------


def replace(old: str, new: str) -> Edit:
    def edit(text: str) -> str:
        assert text.count(old) == 1, f"{old!r} is not once in the config"
        return text.replace(old, new)

    return edit


def add_to(channel: str, *lines: str) -> Edit:
    """Add `lines` (settings) to a channel, right under its name."""
    head = f"\n  {channel}:\n"
    return replace(head, head + "".join(f"    {line}\n" for line in lines))


def drop(start: str, channel: str) -> Edit:
    """Remove the setting that starts with `start` from one channel."""

    def edit(text: str) -> str:
        lines = text.split("\n")
        for i in range(lines.index(f"  {channel}:") + 1, len(lines)):
            if not lines[i].startswith("    "):
                break
            if lines[i].startswith(f"    {start}"):
                del lines[i]
                return "\n".join(lines)
        raise AssertionError(f"{channel} has no {start}")

    return edit


def resub(pattern: str, new: str) -> Edit:
    """Replace a value that changes per run (the sandbox's ports)."""
    return lambda text: re.sub(pattern, new, text, count=1)


def append(lines: str) -> Edit:
    return lambda text: text + lines


def chain(*edits: Edit) -> Edit:
    def edit(text: str) -> str:
        for one in edits:
            text = one(text)
        return text

    return edit


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


# --- the cases ---------------------------------------------------------------------------------

GOOD_TEMPLATE = """\
---
status: investigating
---
{% block subject %}{{ incident.title }}{% endblock %}
{% block short %}{{ org.name }}: {{ update.message }}{% endblock %}
{% block body %}{{ update.message }}{% endblock %}
"""


@dataclass(frozen=True)
class Bad:
    """One mistake and what its error line must contain.

    `where` is the place the line must name; `{line}` in it stands for the line of `at` in the
    (edited) channels.yaml. `hint` is words of the fix.
    """

    name: str
    where: str
    hint: str
    args: tuple[str, ...] = SEND
    config: Edit | None = None
    at: str | None = None
    files: dict[str, bytes] = field(default_factory=dict)


def template(body: str | bytes) -> dict[str, bytes]:
    """A templates/broken.j2 in the workspace (the config gets `templates: templates`)."""
    data = body.encode() if isinstance(body, str) else body
    return {"templates/broken.j2": data}


TEMPLATES = replace("timezone: UTC\n", "timezone: UTC\ntemplates: templates\n")
BROKEN = ("send", "broken", "--title", "Checkout errors", "--message", "Errors at checkout.")
LONG = "Payments fail for some customers at checkout while we fail over the database. " * 8

CONFIG_CASES = [
    Bad(
        "YAML syntax: unclosed bracket",
        where="channels.yaml:{line}",
        hint="close the bracket",
        config=append("  oncall: [ops-slack, it-teams\n"),
        at="oncall:",
    ),
    Bad(
        "YAML syntax: colon in a value",
        where="channels.yaml:{line}",
        hint="quote values",
        config=add_to("ops-slack", "description: Payments: EU"),
        at="description:",
    ),
    Bad(
        "YAML syntax: tab indentation",
        where="channels.yaml:{line}",
        hint="spaces",
        config=replace("  ops-slack:\n", "\tops-slack:\n"),
        at="\tops-slack",
    ),
    Bad(
        "typo'd top-level key",
        where="channels.yaml:{line}",
        hint="'timezone'",
        config=replace("timezone: UTC", "timezon: UTC"),
        at="timezon:",
    ),
    Bad(
        "typo'd channel key",
        where="channels.yaml:{line}: channels.ops-slack.tokne",
        hint="did you mean 'token'?",
        config=add_to("ops-slack", "tokne: xoxb-1"),
        at="tokne",
    ),
    Bad(
        "wrong type: concurrency",
        where="channels.yaml:{line}: channels.ops-slack.concurrency",
        hint="write it like concurrency: ",
        config=add_to("ops-slack", "concurrency: lots"),
        at="concurrency",
    ),
    Bad(
        "wrong type: port",
        where="channels.yaml:{line}: channels.status-email.port",
        hint="write it like port: ",
        config=resub(r"port: \d+", "port: smtp"),
        at="port: smtp",
    ),
    Bad(
        "wrong type: timeout",
        where="channels.yaml:{line}: channels.ops-slack.timeout",
        hint="write it like timeout: ",
        config=add_to("ops-slack", "timeout: soon"),
        at="timeout",
    ),
    Bad(
        "wrong type: enabled",
        where="channels.yaml:{line}: channels.it-teams.enabled",
        hint="true or false",
        config=add_to("it-teams", "enabled: maybe"),
        at="enabled",
    ),
    Bad(
        "missing ${VAR}",
        where="channels.yaml:{line}",
        hint="NOTIFY_TEST_UNSET_TOKEN",
        config=chain(
            drop("token:", "ops-slack"), add_to("ops-slack", "token: ${NOTIFY_TEST_UNSET_TOKEN}")
        ),
        at="${NOTIFY_TEST_UNSET_TOKEN}",
    ),
    Bad(
        "missing field: slack channel",
        where="channels.ops-slack",
        hint="channel:",
        config=drop("channel:", "ops-slack"),
    ),
    Bad(
        "missing field: telegram chat_id",
        where="channels.status-telegram",
        hint="chat_id",
        config=drop("chat_id:", "status-telegram"),
    ),
    Bad(
        "missing field: x access_token_secret",
        where="channels.x",
        hint="access_token_secret",
        config=drop("access_token_secret:", "x"),
    ),
    Bad(
        "missing field: sms from",
        where="channels.customers-sms",
        hint="messaging_service_sid",
        config=drop("from:", "customers-sms"),
    ),
    Bad(
        "missing field: webhook url",
        where="channels.status-webhook",
        hint="url",
        config=drop("url:", "status-webhook"),
    ),
    Bad(
        "missing field: email host",
        where="channels.status-email",
        hint="host",
        config=drop("host:", "status-email"),
    ),
    Bad(
        "bad rate_limit: words",
        where="channels.yaml:{line}: channels.ops-slack.rate_limit",
        hint="10/s",
        config=add_to("ops-slack", "rate_limit: fast"),
        at="rate_limit: fast",
    ),
    Bad(
        "bad rate_limit: unknown period",
        where="channels.yaml:{line}: channels.customers-sms.rate_limit",
        hint="/min",
        config=replace("rate_limit: 10/s", "rate_limit: 10/week"),
        at="rate_limit: 10/week",
    ),
    Bad(
        "unknown fallback",
        where="channels.yaml:{line}: channels.ops-slack.fallback",
        hint="it-teams",
        config=add_to("ops-slack", "fallback: it-team"),
        at="fallback",
    ),
    Bad(
        "fallback cycle",
        where="channels.yaml:",
        hint="fallback",
        config=chain(
            add_to("ops-slack", "fallback: it-teams"), add_to("it-teams", "fallback: ops-slack")
        ),
    ),
    Bad(
        "unknown group member",
        where="channels.yaml:{line}: groups.internal",
        hint="ops-slack",
        config=replace("[status-email, ops-slack, it-teams]", "[status-email, ops-slak, it-teams]"),
        at="internal:",
    ),
    Bad(
        "unknown channel type",
        where="channels.yaml:{line}: channels.it-teams.type",
        hint="notify channels --types",
        config=replace("type: teams", "type: pager"),
        at="type: pager",
    ),
    Bad(
        "invalid phone number in to",
        where="channels.yaml:{line}: channels.customers-sms.to",
        hint="+14155550100",
        config=replace('"+442071838750"', '"555-0100"'),
        at="555-0100",
    ),
    Bad(
        "invalid email address in to",
        where="channels.yaml:{line}: channels.status-email.to",
        hint="name@example.com",
        config=replace("cto@acme.example", "cto.acme.example"),
        at="cto.acme.example",
    ),
    Bad(
        "bad security",
        where="channels.yaml:{line}: channels.status-email.security",
        hint="starttls",
        config=replace("security: none", "security: ssl"),
        at="security: ssl",
    ),
    Bad(
        "bad mastodon visibility",
        where="channels.yaml:{line}: channels.mastodon.visibility",
        hint="public",
        config=replace("visibility: public", "visibility: shouting"),
        at="visibility: shouting",
    ),
    Bad(
        "bad overflow",
        where="channels.yaml:{line}: channels.x.overflow",
        hint="truncate",
        config=add_to("x", "overflow: cut"),
        at="overflow",
    ),
    Bad(
        "bad timezone",
        where="channels.yaml:{line}: timezone",
        hint="Europe/",
        config=replace("timezone: UTC", "timezone: Mars/Olympus"),
        at="timezone",
    ),
    Bad(
        "unsupported version",
        where="channels.yaml:1",
        hint="version: 1",
        config=replace("version: 1", "version: 2"),
    ),
    Bad(
        "templates folder missing",
        where="channels.yaml:{line}: templates",
        hint="create it",
        config=replace("timezone: UTC\n", "timezone: UTC\ntemplates: tempaltes\n"),
        at="templates:",
    ),
    Bad(
        "non-UTF-8 channels.yaml",
        where="channels.yaml:3",
        hint="UTF-8",
        config=replace("name: Acme Cloud", "name: Acme Cl\udcffoud"),
    ),
]

TEMPLATE_CASES = [
    Bad(
        "template syntax error",
        where="templates/broken.j2:5",
        hint="}}",
        args=BROKEN,
        config=TEMPLATES,
        files=template(
            GOOD_TEMPLATE.replace(
                "{{ update.message }}{% endblock %}\n{% block body",
                "{{ update.message }{% endblock %}\n{% block body",
            )
        ),
    ),
    Bad(
        "undefined variable",
        where="templates/broken.j2:5",
        hint="--set",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}:", "{{ vars.eta }}:")),
    ),
    Bad(
        "unknown filter",
        where="templates/broken.j2",
        hint="filter",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}", "{{ org.name | shout }}")),
    ),
    Bad(
        "front matter not YAML",
        where="templates/broken.j2:2",
        hint="`key: value`",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("status: investigating", "status: [investigating")),
    ),
    Bad(
        "template not UTF-8",
        where="templates/broken.j2",
        hint="UTF-8",
        args=BROKEN,
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.encode().replace(b"org.name }}:", b"org.name }}\xff:")),
    ),
    Bad(
        "unknown template name",
        where="investigatng",
        hint="investigating",
        args=("send", "investigatng", "--title", "Checkout errors", "--message", "Errors."),
    ),
]

OPTION_CASES = [
    Bad(
        "--set without =",
        where="--set 'novalue'",
        hint="KEY=VALUE",
        args=(*SEND, "--set", "novalue"),
    ),
    Bad("--set bad key", where="--set '1x=2'", hint="letters", args=(*SEND, "--set", "1x=2")),
    Bad(
        "--vars not YAML",
        where="vars.yaml:2",
        hint="Fix the YAML",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"eta: soon\nworkaround: [phone\n"},
    ),
    Bad(
        "--vars not a mapping",
        where="vars.yaml:1",
        hint="workaround: ",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"- eta\n- soon\n"},
    ),
    Bad(
        "--vars not UTF-8",
        where="vars.yaml",
        hint="UTF-8",
        args=(*SEND, "--vars", "vars.yaml"),
        files={"vars.yaml": b"eta: \xff\n"},
    ),
    Bad("--vars missing", where="nope.yaml", hint="path", args=(*SEND, "--vars", "nope.yaml")),
    Bad(
        "--impact huge", where="--impact 'huge'", hint="critical", args=(*SEND, "--impact", "huge")
    ),
    Bad(
        "--next-update soon",
        where="--next-update 'soon'",
        hint="30m",
        args=(*SEND, "--next-update", "soon"),
    ),
    Bad(
        "--incident with spaces",
        where="--incident 'bad id!'",
        hint="letters, digits",
        args=(*SEND, "--incident", "bad id!"),
    ),
    Bad(
        "--to unknown channel",
        where="--to 'unknown-channel'",
        hint="Configured:",
        args=(*SEND, "--to", "unknown-channel"),
    ),
    Bad(
        "--message-file missing",
        where="update.txt",
        hint="path",
        args=("send", "investigating", "--title", "T", "--message-file", "update.txt"),
    ),
    Bad(
        "--message-file not UTF-8",
        where="update.txt:2",
        hint="UTF-8",
        args=("send", "investigating", "--title", "T", "--message-file", "update.txt"),
        files={"update.txt": b"Checkout errors.\nWe\x92re on it.\n"},
    ),
    Bad(
        "--message and --message-file",
        where="--message",
        hint="one of them",
        args=(*SEND, "--message-file", "update.txt"),
        files={"update.txt": b"Checkout errors.\n"},
    ),
    Bad(
        "new incident without --title",
        where="--title",
        hint='--title "',
        args=("send", "investigating", "--message", "Errors."),
    ),
    Bad("empty --key", where="--key", hint="non-empty", args=(*SEND, "--key", " ")),
    Bad(
        "unknown option",
        where="--titel",
        hint="--help",
        args=("send", "investigating", "--titel", "T"),
    ),
    Bad("missing TEMPLATE", where="TEMPLATE", hint="--help", args=("send",)),
    Bad(
        "--config file missing",
        where="missing.yaml",
        hint="notify init",
        args=("--config", "missing.yaml", *SEND),
    ),
]

LENGTH_CASES = [
    Bad(
        "SMS over max_segments",
        where="channel 'customers-sms'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:400], "--to", "customers-sms"),
        config=add_to("customers-sms", "max_segments: 1"),
    ),
    Bad(
        "X over 280",
        where="channel 'x'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:300], "--to", "x"),
    ),
    Bad(
        "Bluesky over 300 graphemes",
        where="channel 'bluesky'",
        hint="overflow: truncate",
        # Emoji families: one grapheme each but many code points; 310 of them are over 300.
        args=(*SEND[:-1], "👩‍👩‍👧‍👦" * 310, "--to", "bluesky"),
    ),
    Bad(
        "Mastodon over 500",
        where="channel 'mastodon'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG[:520], "--to", "mastodon"),
    ),
    Bad(
        "Discord over 2000",
        where="channel 'community-discord'",
        hint="overflow: truncate",
        args=(*SEND[:-1], LONG * 4, "--to", "community-discord"),
    ),
]

CASES = CONFIG_CASES + TEMPLATE_CASES + OPTION_CASES + LENGTH_CASES


def test_there_are_at_least_35_distinct_bad_inputs() -> None:
    assert len({case.name for case in CASES}) == len(CASES) >= 35


def make_mistake(ws: Workspace, case: Bad, monkeypatch: pytest.MonkeyPatch) -> str:
    """Apply the case to the workspace; return the edited config text."""
    monkeypatch.chdir(ws.path)  # relative paths in args (vars.yaml, update.txt) are the user's
    text = ws.config.read_text(encoding="utf-8")
    if case.config is not None:
        text = case.config(text)
    ws.config.write_bytes(text.encode("utf-8", "surrogateescape"))
    for name, data in case.files.items():
        path = ws.path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return text


def assert_refused(ws: Workspace, result: CliResult, *, where: str, hint: str) -> None:
    """Exit 2, one line naming where and how to fix, no traceback, nothing sent or recorded."""
    assert result.code == ExitCode.INVALID_INPUT, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert where in lines[0], lines[0]
    assert hint in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert result.stdout == ""
    assert not ws.journal.exists()
    assert ws.sandbox.requests() == []
    assert ws.sandbox.emails() == []


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_each_bad_input_is_one_line_exit_2_and_nothing_happens(
    workspace: Workspace, case: Bad, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = make_mistake(workspace, case, monkeypatch)
    where = case.where
    if case.at is not None:
        where = where.replace("{line}", str(line_of(text, case.at)))
    result = invoke(["--config", "channels.yaml", *case.args, "--yes"])
    assert_refused(workspace, result, where=where, hint=case.hint)


IN_A_PROCESS = [
    "non-UTF-8 channels.yaml",
    "missing ${VAR}",
    "unknown filter",
    "--vars not YAML",
    "--impact huge",
    "unknown option",
    "X over 280",
]


@pytest.mark.parametrize("name", IN_A_PROCESS)
def test_in_a_real_process_too_no_traceback(
    workspace: Workspace, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`python -m notify` as cron runs it: the same one line, and no traceback from anywhere."""
    case = next(c for c in CASES if c.name == name)
    make_mistake(workspace, case, monkeypatch)
    result = invoke_process(["--config", "channels.yaml", *case.args, "--yes"], cwd=workspace.path)
    assert_refused(workspace, result, where=case.where.split("{line}")[0], hint=case.hint)


def journal_counts(ws: Workspace) -> tuple[int, int]:
    with sqlite3.connect(ws.journal) as db:
        updates = db.execute("select count(*) from updates").fetchone()[0]
        deliveries = db.execute("select count(*) from deliveries").fetchone()[0]
    return updates, deliveries


def test_preflight_failing_on_one_channel_sends_nothing_on_the_others(
    workspace: Workspace,
) -> None:
    # The first update goes out on every channel.
    first = workspace.run(*SEND, "--yes", "--json")
    assert first.code == ExitCode.OK, first.output
    incident = first.json()["incident"]["id"]
    sent_requests = len(workspace.sandbox.requests())
    sent_emails = len(workspace.sandbox.emails())
    recorded = journal_counts(workspace)

    # Then the SMS channel is held to one segment, and the next update is two segments long:
    # fine for Slack, email, X and the rest, too long for SMS.
    text = workspace.config.read_text(encoding="utf-8")
    workspace.write_config(add_to("customers-sms", "max_segments: 1")(text))
    message = "The database failover finished; payments are recovering and we are watching."
    result = workspace.run(
        "send", "identified", "--incident", incident, "--message", message * 2, "--yes"
    )

    assert result.code == ExitCode.INVALID_INPUT, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "channel 'customers-sms'" in lines[0], result.stderr
    assert "overflow: truncate" in lines[0]
    # Not one request reached any provider, and the journal holds only the first update.
    assert len(workspace.sandbox.requests()) == sent_requests
    assert len(workspace.sandbox.emails()) == sent_emails
    assert journal_counts(workspace) == recorded

    # The same update, shortened, goes out everywhere as update 2.
    fixed = workspace.run(
        "send",
        "identified",
        "--incident",
        incident,
        "--message",
        "Failover done.",
        "--yes",
        "--json",
    )
    assert fixed.code == ExitCode.OK, fixed.output
    assert fixed.json()["update"]["number"] == 2


def test_notify_filters_outside_an_if_are_not_taken_for_typos(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`| time` is notify's own filter: only a name Jinja and notify both lack is an error."""
    case = Bad(
        "fine",
        where="",
        hint="",
        config=TEMPLATES,
        files=template(GOOD_TEMPLATE.replace("{{ org.name }}:", "{{ now | time }}:")),
    )
    make_mistake(workspace, case, monkeypatch)
    result = workspace.run(*BROKEN, "--to", "customers-sms", "--yes", "--json")
    assert result.code == ExitCode.OK, result.output
    assert len(workspace.sandbox.requests("twilio")) == 2
