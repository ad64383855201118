"""Lengths as each platform counts them, and truncation that keeps the status link."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from notify.render.length import (
    char_length,
    grapheme_length,
    mastodon_length,
    sms_length,
    utf16_length,
    x_length,
)
from notify.render.truncate import truncate_to_fit
from tests.conftest import specs_path

# -- SMS ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "segments", "encoding"),
    [
        ("", 1, "GSM-7"),
        ("a" * 160, 1, "GSM-7"),
        ("a" * 161, 2, "GSM-7"),
        ("a" * 153 * 2, 2, "GSM-7"),
        ("a" * 307, 3, "GSM-7"),
        ("é" * 160, 1, "GSM-7"),  # é, ü, Ø... are in the GSM-7 basic table
        ("€" * 80, 1, "GSM-7"),  # extension characters cost two septets
        ("€" * 81, 2, "GSM-7"),
        ("a" * 159 + "|", 2, "GSM-7"),
        ("a" * 158 + "\f", 1, "GSM-7"),
        ("ж" * 70, 1, "UCS-2"),
        ("ж" * 71, 2, "UCS-2"),
        ("ж" * 67 * 2, 2, "UCS-2"),
        ("ж" * 135, 3, "UCS-2"),
        ("a" * 159 + "—", 3, "UCS-2"),  # one em dash turns 160 characters into 3 segments
        ("😀" * 35, 1, "UCS-2"),  # astral characters take two UTF-16 units
        ("😀" * 36, 2, "UCS-2"),
    ],
)
def test_sms_segments_at_the_boundaries(text: str, segments: int, encoding: str) -> None:
    length = sms_length(text)
    assert (length.value, length.detail["encoding"]) == (segments, encoding)
    assert length.unit == "segments" and length.limit == 10
    assert length.detail["characters"] == len(text)


def test_an_extension_character_is_not_split_across_segments() -> None:
    # 306 septets would fill two parts exactly, but the € cannot straddle parts 1 and 2.
    assert sms_length("a" * 152 + "€" + "a" * 152).value == 3
    assert sms_length("a" * 153 + "€" + "a" * 151).value == 2


def test_a_surrogate_pair_is_not_split_across_segments() -> None:
    assert sms_length("ж" * 66 + "😀" + "ж" * 66).value == 3
    assert sms_length("ж" * 67 + "😀" + "ж" * 65).value == 2


def test_sms_limit_is_the_channels_max_segments() -> None:
    length = sms_length("a" * 400, max_segments=2)
    assert (length.value, length.ok) == (3, False)
    assert length.describe() == "3/2 segments (encoding GSM-7, characters 400)"


# -- X ------------------------------------------------------------------------------------------


def _specs() -> Path:
    return specs_path()


def _conformance(group: str) -> list[dict[str, Any]]:
    path = _specs() / "twitter-text" / "validate.yml"
    if not path.is_file():
        pytest.skip(f"twitter-text conformance file not found at {path} (set NOTIFY_SPECS)")
    import yaml

    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["tests"][group])


@pytest.mark.parametrize(
    "group", ["WeightedTweetsWithDiscountedEmojiCounterTest", "UnicodeDirectionalMarkerCounterTest"]
)
def test_x_length_matches_the_twitter_text_conformance_vectors(group: str) -> None:
    cases = _conformance(group)
    assert cases
    for case in cases:
        length = x_length(case["text"])
        valid = length.ok and not length.detail.get("invalid_characters")
        expected = case["expected"]
        assert (length.value, valid) == (expected["weightedLength"], expected["valid"]), case[
            "description"
        ]


def test_x_counts_urls_as_23_and_cjk_as_2() -> None:
    assert x_length("Hi https://status.acme.com/incidents/2026-11-22").value == 26
    # X only shortens URLs with a real top-level domain, like the app does
    assert x_length("Hi https://status.acme.example").value == len("Hi https://status.acme.example")
    assert x_length("障害").value == 4
    assert x_length("a" * 281).ok is False


# -- graphemes, Mastodon, UTF-16 ----------------------------------------------------------------


def test_graphemes_count_what_people_see() -> None:
    assert grapheme_length("👨‍👩‍👧‍👦", 300).value == 1  # a ZWJ family is one
    assert grapheme_length("🇩🇪🇫🇷", 300).value == 2  # two flags
    assert grapheme_length("e\u0301", 300).value == 1  # e + combining accent
    length = grapheme_length("x" * 301, 300)
    assert (length.ok, length.unit) == (False, "graphemes")


def test_mastodon_counts_each_url_as_23_and_remote_mentions_without_domain() -> None:
    long_url = "https://status.acme.example/incidents/2026-11-22-payments-api/updates/3"
    assert mastodon_length(f"See {long_url}").value == 4 + 23
    assert mastodon_length("See http://a.b").value == 4 + 23
    assert mastodon_length("cc @alice@example.social").value == len("cc @alice")
    assert mastodon_length("hi", limit=11000).limit == 11000


def test_telegram_counts_utf16_units_and_others_characters() -> None:
    assert utf16_length("😀a", 4096).value == 3
    assert char_length("😀a", 2000).value == 2
    assert char_length("abc", 2, unit="bytes").describe() == "3/2 bytes"


# -- truncation ---------------------------------------------------------------------------------

LINK = "https://status.acme.example"
LONG = (
    "Acme Cloud: We're investigating Payments API errors. Card payments fail for some "
    f"customers in the EU region and retries do not help yet. {LINK}"
)


def test_truncation_keeps_the_link_and_cuts_at_a_word() -> None:
    out = truncate_to_fit(LONG, lambda t: len(t) <= 100, keep=LINK)
    assert len(out) <= 100
    assert out.endswith(f"… {LINK}")
    head = out.removesuffix(f"… {LINK}")
    assert LONG.startswith(head) and LONG[len(head)] == " "  # a whole-word prefix


def test_truncation_fits_a_platform_counter() -> None:
    text = "Status: " + "word " * 100 + LINK
    out = truncate_to_fit(text, lambda t: x_length(t).ok, keep=LINK)
    assert x_length(out).ok and out.endswith(LINK)
    assert x_length(out).value > 270  # uses the room there is


def test_truncation_leaves_text_that_fits_alone() -> None:
    assert truncate_to_fit("short", lambda t: len(t) <= 10, keep=LINK) == "short"


def test_truncation_never_cuts_inside_a_url() -> None:
    text = "Details https://example.com/a/very/long/path/that/goes/on and more words here"
    out = truncate_to_fit(text, lambda t: len(t) <= 50)
    assert out == "Details…"


def test_truncation_of_one_long_word_cuts_between_graphemes() -> None:
    out = truncate_to_fit("👨‍👩‍👧‍👦" * 10, lambda t: grapheme_length(t, 4).ok)
    assert out == "👨‍👩‍👧‍👦" * 3 + "…"


def test_truncation_with_an_ascii_ellipsis_for_gsm7() -> None:
    text = "a b c d e f g h i j k l m n o p"
    assert truncate_to_fit(text, lambda t: len(t) <= 10, ellipsis="...") == "a b c d..."
