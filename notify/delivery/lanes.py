"""The dispatcher's working state: a delivery as it moves through the run, a channel's lane,
and what one receipt means for its delivery."""

from __future__ import annotations

import contextlib
import math
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from notify.channels.settings import AUTO_CEILING, UNPACED_CONCURRENCY
from notify.config.model import ChannelConfig
from notify.delivery.jobs import Job, Outcome
from notify.delivery.ratelimit import RateLimiter

Sleep = Callable[[float], Awaitable[object]]

# Before any answer: a guess (100 ms) that starts a fast channel near its need; the lane then
# follows what it measures (one request in five moves the average: fast, but not jumpy).
_FIRST_GUESS = 0.1
_EWMA_WEIGHT = 0.2
_HEADROOM = 1.5  # latency varies request to request: 50 % more in flight than the average needs


@dataclass(eq=False, slots=True)
class Entry:
    job: Job
    chain: frozenset[str] = frozenset()  # channels already tried for this recipient
    parents: list[Entry] = field(default_factory=list)  # the failed deliveries this rescues
    unthreaded: str | None = None  # why it is being posted outside its thread (parent gone)
    outcome: Outcome | None = None
    delivered: bool = False  # sent now, or found sent by an earlier run
    started: bool = False  # its request may have gone out


class Lane:
    """One channel's queue, workers and limiter, shared by all its jobs in the run.

    `size` is how many workers (so requests in flight) the lane runs. An explicit `concurrency`
    caps it; `auto` (the default) sizes it so the channel's `rate_limit` is what binds: by
    Little's law, rate x the request latency seen so far (an EWMA, so it follows the provider
    as it slows down or speeds up), with headroom, within AUTO_CEILING. Latency is only seen
    when answers come back, so a paced lane also keeps one worker waiting at the limiter beyond
    those sending: when the provider slows down at once, one more request goes out at each slot
    rather than the rate stalling for a round trip. A channel without a rate is not sized by it:
    UNPACED_CONCURRENCY, or its explicit number.
    """

    def __init__(self, config: ChannelConfig, clock: Callable[[], float], sleep: Sleep) -> None:
        cap = config.concurrency
        rate = config.rate_limit
        self.queue: deque[Entry] = deque()
        self.workers = 0
        self.busy = 0  # workers in the middle of a job (the others are about to take one)
        self.sending = 0  # workers past the rate limiter: requests in flight (or backing off)
        self.limiter = RateLimiter(rate, clock=clock, sleep=sleep)
        self.batch = max(1, int(config.adapter.batch_size()))  # jobs one request carries
        self._per_second = rate.per_second if rate is not None else None
        self._ceiling = max(1, int(cap)) if cap is not None else AUTO_CEILING
        self._latency = _FIRST_GUESS
        self._fixed = max(1, int(cap)) if cap is not None else UNPACED_CONCURRENCY
        self._sized = self._by_latency()

    @property
    def size(self) -> int:
        """How many workers the lane wants now."""
        if self._per_second is None:
            return self._fixed
        return min(self._ceiling, max(self._sized, self.sending + 1))

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """One request's turn: paced by the limiter, counted as sending until it is settled."""
        await self.limiter.acquire()
        self.sending += 1
        try:
            yield
        finally:
            self.sending -= 1

    def understaffed(self) -> bool:
        """Room for one more worker, and a job for it? (Workers not busy are about to take one:
        more of them than queued jobs would only idle.)"""
        return self.workers < self.size and len(self.queue) > self.workers - self.busy

    def take(self) -> list[Entry]:
        """The jobs of the next request: one, or up to `batch`."""
        if self.batch == 1:
            return [self.queue.popleft()]
        return [self.queue.popleft() for _ in range(min(self.batch, len(self.queue)))]

    def observe(self, seconds: float) -> None:
        """One request took `seconds`: follow the latency, and resize a paced lane to it."""
        if self._per_second is None:
            return
        self._latency += _EWMA_WEIGHT * (seconds - self._latency)
        self._sized = self._by_latency()

    def _by_latency(self) -> int:
        if self._per_second is None:
            return self._fixed
        return math.ceil(self._per_second * self._latency * _HEADROOM) + 1  # 2 at least


@dataclass(slots=True)
class Verdict:
    """What one receipt means for its delivery: settled (outcome), or to be tried again."""

    entry: Entry
    outcome: Outcome | None  # None: retry, after `wait` at least
    delivered: bool = False
    error: str = ""
    wait: float | None = None
    record: dict[str, Any] = field(default_factory=dict)  # finish()'s arguments, once settled
