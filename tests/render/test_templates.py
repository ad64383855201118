"""Templates as a user writes them: folders, front matter, blocks, overrides, locales, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notify.errors import TemplateError
from notify.render.marks import MARK_CLOSE, MARK_OPEN, strip_marks
from notify.render.templates import TemplateSet, shipped_templates_dir

NOW = datetime(2026, 11, 22, 14, 30, tzinfo=UTC)


def context(**overrides: Any) -> dict[str, Any]:
    ctx: dict[str, Any] = {
        "incident": {
            "id": "2026-11-22-payments-api",
            "title": "Payments API errors",
            "status": "investigating",
            "impact": None,
            "components": [],
            "started_at": NOW - timedelta(minutes=85),
            "updates": [],
        },
        "update": {
            "number": 1,
            "status": "investigating",
            "message": "Card payments fail.",
            "at": NOW,
            "next_update_at": None,
        },
        "org": {"name": "Acme Cloud", "status_url": "https://status.acme.example"},
        "vars": {},
        "channel": {"name": "ops", "type": "email"},
        "now": NOW,
    }
    ctx.update(overrides)
    return ctx


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


SIMPLE = """---
status: identified
description: Found it.
---
{% block subject %}[{{ org.name }}] {{ incident.title }}{% endblock %}
{% block short %}{{ org.name }}: {{ update.message }}{% endblock %}
{% block body %}
**Identified**: {{ update.message }}
{% endblock %}
"""


def test_a_users_folder_adds_templates_and_wins_over_shipped_ones(tmp_path: Path) -> None:
    write(tmp_path, "resolved.j2", SIMPLE)
    write(tmp_path, "custom.j2", SIMPLE)
    templates = TemplateSet.load([tmp_path])

    assert "custom" in templates.names()
    assert "investigating" in templates.names()  # shipped ones stay available
    assert templates.get("resolved").source == str(tmp_path)
    assert templates.get("resolved").status == "identified"
    assert templates.get("investigating").source == "shipped"
    assert templates.get("custom").description == "Found it."


def test_earlier_folders_win(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    write(first, "x.j2", SIMPLE)
    write(second, "x.j2", SIMPLE.replace("identified", "monitoring"))
    assert TemplateSet.load([first, second]).get("x").status == "identified"


def test_the_shipped_folder_is_found() -> None:
    assert (shipped_templates_dir() / "investigating.j2").is_file()


def test_rendering_marks_variables_and_collapses_the_subject(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", SIMPLE)
    ctx = context(incident={**context()["incident"], "title": "Subject\r\nBcc: x"})
    parts = TemplateSet.load([tmp_path]).render("t", ctx, channel_type="email", part="body")

    assert parts.subject == "[Acme Cloud] Subject Bcc: x"
    assert parts.text == f"**Identified**: {MARK_OPEN}Card payments fail.{MARK_CLOSE}"
    assert strip_marks(parts.text) == "**Identified**: Card payments fail."


def test_sentinels_inside_a_value_cannot_end_its_span_early(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", SIMPLE)
    ctx = context(update={**context()["update"], "message": f"a{MARK_CLOSE}**b**{MARK_OPEN}"})
    parts = TemplateSet.load([tmp_path]).render("t", ctx, channel_type="email", part="body")
    assert parts.text.endswith(f"{MARK_OPEN}a**b**{MARK_CLOSE}")


def test_type_blocks_override_the_part_and_subject(tmp_path: Path) -> None:
    write(
        tmp_path,
        "t.j2",
        SIMPLE
        + "{% block sms %}SMS only: {{ update.message }}{% endblock %}\n"
        + "{% block slack_subject %}Slack title{% endblock %}\n"
        + "{% block slack %}Slack body{% endblock %}\n",
    )
    templates = TemplateSet.load([tmp_path])
    ctx = context()

    sms = templates.render("t", ctx, channel_type="sms", part="short")
    x = templates.render("t", ctx, channel_type="x", part="short")
    slack = templates.render("t", ctx, channel_type="slack", part="body")
    email = templates.render("t", ctx, channel_type="email", part="body")

    assert strip_marks(sms.text) == "SMS only: Card payments fail."
    assert strip_marks(x.text) == "Acme Cloud: Card payments fail."
    assert (slack.subject, slack.text) == ("Slack title", "Slack body")
    assert email.subject == "[Acme Cloud] Payments API errors"


def test_without_a_subject_block_the_incident_title_is_the_subject(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block body %}Hello{% endblock %}")
    parts = TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    assert parts.subject == "Payments API errors"


def test_a_missing_part_is_an_error_only_for_channels_that_need_it(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block body %}Hello{% endblock %}")
    templates = TemplateSet.load([tmp_path])
    assert templates.render("t", context(), channel_type="slack", part="body").text == "Hello"
    with pytest.raises(TemplateError) as caught:
        templates.render("t", context(), channel_type="sms", part="short")
    assert "no `short` block" in str(caught.value)
    assert "t.j2" in str(caught.value)


def test_an_undefined_variable_names_file_line_and_how_to_pass_it(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", SIMPLE.replace("**Identified**:", "**Identified**: {{ vars.eta }}"))
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    message = str(caught.value)
    assert f"{tmp_path / 't.j2'}:8" in message
    assert "`vars.eta`" in message
    assert "--set eta=VALUE" in message


def test_an_undefined_top_level_name_is_an_error_too(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block body %}\n\n{{ nonsense }}{% endblock %}")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    assert ":3" in str(caught.value) and "`nonsense`" in str(caught.value)


def test_guarded_optional_variables_render_without_them(tmp_path: Path) -> None:
    body = (
        "{% block body %}A{% if vars.eta is defined %} by {{ vars.eta }}{% endif %}{% endblock %}"
    )
    write(tmp_path, "t.j2", body)
    templates = TemplateSet.load([tmp_path])
    without = templates.render("t", context(), channel_type="email", part="body")
    with_eta = templates.render(
        "t", context(vars={"eta": "noon"}), channel_type="email", part="body"
    )
    assert strip_marks(without.text) == "A"
    assert strip_marks(with_eta.text) == "A by noon"


def test_a_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    write(
        tmp_path, "t.j2", "---\nstatus: resolved\n---\n{% block body %}\n{% if x %}\n{% endblock %}"
    )
    templates = TemplateSet.load([tmp_path])
    with pytest.raises(TemplateError) as caught:
        templates.render("t", context(), channel_type="email", part="body")
    assert f"{tmp_path / 't.j2'}:6" in str(caught.value)
    assert "syntax" in str(caught.value)
    assert [str(e) for e in templates.check()] == [str(caught.value)]


def test_a_template_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_bytes(b"{% block body %}caf\xe9{% endblock %}")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path])
    assert "t.j2" in str(caught.value) and "UTF-8" in str(caught.value)


def test_front_matter_typos_and_unknown_statuses_are_errors(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "---\nstatus: resolved\ndescripton: x\n---\n")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path])
    assert ":3" in str(caught.value) and "'description'" in str(caught.value)

    write(tmp_path, "t.j2", "---\nstatus: resovled\n---\n")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path])
    assert ":2" in str(caught.value) and "'resolved'" in str(caught.value)


def test_no_status_means_the_incident_keeps_its_status(tmp_path: Path) -> None:
    write(tmp_path, "note.j2", "{% block body %}x{% endblock %}")
    write(tmp_path, "note2.j2", "---\nstatus: null\n---\n{% block body %}x{% endblock %}")
    templates = TemplateSet.load([tmp_path])
    assert templates.get("note").status is None
    assert templates.get("note2").status is None


def test_front_matter_keeps_line_numbers(tmp_path: Path) -> None:
    write(
        tmp_path, "t.j2", "---\nstatus: resolved\n---\n\n{% block body %}{{ vars.x }}{% endblock %}"
    )
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    assert "t.j2:5" in str(caught.value)


def test_an_unknown_template_suggests_the_closest_name(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([]).get("investigatin")
    assert "'investigating'" in str(caught.value)
    assert "resolved" in str(caught.value)  # the available names are listed


def test_a_missing_templates_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path / "nope"])
    assert "nope" in str(caught.value)


def test_locale_variants_are_used_for_their_recipients(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block short %}Hello{% endblock %}")
    write(tmp_path, "de/t.j2", "{% block short %}Hallo{% endblock %}")
    write(tmp_path, "pt-BR/t.j2", "{% block short %}Olá{% endblock %}")
    templates = TemplateSet.load([tmp_path])

    def short(locale: str | None) -> str:
        return templates.render(
            "t", context(), channel_type="sms", part="short", locale=locale
        ).text

    assert short(None) == "Hello"
    assert short("de") == "Hallo"
    assert short("de-AT") == "Hallo"  # falls back to the language
    assert short("pt_BR") == "Olá"
    assert short("fr") == "Hello"
    assert templates.names() == sorted({"t", *TemplateSet.load([]).names()})


def test_a_locale_variant_in_a_users_folder_covers_a_shipped_template(tmp_path: Path) -> None:
    write(tmp_path, "fr/resolved.j2", "{% block short %}Résolu{% endblock %}")
    parts = TemplateSet.load([tmp_path]).render(
        "resolved", context(), channel_type="sms", part="short", locale="fr"
    )
    assert parts.text == "Résolu"


def test_partials_can_be_included_and_are_not_listed(tmp_path: Path) -> None:
    write(tmp_path, "_footer.j2", "-- {{ org.name }}")
    write(tmp_path, "t.j2", '{% block body %}Hi\n{% include "_footer.j2" %}{% endblock %}')
    templates = TemplateSet.load([tmp_path])
    assert "_footer" not in templates.names()
    parts = templates.render("t", context(), channel_type="email", part="body")
    assert strip_marks(parts.text) == "Hi\n-- Acme Cloud"


def test_templates_are_sandboxed(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block body %}{{ org.__class__.__mro__ }}{% endblock %}")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    assert "t.j2" in str(caught.value)


def test_uses_recipient_tells_whether_to_render_per_recipient(tmp_path: Path) -> None:
    write(tmp_path, "a.j2", "{% block body %}Hi{% endblock %}")
    guarded = (
        "{% block body %}{% if recipient is defined %}{{ recipient.name }}{% endif %}{% endblock %}"
    )
    write(tmp_path, "b.j2", guarded)
    templates = TemplateSet.load([tmp_path])
    assert not templates.get("a").uses_recipient
    assert templates.get("b").uses_recipient
    parts = templates.render(
        "b", context(recipient={"name": "Ada"}), channel_type="email", part="body"
    )
    assert strip_marks(parts.text) == "Ada"


TIME_TEMPLATE = """{% block body %}
{{ update.at | time }}
{{ update.at | datetime }}
{{ update.at | date }}
{{ incident.started_at | ago }}
{{ update.next_update_at | until }}
{{ update.next_update_at | in_ }}
{{ incident.started_at | duration(update.at) }}
{{ 5400 | duration }}
{{ vars.start | timespan(vars.end) }}
{{ vars.free | datetime }}
{{ update.at }}
{% endblock %}"""


def test_time_filters_read_plainly_in_the_configured_timezone(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", TIME_TEMPLATE)
    ctx = context(
        update={**context()["update"], "next_update_at": NOW + timedelta(minutes=30)},
        vars={"start": "2026-11-29T22:00Z", "end": "2026-11-29T23:30:00+00:00", "free": "Sunday"},
    )
    utc = TemplateSet.load([tmp_path]).render("t", ctx, channel_type="email", part="body")
    assert strip_marks(utc.text).split("\n") == [
        "14:30 UTC",
        "Sun 22 Nov 2026, 14:30 UTC",
        "Sun 22 Nov 2026",
        "1 hour 25 minutes ago",
        "in 30 minutes",
        "in 30 minutes",
        "1 hour 25 minutes",
        "1 hour 30 minutes",
        "Sun 29 Nov 2026, 22:00-23:30 UTC",
        "Sunday",
        "Sun 22 Nov 2026, 14:30 UTC",
    ]
    berlin = TemplateSet.load([tmp_path], timezone="Europe/Berlin")
    first = berlin.render("t", ctx, channel_type="email", part="body").text.split("\n")[0]
    assert strip_marks(first) == "15:30 CET"


def test_a_time_filter_on_none_says_to_guard_it(tmp_path: Path) -> None:
    write(tmp_path, "t.j2", "{% block body %}\nby {{ update.next_update_at | time }}{% endblock %}")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", context(), channel_type="email", part="body")
    assert "t.j2:2" in str(caught.value) and "None" in str(caught.value)
