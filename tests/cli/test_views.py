"""The rich views as a person reads them: plan table, results table, preview panels, summary."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from notify.cli.views import (
    plan_table,
    preview_headline,
    preview_panels,
    result_line,
    results_table,
    summary_line,
)
from notify.config import load_config_text
from notify.delivery.dispatch import Outcome
from notify.delivery.inputs import UpdateRequest
from notify.delivery.preflight import CheckedUpdate, preflight
from notify.render.templates import TemplateSet

INCIDENT = "2026-12-06-checkout-errors-for-eu-customers"
TITLE = "Checkout errors for EU customers"

CONFIG = """\
version: 1
organization:
  name: Acme Cloud
  status_url: https://status.acme.example
timezone: UTC
channels:
  status-email:
    type: email
    host: smtp.acme.example
    username: status@acme.example
    password: not-a-real-password
    from: "Acme Status <status@acme.example>"
    to: [oncall@acme.example, cto@acme.example]
  customers-sms:
    type: sms
    account_sid: AC00000000000000000000000000000000
    auth_token: not-a-real-token
    from: "+15005550006"
    to: ["+14155550100", "+442071838750"]
    fallback: status-email
  ops-slack:
    type: slack
    token: xoxb-not-a-real-token
    channel: C0123456789
  status-webhook:
    type: webhook
    url: https://hooks.acme.example/notify
"""

# What providers answer, as long as they really are: a Twilio SID is 34 characters.
OUTCOMES = [
    Outcome(1, "status-email", "email", "oncall@acme.example", "sent", 1, "<n.1.1@acme.example>"),
    Outcome(2, "status-email", "email", "cto@acme.example", "sent", 1, "<n.1.2@acme.example>"),
    Outcome(3, "customers-sms", "sms", "+14155550100", "sent", 1, "SM" + "0123456789abcdef" * 2),
    Outcome(
        4,
        "customers-sms",
        "sms",
        "+442071838750",
        "failed",
        3,
        None,
        "twilio answered 400: The 'To' number is not a valid phone number (code 21211)",
        rescued_by=7,
    ),
    Outcome(5, "ops-slack", "slack", "C0123456789", "unknown", 1, None, "timed out after 10 s"),
    Outcome(6, "status-webhook", "webhook", "https://hooks.acme.example", "skipped", 0),
    Outcome(
        7,
        "status-email",
        "email",
        "oncall@acme.example",
        "sent",
        1,
        "<n.1.7@acme.example>",
        fallback_for=4,
    ),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> CheckedUpdate:
    folder = tmp_path_factory.mktemp("views")
    config = load_config_text(CONFIG, name="channels.yaml", base_dir=folder, env={})
    templates = TemplateSet.load(config.template_dirs, timezone=config.timezone)
    request = UpdateRequest(
        template="investigating",
        incident=INCIDENT,
        title=TITLE,
        message="We are seeing errors at checkout.",
        dry_run=True,
    )
    return preflight(request, config, templates, None)


def render(*renderables: object, width: int = 80, terminal: bool = True) -> str:
    """What the renderables print on a console `width` columns wide."""
    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=terminal,
        no_color=not terminal,
        color_system="truecolor" if terminal else None,
        highlight=False,
        soft_wrap=False,
    )
    for renderable in renderables:
        console.print(renderable)
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def plain(text: str) -> str:
    """`text` without its ANSI colour codes: what a person reads."""
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def rows(text: str) -> list[list[str]]:
    """A borderless table's lines split into stripped cells."""
    return [[cell.strip() for cell in line.split("│")] for line in text.splitlines() if "│" in line]


def records(text: str, joiner: str = " ") -> list[list[str]]:
    """A borderless table's rows, each cell with the lines it wrapped onto joined again."""
    merged: list[list[str]] = []
    for row in rows(text):
        if row[0] or not merged:
            merged.append(row)
        else:  # a continuation line: the first column is short enough never to wrap
            merged[-1] = [
                joiner.join(filter(None, pair)) for pair in zip(merged[-1], row, strict=True)
            ]
    return merged


@pytest.mark.parametrize("width", [60, 80])
def test_plan_table_names_the_incident_and_every_channel(
    prepared: CheckedUpdate, width: int
) -> None:
    text = plain(render(plan_table(prepared), width=width))
    assert "…" not in text
    assert text.splitlines()[0].startswith(f"{INCIDENT} — ")
    words = " ".join(text.split())
    assert f"{INCIDENT} — {TITLE} [investigating] (new incident)" in words
    table = {row[0]: row for row in records(text)}
    assert set(table) == {"status-email", "customers-sms", "ops-slack", "status-webhook"}
    assert table["status-email"][1:3] == ["email", "2"]
    assert table["customers-sms"][1:3] == ["sms", "2"]
    # The length's words wrap (on 60 columns, fold): every character is still there.
    length, expected = table["customers-sms"][3], "1/4 segments (encoding GSM-7, characters 127)"
    assert length == expected or (
        width < 80 and length.replace(" ", "") == expected.replace(" ", "")
    )
    assert "".join(table["ops-slack"][3].split()).endswith("characters")


def test_plan_table_says_what_tags_selected(prepared: CheckedUpdate) -> None:
    from dataclasses import replace

    from notify.delivery.selection import TagSelection

    tagged = replace(
        prepared,
        draft=replace(prepared.draft, request=replace(prepared.draft.request, tags=["eu"])),
        tagged={
            "customers-sms": TagSelection("sms", 1, 2),
            "customers-mail": TagSelection("email", 0, 3),
        },
    )
    text = plain(render(plan_table(tagged)))
    assert "only recipients tagged eu (email, SMS)" in text
    table = {row[0]: row for row in rows(text) if row[0]}
    assert table["customers-sms"][2] == "1 of 2"
    assert table["customers-mail"][1:3] == ["email", "0 of 3"]  # a row even with nobody left


