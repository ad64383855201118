"""Pacing a channel (RateLimiter) and how long to wait before a retry (notify.delivery.backoff)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from notify.channels.http import parse_retry_after, seconds_until
from notify.config.model import RateLimit
from notify.delivery.backoff import retry_delay
from notify.delivery.ratelimit import RateLimiter


class FakeTime:
    """A clock that only moves when someone sleeps: pacing is exact and the test instant."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def limiter(text: str, fake: FakeTime) -> RateLimiter:
    return RateLimiter(RateLimit.parse(text), clock=fake.clock, sleep=fake.sleep)


async def grant_times(limit: RateLimiter, fake: FakeTime, n: int) -> list[float]:
    times = []
    for _ in range(n):
        await limit.acquire()
        times.append(fake.now)
    return times


def most_in_any_window(times: list[float], window: float) -> int:
    """The most grants in any half-open window [t, t + window)."""
    return max(sum(1 for u in times if t <= u < t + window - 1e-9) for t in times)


async def test_fifty_per_second_goes_out_evenly_twenty_ms_apart() -> None:
    fake = FakeTime()
    times = await grant_times(limiter("50/s", fake), fake, 100)

    assert times == pytest.approx([k * 0.02 for k in range(100)])  # no burst, not even at first
    assert most_in_any_window(times, 1.0) == 50  # exactly the provider's own allowance


async def test_small_rates_are_paced_one_at_a_time_evenly() -> None:
    fake = FakeTime()
    times = await grant_times(limiter("5/s", fake), fake, 6)

    assert times == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


async def test_hourly_limit_is_spread_over_the_hour() -> None:
    fake = FakeTime()
    times = await grant_times(limiter("1000/h", fake), fake, 101)

    assert times[1] == pytest.approx(3.6)
    assert times[100] == pytest.approx(360.0)


class LateTime(FakeTime):
    """A busy event loop: every sleep wakes `late` seconds after it was due."""

    def __init__(self, late: float) -> None:
        super().__init__()
        self.late = late

    async def sleep(self, seconds: float) -> None:
        await super().sleep(seconds + self.late)


async def test_late_wake_ups_are_caught_up_so_the_run_keeps_the_rate() -> None:
    late = LateTime(0.003)  # 3 ms late on each of the 5 ms gaps of 200/s
    limit = RateLimiter(RateLimit.parse("200/s"), clock=late.clock, sleep=late.sleep)

    times = await grant_times(limit, late, 2000)

    span = times[-1] - times[0]
    assert 1999 / 200 <= span <= 1.02 * 2000 / 200  # the whole run holds the rate
    assert all(t >= k / 200 for k, t in enumerate(times))  # never ahead of the timeline
    assert most_in_any_window(times[:400], 1.0) <= 200  # never above it in any second


async def test_after_a_stall_only_a_tenth_of_the_allowance_is_caught_up() -> None:
    fake = FakeTime()
    limit = limiter("100/s", fake)
    await grant_times(limit, fake, 50)
    fake.now += 2.0  # the loop was blocked for 2 s (or the queue was empty)

    times = await grant_times(limit, fake, 30)

    assert times[:10] == [times[0]] * 10  # the burst: 10 of the 100/s
    assert times[10:] == pytest.approx([times[0] + k * 0.01 for k in range(1, 21)])


async def test_pause_holds_the_channel_until_the_deadline() -> None:
    fake = FakeTime()
    limit = limiter("100/s", fake)
    await limit.acquire()

    limit.pause_until(7.0)  # a 429 said Retry-After: 7
    await limit.acquire()

    assert fake.now == pytest.approx(7.0)


async def test_a_later_pause_extends_the_wait_of_those_already_waiting() -> None:
    fake = FakeTime()
    limit = limiter("100/s", fake)
    limit.pause_until(3.0)
    waiter = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)  # the waiter is now sleeping towards t=3

    limit.pause_until(10.0)  # another request of the channel got a longer Retry-After
    await waiter

    assert fake.now == pytest.approx(10.0)


async def test_an_earlier_deadline_does_not_shorten_a_pause() -> None:
    fake = FakeTime()
    limit = limiter("100/s", fake)
    limit.pause_until(10.0)
    limit.pause_until(2.0)

    await limit.acquire()

    assert fake.now == pytest.approx(10.0)


