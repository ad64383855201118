"""Message lengths as each platform counts them, against its limit.

Channel adapters call these from `Channel.measure`; preflight compares `Length.value` with
`Length.limit`. Every function is pure and cheap enough to call inside a binary search
(`truncate.truncate_to_fit`).
"""

from __future__ import annotations

import math
import re

from notify.model import Length
from notify.render.marks import URL_RE
from notify.render.spoken import spoken_word_count

# GSM 03.38 basic character set (ESC, 0x1B, is left out: it only introduces the extension table).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_SMS_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_SMS_PART = {"GSM-7": 153, "UCS-2": 67}  # 6-byte user data header per part

# A spoken script (the support line) is measured in seconds, as a caller hears it. Text-to-speech
# voices (Amazon Polly, Twilio's <Say>) read at about 150 words a minute, the pace of a calm
# newsreader: 2.5 words a second. Each sentence end adds a short pause (~0.3 s); between paragraphs
# (the script's lines) the support line's TwiML pauses one second (<Pause length="1"/>). Numbers
# count as the words said ("2026" is four). A minute is about as long as a caller listens before
# hanging up or pressing keys; with several incidents open the line reads each one's script.
SPEECH_LIMIT_SECONDS = 60
SPEECH_UNIT = "seconds of speech"
WORDS_PER_SECOND = 2.5
SENTENCE_PAUSE_SECONDS = 0.3
PARAGRAPH_PAUSE_SECONDS = 1.0
_SENTENCE_END = re.compile(r"[.!?…]+(?=[\s\"'”’)]|$)")
_CLOCK_HALF = re.compile(r"\b([ap])\.m\.", re.IGNORECASE)  # "p.m." ends no sentence

# Mastodon counts `@user@domain` as `@user`.
_REMOTE_MENTION = re.compile(r"(?<![\w@])(@\w+)@[\w-]+(?:\.[\w-]+)+")


def _sms_units(text: str) -> tuple[str, list[int]]:
    """The encoding and each character's cost in units (septets for GSM-7, UTF-16 for UCS-2)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return "GSM-7", [2 if c in GSM7_EXTENSION else 1 for c in text]
    # Outside GSM-7 the whole message is UCS-2 (really UTF-16): astral chars take two units.
    return "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]


def sms_length(text: str, max_segments: int = 10) -> Length:
    """Segments of an SMS: GSM-7 (160, or 153 per part) or UCS-2 (70, or 67 per part)."""
    encoding, costs = _sms_units(text)
    total = sum(costs)
    if total <= _SMS_SINGLE[encoding]:
        segments = 1
    else:
        # Parts are filled greedily; a character (escape pair, surrogate pair) never straddles two.
        per_part = _SMS_PART[encoding]
        segments, used = 1, 0
        for cost in costs:
            if used + cost > per_part:
                segments, used = segments + 1, 0
            used += cost
    detail = {"encoding": encoding, "characters": len(text)}
    return Length(value=segments, limit=max_segments, unit="segments", detail=detail)


def x_length(text: str) -> Length:
    """X (Twitter) weighted length: twitter-text v3 rules (URLs 23, CJK and emoji 2)."""
    from notify._twitter_text import parse_tweet_function

    parse_tweet = parse_tweet_function()

    result = parse_tweet(text)
    detail: dict[str, object] = {}
    if text and not result.valid and result.weightedLength <= 280:
        # Within the limit yet invalid: the text holds characters X refuses (U+FFFE, U+FFFF, ...).
        detail["invalid_characters"] = True
    return Length(value=result.weightedLength, limit=280, unit="weighted", detail=detail)


def _graphemes(text: str) -> int:
    import regex

    return len(regex.findall(r"\X", text))


def grapheme_length(text: str, limit: int) -> Length:
    """User-perceived characters (extended grapheme clusters): Bluesky counts these."""
    return Length(value=_graphemes(text), limit=limit, unit="graphemes")


def mastodon_length(text: str, limit: int = 500, url_chars: int = 23) -> Length:
    """Mastodon: graphemes; each http(s) URL counts `url_chars`, a remote mention its @user."""
    countable = URL_RE.sub("x" * url_chars, text)
    countable = _REMOTE_MENTION.sub(r"\1", countable)
    return Length(value=_graphemes(countable), limit=limit, unit="graphemes")


def char_length(text: str, limit: int, unit: str = "characters") -> Length:
    """Python characters (code points): Discord, Slack, Teams count roughly like this."""
    return Length(value=len(text), limit=limit, unit=unit)


def utf16_length(text: str, limit: int) -> Length:
    """UTF-16 code units, which is how Telegram counts its 4096 characters."""
    return Length(value=len(text.encode("utf-16-le")) // 2, limit=limit, unit="characters")


def speech_length(text: str, limit: int = SPEECH_LIMIT_SECONDS) -> Length:
    """Seconds a text-to-speech voice takes to read `text` (rounded up): words at 2.5 a second,
    plus a pause at each sentence end and between paragraphs (the lines of a spoken script)."""
    words = spoken_word_count(text)
    sentences = len(_SENTENCE_END.findall(_CLOCK_HALF.sub(r"\1m", text)))
    paragraphs = sum(1 for line in text.splitlines() if line.strip())
    seconds = (
        words / WORDS_PER_SECOND
        + sentences * SENTENCE_PAUSE_SECONDS
        + max(paragraphs - 1, 0) * PARAGRAPH_PAUSE_SECONDS
    )
    detail = {"words": words}
    return Length(value=math.ceil(round(seconds, 6)), limit=limit, unit=SPEECH_UNIT, detail=detail)