@pytest.mark.parametrize("width", [80, 120])
def test_results_table_keeps_channels_and_statuses_whole(width: int) -> None:
    text = plain(render(results_table(OUTCOMES), width=width))
    assert "…" not in text  # folded where it must be, never cut short
    table = [row for row in rows(text) if row[0]]
    assert [row[0] for row in table] == [o.channel for o in OUTCOMES]
    assert [row[2] for row in table] == [
        "sent",
        "sent",
        "sent",
        "failed (rescued)",
        "unknown",
        "skipped",
        "sent (fallback)",
    ]
    assert [row[3] for row in table] == [str(o.attempts) for o in OUTCOMES]


def test_results_table_shows_ids_and_errors_whole_on_a_wide_terminal() -> None:
    table = rows(plain(render(results_table(OUTCOMES), width=200)))
    assert [(row[0], row[1], row[4], row[5]) for row in table] == [
        (o.channel, o.recipient, o.provider_message_id or "", o.error or "") for o in OUTCOMES
    ]


def test_results_table_folds_long_cells_without_losing_a_character() -> None:
    """On 80 columns a 34-character SID does not fit beside the rest: it folds, and its pieces
    read down the column are the whole id; so are addresses, and the errors' words."""
    text = plain(render(results_table(OUTCOMES), width=80))
    assert "…" not in text
    folded = records(text, joiner="")
    assert [(row[1], row[4]) for row in folded] == [
        (o.recipient, o.provider_message_id or "") for o in OUTCOMES
    ]
    wrapped = records(text, joiner=" ")
    assert [row[5] for row in wrapped] == [o.error or "" for o in OUTCOMES]


def test_results_table_beyond_its_limit_lists_what_did_not_go_out() -> None:
    many = [
        Outcome(n, "customers-sms", "sms", f"+1415555{n:04d}", "sent", 1, f"SM{n}")
        for n in range(300)
    ]
    many[150] = Outcome(150, "customers-sms", "sms", "+14155550150", "failed", 3, None, "boom")
    table = [row for row in rows(plain(render(results_table(many), width=120))) if row[0]]
    assert [(row[1], row[2]) for row in table] == [("+14155550150", "failed")]


def test_summary_line_counts_each_status() -> None:
    assert summary_line(OUTCOMES) == "4 sent, 1 failed, 1 skipped, 1 unknown"
    assert summary_line([]) == "nothing to deliver"


def test_result_line_names_the_incident_and_update(prepared: CheckedUpdate) -> None:
    from notify.delivery.service import UpdateResult

    line = result_line(UpdateResult(prepared, 3, OUTCOMES))
    assert line == f"{INCIDENT} update 3: 4 sent, 1 failed, 1 skipped, 1 unknown"
    assert plain(render(line, width=120)).strip() == line  # printed as markup, reads the same


def test_preview_headline_says_which_update(prepared: CheckedUpdate) -> None:
    text = plain(render(preview_headline(prepared), width=120))
    assert text.strip() == f"{INCIDENT} — {TITLE} · investigating (new incident)"


def test_preview_panels_one_per_channel_with_whole_titles(prepared: CheckedUpdate) -> None:
    text = plain(render(*preview_panels(prepared)))
    titles = [line for line in text.splitlines() if line.startswith("╭─ ")]
    assert [t.split(" · ")[0].removeprefix("╭─ ") for t in titles] == [
        "status-email",
        "customers-sms",
        "ops-slack",
        "status-webhook",
    ]
    assert "status-email · email → oncall@acme.example (+1 more)" in titles[0]
    assert "customers-sms · sms → +14155550100 (+1 more)" in titles[1]
    # Email and webhook show the subject they carry; Slack's message has none.
    sections = text.split("╭─ ")
    assert f"Subject: [Acme Cloud] {TITLE}" in sections[1]
    assert "Subject:" not in sections[3]
    assert "We are seeing errors at checkout." in sections[3]
    # Each panel's subtitle says how long its message is as the channel counts it.
    assert "segments" in sections[2] and "characters" in sections[3]
    # Email counts its HTML part's bytes against the 102 KB at which Gmail clips a message.
    assert "/104448 bytes (part html)" in sections[1]


def test_views_without_a_terminal_carry_no_colour_codes(prepared: CheckedUpdate) -> None:
    """NO_COLOR, a pipe or a CI log: the same words, no escape codes."""
    coloured = render(plan_table(prepared), results_table(OUTCOMES), *preview_panels(prepared))
    bare = render(
        plan_table(prepared), results_table(OUTCOMES), *preview_panels(prepared), terminal=False
    )
    assert "\x1b[" in coloured
    assert "\x1b[" not in bare
    assert plain(coloured) == bare


def test_no_color_environment_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    console = Console(file=io.StringIO(), width=80, force_terminal=True)
    console.print(results_table(OUTCOMES))
    assert isinstance(console.file, io.StringIO)
    text = console.file.getvalue()
    assert "\x1b[3" not in text  # no foreground colours (bold and dim may stay)
    assert "failed (rescued)" in plain(text)


def test_user_text_with_brackets_is_printed_as_written() -> None:
    outcome = Outcome(1, "ops[eu]", "slack", "[bold]C01[/]", "failed", 1, None, "bad [red]x[/]")
    text = plain(render(results_table([outcome]), width=120))
    assert "ops[eu]" in text and "[bold]C01[/]" in text and "bad [red]x[/]" in text
