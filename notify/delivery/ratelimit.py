"""Pacing of one channel's requests across a whole fan-out: evenly, at the rate, never above it.

`rate_limit: 200/s` puts request k of the channel on a timeline at `start + k / 200 s`: evenly
spread, so the span of N requests is (N - 1) / rate and never less. A request runs late when the
event loop is busy (timers fire a millisecond or so late); the next ones then go at once until
the timeline is caught up, or the run would fall behind the rate by a little on every request.
Catching up is bounded: the timeline never lags `now` by more than a tenth of the period's
allowance (`burst` requests), and the last `count` requests never fit in less than one period.
So a provider counting per window never sees more than `rate_limit` allows, and one enforcing
the same rate with a token bucket is never tripped.

A 429 answer's Retry-After (or a rate-limit reset header) pauses the whole channel through
`pause_until`, since the provider is refusing every request of it, not just the one that asked.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from notify.config.model import RateLimit

# Float rounding when a fake or coarse clock lands exactly on a slot: close enough is on time.
_EPSILON = 1e-9
# The most grants remembered to hold "at most `count` per period": a rate like 100000/h is
# held by its timeline alone beyond this (its requests are 36 ms apart anyway).
_MAX_REMEMBERED = 10_000


class RateLimiter:
    """Pacing for one channel; every job of that channel in a run shares one instance.

    With `rate` None the channel is not paced, but a provider's wait still pauses it.
    """

    def __init__(
        self,
        rate: RateLimit | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self.rate = rate
        if rate is None:
            self.burst, self.interval, self.period = 0, 0.0, 0.0
            remembered = 0
        else:
            self.burst = max(1, int(rate.count // 10))
            self.interval = rate.period / rate.count  # seconds between two requests
            self.period = rate.period
            remembered = min(int(rate.count), _MAX_REMEMBERED)
        # How far the timeline may lag behind now: late requests up to this are caught up.
        self._slack = (self.burst - 1) * self.interval
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")  # the timeline's next slot
        self._granted: deque[float] = deque(maxlen=max(remembered, 1))
        self._remembered = remembered
        self._paused_until = float("-inf")
        # asyncio.Lock wakes waiters in the order they came: no job starves under load.
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request may go out on this channel, then count it."""
        async with self._lock:
            while (wait := self._wait(self._clock())) > _EPSILON:
                await self._sleep(wait)
            if self.interval:
                now = self._clock()
                # The slot taken is the timeline's, or (the timeline lagging too far, or not
                # begun) the oldest the slack allows: the first request starts it at now.
                first = self._next == float("-inf")
                slot = now if first else max(self._next, now - self._slack)
                self._next = slot + self.interval
                if self._remembered:
                    self._granted.append(now)

    def pause_until(self, deadline: float) -> None:
        """Hold every request of the channel until `deadline` (on this limiter's clock)."""
        self._paused_until = max(self._paused_until, deadline)
        # Evenly on from the end of the pause, not a catch-up burst of what it held back.
        self._next = max(self._next, deadline)

    def _wait(self, now: float) -> float:
        wait = self._paused_until - now
        if self.interval:
            wait = max(wait, self._next - now)
            if self._remembered and len(self._granted) == self._remembered:
                # The oldest of the last `count` grants must be a whole period ago.
                wait = max(wait, self._granted[0] + self.period - now)
        return wait