async def test_an_unlimited_channel_is_not_paced_but_still_pauses() -> None:
    fake = FakeTime()
    unlimited = RateLimiter(None, clock=fake.clock, sleep=fake.sleep)
    for _ in range(1000):
        await unlimited.acquire()
    assert fake.now == 0.0

    unlimited.pause_until(4.0)
    await unlimited.acquire()

    assert fake.now == pytest.approx(4.0)


async def test_waiters_are_served_in_the_order_they_came() -> None:
    fake = FakeTime()
    limit = limiter("2/s", fake)
    order: list[int] = []

    async def job(i: int) -> None:
        await limit.acquire()
        order.append(i)

    await asyncio.gather(*(job(i) for i in range(20)))

    assert order == list(range(20))
    assert fake.now == pytest.approx(9.5)  # 20 requests at 2/s, the first one free


async def test_a_cancelled_waiter_does_not_use_up_a_slot() -> None:
    fake = FakeTime()
    limit = limiter("1/s", fake)
    await limit.acquire()
    gave_up = asyncio.create_task(limit.acquire())
    await asyncio.sleep(0)
    gave_up.cancel()
    with pytest.raises(asyncio.CancelledError):
        await gave_up

    await limit.acquire()

    assert fake.now == pytest.approx(1.0)  # the slot at t=1, not the one after it


# -- backoff -----------------------------------------------------------------------------------


def test_backoff_doubles_and_jitters_between_half_and_full() -> None:
    low = [retry_delay(n, retry_after=None, rng=lambda: 0.0) for n in (1, 2, 3, 4)]
    high = [retry_delay(n, retry_after=None, rng=lambda: 1.0) for n in (1, 2, 3, 4)]

    assert low == [0.25, 0.5, 1.0, 2.0]
    assert high == [0.5, 1.0, 2.0, 4.0]


def test_backoff_is_capped_even_after_very_many_attempts() -> None:
    assert retry_delay(10_000, retry_after=None, rng=lambda: 1.0) == 60.0
    assert retry_delay(10_000, retry_after=None, rng=lambda: 0.0) == 30.0


def test_backoff_never_waits_less_than_the_provider_asked() -> None:
    assert retry_delay(1, retry_after=7.0, rng=lambda: 1.0) == 7.0
    assert retry_delay(5, retry_after=0.1, rng=lambda: 1.0) == 8.0  # our own wait was longer


@pytest.mark.parametrize(
    ("header", "seconds"),
    [("7", 7.0), (" 2.5 ", 2.5), ("0", 0.0), ("-3", 0.0), ("Wed, 21 Oct 2015 07:28:00 GMT", 60.0)],
)
def test_retry_after_in_seconds_or_as_an_http_date(header: str, seconds: float) -> None:
    now = datetime(2015, 10, 21, 7, 27, 0, tzinfo=UTC)

    assert parse_retry_after(header, now=now) == seconds


@pytest.mark.parametrize("header", [None, "", "soon", "Wed, 99 Foo 2015"])
def test_unreadable_retry_after_means_no_hint(header: str | None) -> None:
    assert parse_retry_after(header) is None


def test_retry_after_date_in_the_past_means_go_now() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize(
    "reset",
    [
        "1732270060",  # X, Bluesky: epoch seconds
        1732270060,
        "1732270060.0",  # Discord: epoch with a fraction
        "2024-11-22T10:07:40.000Z",  # Mastodon: ISO 8601
        "2024-11-22T10:07:40+00:00",
        "60",  # IETF RateLimit-Reset: seconds from now
    ],
)
def test_rate_limit_reset_headers_become_seconds_to_wait(reset: str | int) -> None:
    now = datetime.fromtimestamp(1732270000, tz=UTC)  # 2024-11-22T10:06:40Z

    assert seconds_until(reset, now=now) == pytest.approx(60.0)


def test_rate_limit_reset_already_past_or_unreadable() -> None:
    now = datetime.fromtimestamp(1732270000, tz=UTC)

    assert seconds_until("1732260000", now=now) == 0.0
    assert seconds_until("2020-01-01T00:00:00Z", now=now) == 0.0
    assert seconds_until(None, now=now) is None
    assert seconds_until("tomorrow", now=now) is None
