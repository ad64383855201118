"""Pacing of one channel's requests across a whole fan-out, so a provider's limiter never trips.

`rate_limit: 50/s` lets at most 5 requests (a tenth of the period's allowance, at least one) go
in any 0.1 s (the time the allowance takes to earn them), and so at most 50 in any second. A
plain token bucket that starts full would let 5 + 50 through in the first second: a burst on
top of the full rate, which is exactly what trips a provider counting per fixed window. Keeping
the times of the last `burst` requests (a sliding window) holds both limits at once.

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
            self.burst, self.window = 0, 0.0
        else:
            self.burst = max(1, int(rate.count // 10))
            # Seconds the allowance takes to earn `burst` requests.
            self.window = self.burst / (rate.count / rate.period)
        self._clock = clock
        self._sleep = sleep
        self._granted: deque[float] = deque(maxlen=max(self.burst, 1))
        self._paused_until = float("-inf")
        # asyncio.Lock wakes waiters in the order they came: no job starves under load.
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request may go out on this channel, then count it."""
        async with self._lock:
            while (wait := self._wait(self._clock())) > _EPSILON:
                await self._sleep(wait)
            if self.burst:
                self._granted.append(self._clock())

    def pause_until(self, deadline: float) -> None:
        """Hold every request of the channel until `deadline` (on this limiter's clock)."""
        self._paused_until = max(self._paused_until, deadline)

    def _wait(self, now: float) -> float:
        wait = self._paused_until - now
        if self.burst and len(self._granted) == self.burst:
            # The oldest of the last `burst` grants must have left the window.
            wait = max(wait, self._granted[0] + self.window - now)
        return wait
