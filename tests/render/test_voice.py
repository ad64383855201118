"""What the support line says: the spoken script, times in words, its length, and each shipped
template's `voice` block as a caller hears it."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from notify.errors import TemplateError
from notify.model import Message
from notify.render.formats import build_message, to_spoken
from notify.render.length import SPEECH_LIMIT_SECONDS, SPEECH_UNIT, speech_length
from notify.render.marks import MARK_CLOSE, MARK_OPEN, mark, strip_marks
from notify.render.spoken import number_words, ordinal_words, spoken_word_count, year_words
from notify.render.templates import RenderedParts, TemplateSet
from notify.render.truncate import truncate_to_fit
from tests.render.test_shipped_templates import MESSAGE, SHIPPED, TITLE, minimal, rich

ORG = {"name": "Acme Cloud", "status_url": "https://status.acme.example"}


def heard(templates: TemplateSet, name: str, ctx: dict[str, Any]) -> Message:
    """A template as the voice channel renders it: its `voice` block (else `short`), spoken."""
    ctx = {**ctx, "channel": {"name": "support-line", "type": "voice"}}
    parts = templates.render(name, ctx, channel_type="voice", part="short")
    return build_message(parts, "voice", status=None, link=None, org=ctx["org"])


def pictographs(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in ("So", "Sk", "Cf", "Co", "Cn")]


# -- the spoken script -------------------------------------------------------------------------


def test_markdown_becomes_plain_sentences_one_paragraph_a_line() -> None:
    body = (
        "## Investigating\n\n"
        "**Card payments** _fail_ for some — about 30% of EU checkouts & refunds.\n"
        "We are on it\n\n"
        "- Payments API\n- Checkout\n\n"
        "1. Retry later\n2. Use `bank transfer`\n\n"
        "> Quoted words\n\n"
        "----\n\n"
        "See [our status page](https://status.acme.example/i/1) for more."
    )
    assert to_spoken(body) == (
        "Investigating.\n"
        "Card payments fail for some, about 30 percent of EU checkouts and refunds. We are on it.\n"
        "Payments API. Checkout.\n"
        "Retry later. Use bank transfer.\n"
        "Quoted words.\n"
        "See our status page for more."
    )


@pytest.mark.parametrize(
    ("md", "said"),
    [
        (
            "We will post the next update by 15:00 UTC at https://status.acme.com.",
            "We will post the next update by 15:00 UTC.",
        ),
        ("Follow along at https://status.acme.com; thanks.", "Follow along; thanks."),
        ("Details and history: https://status.acme.com", ""),
        ("It is fixed. Tell us how we did: https://acme.com/survey", "It is fixed."),
        ("More (https://status.acme.com) soon.", "More soon."),
        ("Write to <support@acme.com>.", "Write to support@acme.com."),
        ("Open https://status.acme.com/i/1", "Open."),
    ],
)
def test_links_are_not_read_out_nor_the_words_that_led_to_them(md: str, said: str) -> None:
    assert to_spoken(md) == said


def test_emoji_and_symbols_a_voice_reads_badly_are_gone() -> None:
    said = to_spoken("🔥 Outage ✅ fixed 👍🏽 in 🇩🇪 — shifts 9–17, ticket #42, 20° ❤️ *really* ~x~")
    assert said == ("Outage fixed in, shifts 9 to 17, ticket number 42, 20 degrees really x.")
    assert not pictographs(said)


def test_operator_text_stays_words_and_loses_its_marks() -> None:
    said = to_spoken(
        "Update: " + mark("**urgent** _now_ # not a heading <script>x</script> http://evil.example")
    )
    assert MARK_OPEN not in said and MARK_CLOSE not in said
    assert not re.search(r"[*_#<>]|http", said)
    assert said.startswith("Update: urgent now not a heading script")


def test_build_message_voice_is_the_spoken_script_without_html() -> None:
    parts = RenderedParts(subject="[Acme Cloud] Outage", text="**Outage** at https://x.example")
    message = build_message(parts, "voice", status="investigating", link=None, org=ORG)
    assert message.text == "Outage."
    assert message.html is None
    assert message.subject == "[Acme Cloud] Outage"


# -- numbers and times in words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (45, "forty five"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (999, "nine hundred ninety nine"),
        (2026, "two thousand twenty six"),
        (1_000_000, "one million"),
    ],
)
def test_number_words(number: int, words: str) -> None:
    assert number_words(number) == words


def test_ordinals_and_years() -> None:
    assert [ordinal_words(n) for n in (1, 2, 3, 7, 12, 20, 22, 30, 31)] == [
        "first", "second", "third", "seventh", "twelfth", "twentieth", "twenty second",
        "thirtieth", "thirty first",
    ]  # fmt: skip
    assert [year_words(y) for y in (2027, 2005, 1999, 1905, 2000)] == [
        "twenty twenty seven", "two thousand five", "nineteen ninety nine", "nineteen oh five",
        "two thousand",
    ]  # fmt: skip


SPOKEN_TEMPLATE = """{% block voice %}
{{ vars.noon | spoken_time }}
{{ vars.midnight | spoken_time }}
{{ vars.afternoon | spoken_time }}
{{ vars.morning | spoken_time }}
{{ vars.half_past_midnight | spoken_time }}
{{ vars.noon | spoken_date }}
{{ vars.next_year | spoken_date }}
{{ vars.noon | spoken_datetime }}
{{ vars.start | spoken_timespan(vars.end) }}
{{ vars.start | spoken_timespan(vars.next_day) }}
{{ 2700 | spoken_duration }}
{{ 7800 | spoken_duration }}
{{ incident.started_at | spoken_duration(update.at) }}
{{ 0 | spoken_duration }}
{{ ["Payments API", "Checkout", "Dashboard"] | spoken_list }}
{{ vars.free | spoken_time }}
{% endblock %}"""
TIMES = {
    "noon": "2026-12-07T12:00:00Z",
    "midnight": datetime(2026, 12, 7, 0, 0, tzinfo=UTC),
    "afternoon": "2026-12-07T14:05:00Z",
    "morning": "2026-12-07T09:00Z",
    "half_past_midnight": "2026-12-07T00:30Z",
    "next_year": "2027-01-01T10:00Z",
    "start": "2026-11-29T22:00Z",
    "end": "2026-11-29T23:30Z",
    "next_day": "2026-11-30T01:15Z",
    "free": "Sunday night",
}
NOW = datetime(2026, 12, 6, 13, 0, tzinfo=UTC)


def spoken_lines(tmp_path: Path, timezone: str) -> list[str]:
    (tmp_path / "t.j2").write_text(SPOKEN_TEMPLATE, encoding="utf-8")
    ctx = {
        "incident": {"started_at": NOW - timedelta(minutes=85)},
        "update": {"at": NOW},
        "vars": TIMES,
        "now": NOW,
    }
    parts = TemplateSet.load([tmp_path], timezone=timezone).render(
        "t", ctx, channel_type="voice", part="short"
    )
    return strip_marks(parts.text).split("\n")


def test_spoken_times_dates_and_durations_in_utc(tmp_path: Path) -> None:
    assert spoken_lines(tmp_path, "UTC") == [
        "noon UTC",
        "midnight UTC",
        "two oh five p.m. UTC",
        "nine a.m. UTC",
        "twelve thirty a.m. UTC",
        "Monday, December seventh",
        "Friday, January first, twenty twenty seven",  # not this year: the year is said
        "Monday, December seventh at noon UTC",
        "Sunday, November twenty ninth, from ten p.m. to eleven thirty p.m. UTC",
        "from Sunday, November twenty ninth at ten p.m. UTC to "
        "Monday, November thirtieth at one fifteen a.m. UTC",
        "forty five minutes",
        "two hours and ten minutes",
        "one hour and twenty five minutes",
        "less than a minute",
        "Payments API, Checkout and Dashboard",
        "Sunday night",  # free text is said as written
    ]


ZONES = {  # timezone -> (12:00 UTC, 14:05 UTC) as said there
    "Europe/Berlin": ("one p.m. Central European Time", "three oh five p.m. Central European Time"),
    "America/Chicago": ("six a.m. Central Time", "eight oh five a.m. Central Time"),
    "Asia/Kolkata": ("five thirty p.m. India Time", "seven thirty five p.m. India Time"),
    "America/Sao_Paulo": ("nine a.m. UTC minus three", "eleven oh five a.m. UTC minus three"),
    "Asia/Kathmandu": (
        "five forty five p.m. UTC plus five forty five",
        "seven fifty p.m. UTC plus five forty five",
    ),
}


@pytest.mark.parametrize("timezone", sorted(ZONES))
def test_spoken_times_honour_the_organizations_timezone(tmp_path: Path, timezone: str) -> None:
    lines = spoken_lines(tmp_path, timezone)
    assert (lines[0], lines[2]) == ZONES[timezone]


def test_summer_time_has_its_own_name(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{% block voice %}{{ t | spoken_time }}{% endblock %}")
    berlin = TemplateSet.load([tmp_path], timezone="Europe/Berlin")
    ctx = {"t": "2026-07-01T12:00:00Z"}
    said = berlin.render("t", ctx, channel_type="voice", part="short").text
    assert strip_marks(said) == "two p.m. Central European Summer Time"


def test_a_spoken_time_of_none_says_to_guard_it(tmp_path: Path) -> None:
    (tmp_path / "t.j2").write_text("{% block voice %}\nby {{ t | spoken_time }}{% endblock %}")
    with pytest.raises(TemplateError) as caught:
        TemplateSet.load([tmp_path]).render("t", {"t": None}, channel_type="voice", part="short")
    assert "t.j2:2" in str(caught.value) and "spoken_time" in str(caught.value)


# -- how long it takes to say -------------------------------------------------------------------


def test_speech_length_counts_words_sentences_and_paragraphs() -> None:
    assert speech_length("").value == 0
    one = speech_length("We will give the next update by two thirty p.m. UTC.")
    # 11 words at 2.5 a second (4.4 s) + one sentence end (0.3 s), rounded up; "p.m." ends none.
    assert (one.value, one.limit, one.unit) == (5, SPEECH_LIMIT_SECONDS, SPEECH_UNIT)
    assert one.detail["words"] == 11
    two = speech_length("Card payments fail.\nWe are on it.")
    # 7 words (2.8 s) + two sentence ends (0.6 s) + the pause between paragraphs (1 s).
    assert two.value == 5
    assert one.ok and SPEECH_UNIT in one.describe()


def test_numbers_count_as_the_words_said() -> None:
    assert spoken_word_count("2026") == 4  # two thousand twenty six
    assert spoken_word_count("at 14:05") == 4  # at fourteen oh five
    assert spoken_word_count("call 4155550100") == 11  # a long number, digit by digit
    assert spoken_word_count("10am — v2") == 4
    assert speech_length("In 2026.").value > speech_length("In time.").value


def test_a_long_script_is_over_the_limit() -> None:
    long = " ".join(["Card payments fail for about a third of checkouts."] * 20)
    length = speech_length(long)
    assert not length.ok and length.value > SPEECH_LIMIT_SECONDS


def test_truncating_a_script_keeps_whole_sentences_and_says_no_ellipsis() -> None:
    sentences = [f"Sentence number {number_words(n)} is here." for n in range(1, 40)]
    script = " ".join(sentences[:20]) + "\n" + " ".join(sentences[20:])

    def fits(text: str) -> bool:
        return speech_length(text).ok

    cut = truncate_to_fit(script, fits, ellipsis=".", at_sentences=True)
    assert fits(cut) and cut != script
    assert cut.endswith("is here.") and "…" not in cut
    rest = script[len(cut) :]
    assert not fits(cut + rest[: rest.index("is here.") + len("is here.")])  # the longest that fits
    # One sentence too long to say: cut at a word, ended by a full stop.
    endless = "We " + "really " * 200 + "mean it."
    cut = truncate_to_fit(endless, fits, ellipsis=".", at_sentences=True)
    assert fits(cut) and cut.endswith("really.")


# -- the shipped templates' voice blocks --------------------------------------------------------


@pytest.fixture(scope="module")
def templates() -> TemplateSet:
    return TemplateSet.load([])


def typical() -> dict[str, Any]:
    """An incident with a message, components, a workaround and a next update."""
    ctx = rich()
    ctx["maintenance"] = {
        "starts_at": datetime(2026, 11, 22, 15, 30, tzinfo=UTC),
        "ends_at": datetime(2026, 11, 22, 17, 0, tzinfo=UTC),
    }
    return ctx


def test_every_shipped_template_has_a_voice_block() -> None:
    from notify.render.templates import shipped_templates_dir

    for name in SHIPPED:
        text = (shipped_templates_dir() / f"{name}.j2").read_text(encoding="utf-8")
        assert "{% block voice %}" in text, name


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("build", [minimal, typical], ids=["minimal", "typical"])
def test_each_voice_block_reads_well_and_briefly(
    templates: TemplateSet, name: str, build: Any
) -> None:
    said = heard(templates, name, build()).text
    assert said.startswith(("Acme Cloud", "An update from Acme Cloud", "A reminder from Acme"))
    assert TITLE in said and MESSAGE in said
    assert "http" not in said and "status.acme.com" not in said
    assert not re.search(r"[*_#`<>\[\]]", said), said
    assert not pictographs(said) and MARK_OPEN not in said
    assert not re.search(r"\d{1,2}:\d{2}|UTC\)|\bNone\b", said), said  # times are said in words
    assert all(line.rstrip().endswith((".", "!", "?")) for line in said.split("\n")), said
    assert "press 1" not in said.lower() and "connecting" not in said.lower()
    length = speech_length(said)
    assert length.ok and length.value <= 45, (length.describe(), said)  # room for a long message


def test_updates_say_what_is_affected_what_to_do_and_when_more_comes(
    templates: TemplateSet,
) -> None:
    for name in ("investigating", "identified", "update"):
        said = heard(templates, name, typical()).text
        assert "This affects Payments API and Checkout." in said
        assert "What you can do meanwhile: Pay by bank transfer meanwhile." in said
        assert said.endswith("We will give the next update by three p.m. UTC.")
    assert "We will give an update as soon as we know more." in (
        heard(templates, "investigating", minimal()).text
    )
    assert "fixed by Sunday, November twenty second at four p.m. UTC" in (
        heard(templates, "identified", typical()).text
    )
    resolved = heard(templates, "resolved", typical()).text
    assert "It lasted one hour and twenty five minutes." in resolved
    assert "credit 10 percent of this month's bill" in resolved
    scheduled = heard(templates, "maintenance-scheduled", typical()).text
    assert "Sunday, November twenty second, from three thirty p.m. to five p.m. UTC." in scheduled


def test_the_next_update_is_said_in_the_organizations_timezone() -> None:
    berlin = TemplateSet.load([], timezone="Europe/Berlin")
    said = heard(berlin, "investigating", typical()).text
    assert said.endswith("We will give the next update by four p.m. Central European Time.")


def test_hostile_operator_text_is_said_as_words(templates: TemplateSet) -> None:
    ctx = minimal(message="🔥 **urgent** see https://evil.example #1 <script>x</script> 50% & up")
    said = heard(templates, "investigating", ctx).text
    assert not re.search(r"[*_#<>]|http|evil\.example", said), said
    assert "urgent" in said and "number 1" in said and "50 percent and up" in said
    assert not pictographs(said)


def test_a_template_without_a_voice_block_falls_back_to_its_short_text(tmp_path: Path) -> None:
    (tmp_path / "plain.j2").write_text(
        "{% block short %}{{ org.name }}: {{ update.message }} {{ org.status_url }}{% endblock %}",
        encoding="utf-8",
    )
    ctx = {**minimal(), "org": ORG}
    said = heard(TemplateSet.load([tmp_path]), "plain", ctx).text
    assert said == f"Acme Cloud: {MESSAGE}"
