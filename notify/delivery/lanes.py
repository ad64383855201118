"""The dispatcher's working state: a delivery as it moves through the run, a channel's lane,
and what one receipt means for its delivery."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from notify.config.model import ChannelConfig
from notify.delivery.jobs import Job, Outcome
from notify.delivery.ratelimit import RateLimiter

Sleep = Callable[[float], Awaitable[object]]


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
    """One channel's queue, workers and limiter, shared by all its jobs in the run."""

    def __init__(self, config: ChannelConfig, clock: Callable[[], float], sleep: Sleep) -> None:
        self.size = max(1, int(config.concurrency))
        self.queue: deque[Entry] = deque()
        self.workers = 0
        self.limiter = RateLimiter(config.rate_limit, clock=clock, sleep=sleep)
        self.batch = max(1, int(config.adapter.batch_size()))  # jobs one request carries


@dataclass(slots=True)
class Verdict:
    """What one receipt means for its delivery: settled (outcome), or to be tried again."""

    entry: Entry
    outcome: Outcome | None  # None: retry, after `wait` at least
    delivered: bool = False
    error: str = ""
    wait: float | None = None
    record: dict[str, Any] = field(default_factory=dict)  # finish()'s arguments, once settled
