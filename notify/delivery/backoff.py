"""How long to wait before trying again: exponential, jittered, never less than asked.

What a provider's wait headers mean in seconds (`Receipt.retry_after`) is read by the adapters,
in notify.channels.http.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

# 2**60 half-seconds is already far past any cap; stops huge attempt numbers overflowing floats.
_MAX_EXPONENT = 60


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
