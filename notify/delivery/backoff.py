"""How long to wait before trying again, and what a provider's wait headers mean in seconds.

The dispatcher calls `retry_delay`; adapters call `parse_retry_after` and `seconds_until` to turn
`Retry-After` and rate-limit reset headers into `Receipt.retry_after`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# 2**60 half-seconds is already far past any cap; stops huge attempt numbers overflowing floats.
_MAX_EXPONENT = 60

# A bare number at or above this (2001-09-09) is an epoch time; below it, seconds from now.
# Providers disagree (X and Bluesky send epoch seconds, the IETF RateLimit draft a delta), and
# no real reset is 30 years away, so the size alone tells them apart.
_EPOCH_THRESHOLD = 1_000_000_000


def retry_delay(
    attempt: int,
    *,
    retry_after: float | None,
    base: float = 0.5,
    cap: float = 60.0,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after failed attempt number `attempt` (1 for the first request).

    Exponential (base, 2*base, 4*base, ... up to cap), jittered between half and the full value
    so that many deliveries failing together don't come back together. Never less than what the
    provider asked for: its `retry_after` wins over our own guess.
    """
    exponent = min(max(attempt, 1) - 1, _MAX_EXPONENT)
    ceiling = min(cap, base * 2.0**exponent)
    delay = ceiling / 2 + rng() * ceiling / 2
    if retry_after is not None and math.isfinite(retry_after):
        delay = max(delay, retry_after)
    return delay


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds from a `Retry-After` header: delay-seconds or an HTTP-date. None when absent or
    unreadable (the caller then backs off on its own); never negative."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    seconds = _number(text)
    if seconds is not None:
        return max(0.0, seconds)
    return _until(_http_date(text), now)


def seconds_until(reset: str | float | int | None, *, now: datetime | None = None) -> float | None:
    """Seconds until a rate-limit window resets, from a reset header.

    Takes epoch seconds (X, Bluesky, Discord: `1732270000`, `1732270000.5`), an ISO-8601 time
    (Mastodon: `2026-11-22T18:00:00.000Z`) or an HTTP-date; a small number is read as seconds
    from now. None when absent or unreadable; never negative.
    """
    if reset is None:
        return None
    number = _number(reset) if isinstance(reset, str) else float(reset)
    if number is not None:
        if not math.isfinite(number):
            return None
        if number < _EPOCH_THRESHOLD:
            return max(0.0, number)
        return max(0.0, number - _now(now).timestamp())
    text = str(reset).strip()
    return _until(_iso(text) or _http_date(text), now)


def _number(text: str) -> float | None:
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _iso(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _http_date(text: str) -> datetime | None:
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None


def _until(moment: datetime | None, now: datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # HTTP-dates are GMT; a zone-less ISO time is taken as UTC too
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - _now(now)).total_seconds())


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)
