"""Words for the ear: numbers, clock times, dates, durations and timezones as a voice says them.

A text-to-speech voice reads "14:05 CET" as letters and digits; a caller wants "two oh five p.m.
Central European Time". These helpers are pure and locale-independent (American English, the
voice the support line speaks with); the template filters in notify.render.filters use them.
"""

from __future__ import annotations

import re
from datetime import datetime

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_ENDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))

# Zone abbreviations a voice would spell out letter by letter, as people say them. "UTC" and
# "GMT" stay: listeners know them as letters. An abbreviation not listed is said as it is.
_ZONE_NAMES = {
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "BST": "British Summer Time",
    "EST": "Eastern Time",
    "EDT": "Eastern Time",
    "CST": "Central Time",
    "CDT": "Central Time",
    "MST": "Mountain Time",
    "MDT": "Mountain Time",
    "PST": "Pacific Time",
    "PDT": "Pacific Time",
    "AKST": "Alaska Time",
    "AKDT": "Alaska Time",
    "HST": "Hawaii Time",
    "JST": "Japan Time",
    "KST": "Korea Time",
    "AEST": "Australian Eastern Time",
    "AEDT": "Australian Eastern Time",
    "NZST": "New Zealand Time",
    "NZDT": "New Zealand Time",
}
# Abbreviations several zones share (IST, CST): the zone itself decides.
_ZONE_NAMES_BY_KEY = {
    "Asia/Kolkata": "India Time",
    "Asia/Calcutta": "India Time",
    "Europe/Dublin": "Irish Time",
    "Asia/Jerusalem": "Israel Time",
    "Asia/Tel_Aviv": "Israel Time",
    "Asia/Shanghai": "China Time",
    "Asia/Taipei": "Taiwan Time",
    "America/Havana": "Cuba Time",
}
_OFFSET_NAME = re.compile(r"^([+-])(\d{2})(\d{2})?$")  # zones without a letter abbreviation: "+03"
_DIGIT_RUN = re.compile(r"\d+")
_HAS_WORD = re.compile(r"[^\W\d_]")  # a letter in any script


def number_words(number: int) -> str:
    """2026 -> "two thousand twenty six": American English, no "and", no hyphens (each word is a
    word a voice says, which is also how speech length counts them)."""
    if number < 0:
        return f"minus {number_words(-number)}"
    for size, name in _SCALES:
        if number >= size:
            high, rest = divmod(number, size)
            head = f"{number_words(high)} {name}"
            return f"{head} {number_words(rest)}" if rest else head
    if number >= 100:
        hundreds, rest = divmod(number, 100)
        head = f"{_ONES[hundreds]} hundred"
        return f"{head} {number_words(rest)}" if rest else head
    if number >= 20:
        tens, ones = divmod(number, 10)
        return f"{_TENS[tens]} {_ONES[ones]}" if ones else _TENS[tens]
    return _ONES[number]


def ordinal_words(number: int) -> str:
    """7 -> "seventh", 22 -> "twenty second", 30 -> "thirtieth"."""
    *head, last = number_words(number).split(" ")
    if last in _ORDINAL_ENDS:
        last = _ORDINAL_ENDS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def clock_words(when: datetime) -> str:
    """The wall-clock time as said on a 12-hour clock: "two thirty p.m.", "two oh five p.m.",
    "nine a.m.", "noon", "midnight" (seconds are not said)."""
    hour, minute = when.hour, when.minute
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    half = "a.m." if hour < 12 else "p.m."
    said_hour = number_words(hour % 12 or 12)
    if minute == 0:
        return f"{said_hour} {half}"
    said_minute = f"oh {_ONES[minute]}" if minute < 10 else number_words(minute)
    return f"{said_hour} {said_minute} {half}"


def zone_words(when: datetime) -> str:
    """The timezone of an aware datetime as a listener knows it: "UTC", "Central European Time",
    "Eastern Time", "UTC plus five thirty" for a zone known only by its offset."""
    key = getattr(when.tzinfo, "key", None)
    if key in _ZONE_NAMES_BY_KEY:
        return _ZONE_NAMES_BY_KEY[key]
    abbreviation = when.tzname() or "UTC"
    offset = _OFFSET_NAME.match(abbreviation)
    if offset:
        sign, hours, minutes = offset.groups()
        said = number_words(int(hours))
        if minutes and int(minutes):
            said += f" {number_words(int(minutes))}"
        return f"UTC {'plus' if sign == '+' else 'minus'} {said}"
    return _ZONE_NAMES.get(abbreviation, abbreviation)


def year_words(year: int) -> str:
    """2027 -> "twenty twenty seven", 2005 -> "two thousand five", 1905 -> "nineteen oh five"."""
    century, rest = divmod(year, 100)
    if not 11 <= century <= 99 or (century % 10 == 0 and rest < 10):
        return number_words(year)  # 2000-2009, 3000...: "two thousand five"
    if rest == 0:
        return f"{number_words(century)} hundred"
    return f"{number_words(century)} {f'oh {_ONES[rest]}' if rest < 10 else number_words(rest)}"


def date_words(when: datetime, *, with_year: bool = False) -> str:
    """ "Monday, December seventh" (", twenty twenty six" is not said unless `with_year`)."""
    said = f"{DAYS[when.weekday()]}, {MONTHS[when.month - 1]} {ordinal_words(when.day)}"
    return f"{said}, {year_words(when.year)}" if with_year else said


def duration_words(seconds: float) -> str:
    """ "forty five minutes", "two hours and ten minutes", "one day and three hours": the two
    largest units, as `humanize_seconds` shows them; seconds only under a minute."""
    total = int(abs(seconds))
    if total < 60:
        return "less than a minute" if total == 0 else _count(total, "second")
    parts: list[str] = []
    for unit, size in _UNITS:
        count, total = divmod(total, size)
        if count:
            parts.append(_count(count, unit))
        elif parts:
            break  # "one day, zero hours and five minutes" -> "one day"
        if len(parts) == 2:
            break
    return " and ".join(parts)


def _count(count: int, unit: str) -> str:
    return f"{number_words(count)} {unit}" if count == 1 else f"{number_words(count)} {unit}s"


def spoken_word_count(text: str) -> int:
    """How many words a voice says reading `text`: a number counts its words ("2026" is four,
    "14:05" three), a long run of digits (a phone or order number) one word a digit, and a token
    of punctuation alone (a dash) none."""
    words = 0
    for token in text.split():
        runs = _DIGIT_RUN.findall(token)
        words += sum(_digits_words(run) for run in runs)
        if _HAS_WORD.search(_DIGIT_RUN.sub(" ", token)):
            words += 1  # "10am", "v2" or a plain word: its letters are one word more
    return words


def _digits_words(run: str) -> int:
    if len(run) > 9 or (len(run) > 1 and run.startswith("0")):
        return len(run)  # read digit by digit
    return len(number_words(int(run)).split(" "))
