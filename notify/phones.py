"""Phone numbers to E.164, fast for the common case of a list already written in E.164.

`phonenumbers` takes about 90 µs to parse and validate one number, most of it generic work
(Unicode digits, punctuation, national prefixes, IDD) that a number like +14155550100 does not
need: at 100,000 recipients that alone was nine seconds. For a `+` and digits only, with no
national prefix or leading zero after the country code, this module asks the same question of
the same metadata directly: which region of the country code the number belongs to (first
match, as libphonenumber decides it), and whether its national number matches one of that
region's number types. Anything else goes to `phonenumbers.parse` unchanged, and the tests
check the two agree on numbers of many countries.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

_E164_SHAPE = re.compile(r"\+([1-9]\d{6,16})")
# Every number type but UNKNOWN; the usual ones first, since any match will do.
_TYPE_DESCS = (
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)


def e164(number: str, region: str | None = None) -> str | None:
    """`number` in E.164, or None when it is not a valid phone number (national formats need
    `region`, like "US")."""
    match = _E164_SHAPE.fullmatch(number)
    if match:
        fast = _fast(match.group(1))
        if fast is not None:
            return fast or None
    return _slow(number, region)


def _slow(number: str, region: str | None) -> str | None:
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def _fast(digits: str) -> str | None:
    """ "+" + digits when valid, "" when invalid, None when only the full parser can tell."""
    codes = _country_codes()
    # Country codes are prefix-free: the first prefix that is one is the one (as parse reads it).
    for length in (1, 2, 3):
        code = int(digits[:length])
        if code in codes:
            break
    else:
        return None
    country = _country(code)
    national = digits[length:]
    if country is None or not country.plain(national):
        return None
    return "+" + digits if country.valid(national) else ""


@functools.cache
def _country_codes() -> frozenset[int]:
    from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

    return frozenset(COUNTRY_CODE_TO_REGION_CODE)


@dataclass(frozen=True)
class _Desc:
    """One number type of a region: the lengths it allows and its pattern."""

    lengths: frozenset[int]
    pattern: re.Pattern[str]

    def matches(self, national: str) -> bool:
        if self.lengths and len(national) not in self.lengths:
            return False
        return self.pattern.fullmatch(national) is not None


def _desc(desc: Any) -> _Desc | None:
    # libphonenumber's _is_number_matching_desc: no desc or no pattern never matches.
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = frozenset(desc.possible_length or ())
    return _Desc(lengths, re.compile(desc.national_number_pattern))


@dataclass(frozen=True)
class _Region:
    leading_digits: re.Pattern[str] | None
    general: _Desc | None
    types: tuple[_Desc, ...]

    def valid(self, national: str) -> bool:
        # _number_type_helper(...) != UNKNOWN
        if self.general is None or not self.general.matches(national):
            return False
        return any(desc.matches(national) for desc in self.types)


@dataclass(frozen=True)
class _Country:
    national_prefix: re.Pattern[str] | None
    region_names: tuple[str, ...]  # compiled one at a time, when a number needs it (_region)

    def plain(self, national: str) -> bool:
        """Whether parse() would keep `national` as it is: no leading zero (Italian-style),
        no national prefix it might strip."""
        if national.startswith("0"):
            return False
        return self.national_prefix is None or not self.national_prefix.match(national)

    def valid(self, national: str) -> bool:
        # is_valid_number: region_code_for_number picks the first region whose leading digits
        # match or (without leading digits) whose number types match; then that region's types
        # must match.
        for name in self.region_names:
            region = _region(name)
            if region is None:
                continue
            if region.leading_digits is not None:
                if region.leading_digits.match(national):
                    return region.valid(national)
            elif region.valid(national):
                return True
        return False


@functools.cache
def _country(code: int) -> _Country | None:
    """The metadata of a country calling code; None when the fast path cannot serve it (unknown
    code, non-geographic entities). Its regions are compiled only when a number reaches them:
    +1 alone has 25 regions of some ten patterns each, and a US number needs only the first."""
    import phonenumbers
    from phonenumbers import PhoneMetadata

    names = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
    if not names or phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY in names:
        return None
    main = PhoneMetadata.metadata_for_region_or_calling_code(
        code, phonenumbers.region_code_for_country_code(code)
    )
    if main is None:
        return None
    prefix = main.national_prefix_for_parsing
    return _Country(re.compile(prefix) if prefix else None, tuple(names))


@functools.cache
def _region(name: str) -> _Region | None:
    from phonenumbers import PhoneMetadata

    metadata = PhoneMetadata.metadata_for_region(name.upper(), None)
    if metadata is None:
        return None
    leading = re.compile(metadata.leading_digits) if metadata.leading_digits else None
    types = tuple(d for d in (_desc(getattr(metadata, n)) for n in _TYPE_DESCS) if d)
    return _Region(leading, _desc(metadata.general_desc), types)


_PHONE_LIKE = re.compile(r"\+?[\d\s().\-/]+")
_EMAIL_LIKE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def optout_address(text: str, region: str | None = None) -> str | None:
    """An opt-out as the recipients it must match are written: an email address lower-cased,
    a phone number in E.164 ("+1 (415) 555-0100" -> "+14155550100"; national formats need
    `region`), anything else (a chat or channel id) as written. None when it looks like an email
    address or a phone number but is not a valid one."""
    value = text.strip()
    if "@" in value:
        return value.lower() if _EMAIL_LIKE.fullmatch(value) else None
    if _PHONE_LIKE.fullmatch(value) and not value.startswith("-"):  # "-100…": a Telegram chat
        return e164(value, region)
    return value or None
