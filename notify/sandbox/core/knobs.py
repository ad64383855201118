"""The test knobs: latency, a per-provider rate limit, and failures injected on demand.

They are applied before an emulator sees a request (and before the SMTP server takes a message),
and answered in the provider's own shape by the emulator. The knobs are plain state: the sandbox
changes them on its loop's thread only.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass

from notify.sandbox.core.emulator import Emulator, Response

__all__ = ["InjectedFailure", "Knobs", "TokenBucket"]


@dataclass
class TokenBucket:
    """A token bucket: `capacity` tokens (one period's allowance), refilled at `rate`/s."""

    capacity: float
    rate: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """Take one token; 0.0 on success, else the seconds until one is available."""
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


@dataclass
class InjectedFailure:
    status: int  # an HTTP status, or an SMTP reply code for "smtp"
    retry_after: float | None


class Knobs:
    """Latency, rate limits and injected failures, by provider ("smtp" for the mail side)."""

    def __init__(self, latency: float = 0.0) -> None:
        self.initial_latency = latency
        self.latency = latency
        self._buckets: dict[str, TokenBucket] = {}
        self._failures: dict[str, deque[InjectedFailure]] = {}

    def set_latency(self, seconds: float) -> None:
        self.latency = max(0.0, seconds)

    def set_rate_limit(self, provider: str, count: float, period: float = 1.0) -> None:
        """Allow `count` requests per `period` seconds (bursts up to `count`); 0 removes it."""
        if count <= 0:
            self._buckets.pop(provider, None)
            return
        now = time.monotonic()
        self._buckets[provider] = TokenBucket(count, count / period, float(count), now)

    def fail(
        self, provider: str, status: int, times: int = 1, retry_after: float | None = None
    ) -> None:
        queue = self._failures.setdefault(provider, deque())
        queue.extend(InjectedFailure(status, retry_after) for _ in range(times))

    def take_failure(self, provider: str) -> InjectedFailure | None:
        """The next failure injected for `provider`, used up; None when there is none."""
        queue = self._failures.get(provider)
        return queue.popleft() if queue else None

    def reset(self) -> None:
        """Every knob as the sandbox was made: no limits, no failures, its first latency."""
        self.latency = self.initial_latency
        self._buckets.clear()
        self._failures.clear()

    async def before_request(self, provider: str, emulator: Emulator) -> Response | None:
        """Wait out the latency; then the answer a knob gives instead of the emulator, if any."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        failure = self.take_failure(provider)
        if failure is not None:
            if failure.status == 429:
                return emulator.rate_limited(failure.retry_after or 1.0)
            return emulator.injected_failure(failure.status)
        bucket = self._buckets.get(provider)
        if bucket is not None:
            wait = bucket.take(time.monotonic())
            if wait > 0:
                return emulator.rate_limited(wait)
        return None

    async def before_mail(self) -> str | None:
        """Wait out the latency; then the SMTP reply an injected failure gives, if any."""
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        failure = self.take_failure("smtp")
        if failure is None:
            return None
        return f"{failure.status} injected failure (notify sandbox)"
