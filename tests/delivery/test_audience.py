"""Customer lists as a comms lead uses them: a CSV or YAML audience behind `to:`, invalid rows,
`skip_invalid`, segments with --tag, opt-outs, and per-recipient locales, checked against what
the sandbox's Twilio and SMTP server received."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from notify.sandbox.credentials import Credentials
from tests.conftest import Workspace

TITLE = "Checkout errors"


def sms_channel(ws: Workspace, to: str = "customers.csv", extra: str = "") -> str:
    c = Credentials()
    return f"""
  customers-sms:
    type: sms
    base_url: {ws.sandbox.base_url("twilio")}
    account_sid: {c.twilio_account_sid}
    auth_token: {c.twilio_auth_token}
    from: "+15005550006"
    to: {to}
{extra}"""


def email_channel(ws: Workspace, to: str = "subscribers.csv", extra: str = "") -> str:
    c = Credentials()
    return f"""
  status-email:
    type: email
    host: {ws.sandbox.smtp_host}
    port: {ws.sandbox.smtp_port}
    security: none
    username: {c.smtp_username}
    password: {c.smtp_password}
    from: "Acme Status <status@acme.example>"
    to: {to}
{extra}"""


def configure(ws: Workspace, *channels: str, templates: bool = False) -> None:
    folder = "templates: templates\n" if templates else ""
    ws.write_config(
        "version: 1\n"
        "organization: {name: Acme Cloud, status_url: https://status.acme.example}\n"
        f"journal: .notify/journal.db\n{folder}channels:" + "".join(channels)
    )


def write(ws: Workspace, name: str, text: str | bytes) -> Path:
    path = ws.path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def send(ws: Workspace, *extra: str, code: int = 0) -> Any:
    result = ws.run(
        "send", "investigating", "--title", TITLE, "--message", "Card payments fail.", *extra
    )
    assert result.code == code, result.output
    return result


def texts_by_number(ws: Workspace) -> dict[str, list[str]]:
    received: dict[str, list[str]] = {}
    for post in ws.sandbox.posts("twilio"):
        received.setdefault(post["to"], []).append(post["body"])
    return received


SEGMENTED = """\
phone,name,locale,tags
+14155550100,Ann,en,eu;vip
+14155550101,Bob,de,eu
+14155550102,Cy,en,us
+14155550103,Di,de,us| eu
+14155550104,Ed,en,
"""


# --- reading a customer list ----------------------------------------------------------------------


def test_every_row_gets_one_sms_with_its_own_columns(workspace: Workspace) -> None:
    # Headers in any case with spaces, a BOM from Excel, national numbers with a default region,
    # and the same person twice in different spellings.
    write(
        workspace,
        "customers.csv",
        "\ufeff Phone ,Name,Plan\n"
        "(415) 555-0100,Ann,pro\n"
        "+1 415 555 0101,Bob,free\n"
        "\n"
        "+14155550100,Ann again,pro\n"
        "415.555.0102,Cy,pro\n",
    )
    write(
        workspace,
        "templates/investigating.j2",
        "---\nstatus: investigating\n---\n"
        "{% block short %}Hi {{ recipient.name }} ({{ recipient.plan }}): "
        "{{ update.message }}{% endblock %}\n"
        "{% block body %}{{ update.message }}{% endblock %}\n",
    )
    configure(workspace, sms_channel(workspace, extra="    default_region: US\n"), templates=True)

    document = send(workspace, "--yes", "--json").json()

    assert document["totals"]["sent"] == 3 and document["skipped_rows"] == []
    assert texts_by_number(workspace) == {
        "+14155550100": ["Hi Ann (pro): Card payments fail."],  # first row wins
        "+14155550101": ["Hi Bob (free): Card payments fail."],
        "+14155550102": ["Hi Cy (pro): Card payments fail."],
    }


def test_an_invalid_row_stops_everything_naming_file_row_and_column(
    workspace: Workspace,
) -> None:
    write(workspace, "customers.csv", "phone,name\n+14155550100,Ann\n+1 415 555,Bob\n")
    configure(workspace, sms_channel(workspace))

    result = send(workspace, "--yes", code=2)

    (line,) = result.stderr.strip().splitlines()
    assert "customers.csv: row 3, column phone: '+1 415 555' is not a valid phone number" in line
    assert "skip_invalid: true" in line
    assert workspace.sandbox.posts("twilio") == []
    assert not workspace.journal.exists()


def test_check_lists_every_invalid_row(workspace: Workspace) -> None:
    write(
        workspace,
        "customers.csv",
        "phone,name,locale\n+14155550100,Ann,en\nnot a number,Bob,en\n+14155550101,Cy,e!\n",
    )
    configure(workspace, sms_channel(workspace))

    result = workspace.run("check")

    assert result.code == 2
    assert "customers.csv: row 3, column phone: 'not a number'" in result.stderr
    assert "customers.csv: row 4, column locale: 'e!' is not a locale" in result.stderr


def test_skip_invalid_sends_to_the_valid_rows_and_says_what_it_left_out(
    workspace: Workspace,
) -> None:
    write(
        workspace,
        "customers.csv",
        "phone,name\n+14155550100,Ann\n+1 415 555,Bob\n+14155550101,Cy\n,Dee\n+14155550102,Ed\n",
    )
    configure(workspace, sms_channel(workspace, extra="    skip_invalid: true\n"))

    checked = workspace.run("check", "--json")
    assert checked.code == 0, checked.output
    (recipients,) = [c for c in checked.json()["checks"] if c["check"] == "recipients"]
    audience = workspace.path / "customers.csv"  # named as the config's folder is
    assert recipients["detail"] == (
        f"3 valid recipient(s); skipped 2 invalid rows in {audience} (rows 3, 5)"
    )

    preview = workspace.run("preview", "investigating", "--title", TITLE)
    note = " ".join(preview.stderr.split())  # rich wraps it at the terminal's width
    assert f"skipped 2 invalid rows in {audience} (rows 3, 5)" in note

    document = send(workspace, "--yes", "--json").json()
    assert sorted(texts_by_number(workspace)) == ["+14155550100", "+14155550101", "+14155550102"]
    assert [(s["row"], s["column"]) for s in document["skipped_rows"]] == [
        (3, "phone"),
        (5, "phone"),
    ]
    assert document["skipped_rows"][0]["channel"] == "customers-sms"
    assert "not a valid phone number" in document["skipped_rows"][0]["error"]


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "name,email\nAnn,ann@example.com\n",
            "customers.csv: row 1: no phone column (columns found: name, email)",
        ),
        (b"phone,name\n+14155550100,Ann\n+14155550101,Ren\xe9\n", "row 3, column name: byte 0xe9"),
        ("phone,name\n+14155550100,Smith, Ann\n", "row 2: 3 values but the header names 2"),
        ("", "row 1: the first row must name the columns"),
        ("phone,Phone\n", "column 'phone' appears twice"),
    ],
)
def test_a_malformed_file_is_explained(workspace: Workspace, content: Any, words: str) -> None:
    write(workspace, "customers.csv", content)
    configure(workspace, sms_channel(workspace))

    result = send(workspace, "--yes", code=2)

    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert workspace.sandbox.posts("twilio") == []


def test_a_missing_file_points_at_the_config_line(workspace: Workspace) -> None:
    configure(workspace, sms_channel(workspace, to="customer.csv"))

    result = send(workspace, "--yes", code=2)

    assert "channels.yaml:" in result.stderr and "channels.customers-sms.to" in result.stderr
    assert "audience file 'customer.csv' not found" in result.stderr


def test_a_yaml_audience_is_a_list_of_mappings(workspace: Workspace) -> None:
    write(
        workspace,
        "customers.yaml",
        '- phone: "+14155550100"\n  name: Ann\n  tags: [eu, vip]\n'
        '- {phone: "+14155550101", name: Bob, tags: "us; beta"}\n',
    )
    configure(workspace, sms_channel(workspace, to="customers.yaml"))

    send(workspace, "--yes", "--tag", "beta")

    assert list(texts_by_number(workspace)) == ["+14155550101"]


def test_an_unquoted_yaml_number_is_an_error_at_its_item(workspace: Workspace) -> None:
    write(workspace, "customers.yaml", '- phone: "+14155550100"\n- phone: +14155550101\n')
    configure(workspace, sms_channel(workspace, to="customers.yaml"))

    result = send(workspace, "--yes", code=2)

    assert "customers.yaml: item 2 (line 2), column phone: expected text" in result.stderr
    assert 'Quote it: "+14155550101"' in result.stderr


def test_an_email_audience_reaches_each_address_once(workspace: Workspace) -> None:
    write(
        workspace,
        "subscribers.csv",
        "email,name\nann@example.com,Ann\nANN@example.com,Ann\nbob@example.com,Bob\n",
    )
    configure(workspace, email_channel(workspace))

    send(workspace, "--yes")

    assert sorted(str(m["To"]) for m in workspace.sandbox.emails()) == [
        "Ann <ann@example.com>",
        "Bob <bob@example.com>",
    ]


def test_an_invalid_email_row_is_skipped_when_asked(workspace: Workspace) -> None:
    write(workspace, "subscribers.csv", "email\nann@example.com\nbob@@example\n")
    configure(workspace, email_channel(workspace, extra="    skip_invalid: true\n"))

    document = send(workspace, "--yes", "--json").json()

    assert [str(m["To"]) for m in workspace.sandbox.emails()] == ["ann@example.com"]
    assert document["skipped_rows"][0]["row"] == 3
    assert "not a valid email address" in document["skipped_rows"][0]["error"]


# --- segments and opt-outs --------------------------------------------------------------------


def test_tags_suppression_and_the_plan_end_to_end(workspace: Workspace) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    configure(workspace, sms_channel(workspace))
    assert workspace.run("suppress", "add", "+14155550101").code == 0

    plan = send(workspace, "--tag", "EU", "--dry-run")
    assert "only recipients tagged EU" in plan.stdout
    assert "3 of 5" in plan.stdout  # Ann, Bob and Di carry eu; Bob opted out

    document = send(workspace, "--tag", "eu", "--yes", "--json").json()

    assert Counter(p["to"] for p in workspace.sandbox.posts("twilio")) == {
        "+14155550100": 1,
        "+14155550103": 1,
    }
    assert document["totals"] == {"sent": 2, "failed": 0, "skipped": 1, "pending": 0, "unknown": 0}
    (skipped,) = [d for d in document["deliveries"] if d["status"] == "skipped"]
    assert skipped["recipient"] == "+14155550101" and "suppressed" in skipped["error"]


def test_several_tags_select_recipients_with_any_of_them(workspace: Workspace) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    configure(workspace, sms_channel(workspace))

    send(workspace, "--tag", "vip", "--tag", "us", "--yes")

    assert sorted(texts_by_number(workspace)) == ["+14155550100", "+14155550102", "+14155550103"]


def test_a_tag_nobody_has_is_an_error_listing_the_tags(workspace: Workspace) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    configure(workspace, sms_channel(workspace))

    result = send(workspace, "--tag", "europe", "--yes", code=2)

    assert "--tag europe matches no recipient" in result.stderr
    assert "Tags in use: eu, us, vip" in result.stderr
    assert workspace.sandbox.posts("twilio") == []


# --- locales ------------------------------------------------------------------------------------

GERMAN = (
    "{% block short %}{{ org.name }}: Wir untersuchen {{ incident.title }}. "
    "{{ update.message }}{% endblock %}\n"
)


def test_each_recipient_gets_the_template_of_their_locale(workspace: Workspace) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    write(workspace, "templates/de/investigating.j2", GERMAN)
    configure(workspace, sms_channel(workspace), templates=True)

    send(workspace, "--yes")

    received = texts_by_number(workspace)
    german = "Acme Cloud: Wir untersuchen Checkout errors. Card payments fail."
    assert received["+14155550101"] == [german] and received["+14155550103"] == [german]
    for number in ("+14155550100", "+14155550102", "+14155550104"):
        (text,) = received[number]
        assert text.startswith("Acme Cloud: We're investigating Checkout errors.")


def test_preview_shows_one_locale(workspace: Workspace) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    write(workspace, "templates/de/investigating.j2", GERMAN)
    configure(workspace, sms_channel(workspace), templates=True)

    shown = workspace.run("preview", "investigating", "--title", TITLE, "--locale", "de", "--json")

    assert shown.code == 0, shown.output
    texts = {d["rendered"]["text"] for d in shown.json()["deliveries"]}
    assert texts == {"Acme Cloud: Wir untersuchen Checkout errors."}


def test_a_template_that_reads_recipient_is_rendered_per_recipient_in_their_locale(
    workspace: Workspace,
) -> None:
    write(workspace, "customers.csv", SEGMENTED)
    write(
        workspace,
        "templates/de/investigating.j2",
        "{% block short %}Hallo {{ recipient.name }}: {{ update.message }}{% endblock %}\n",
    )
    configure(workspace, sms_channel(workspace), templates=True)

    send(workspace, "--yes")

    received = texts_by_number(workspace)
    assert received["+14155550101"] == ["Hallo Bob: Card payments fail."]
    assert received["+14155550103"] == ["Hallo Di: Card payments fail."]
    assert received["+14155550100"][0].startswith("Acme Cloud: We're investigating")


# --- phone numbers ------------------------------------------------------------------------------


def test_fast_e164_agrees_with_phonenumbers() -> None:
    import phonenumbers

    from notify.phones import _slow, e164

    rng = random.Random(5)
    codes = [1, 1, 1, 7, 20, 33, 34, 39, 44, 49, 55, 61, 81, 86, 91, 234, 351, 353, 800, 882, 971]
    numbers = [
        f"+{rng.choice(codes)}{rng.randrange(10**5, 10**12)}"
        if n % 2
        else f"+{rng.choice(codes)}0{rng.randrange(10**6, 10**10)}"
        for n in range(4000)
    ]
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                numbers.append(phonenumbers.format_number(example, 0))
    numbers += ["+1 415 555 0100", "+44 (0) 20 7183 8750", "+4402071838750", "+39 06 1234 5678"]

    disagree = [n for n in numbers if e164(n) != _slow(n, None)]

    assert disagree == []
    assert sum(1 for n in numbers if e164(n)) > 400  # the valid ones took the fast path too
