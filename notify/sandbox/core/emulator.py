"""What a provider emulator is: one request in, one response out, and where it is served.

Every provider emulation subclasses `Emulator` in a module of its own and declares, as data, the
path it is served under, what a channel's `base_url` or webhook URL is to reach it, and the
channels.yaml entries that talk to it; so the core (routing, knobs, recording) knows no provider.
Emulators never touch sockets, so they stay small and testable.
"""

from __future__ import annotations

import copy
import itertools
import math
import secrets as _secrets
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from notify.sandbox.core.http import Request, Response
from notify.sandbox.credentials import Credentials

__all__ = ["Emulator", "FixedWindow", "Request", "Response", "SandboxState", "truthy"]


@dataclass
class SandboxState:
    """What an emulator may read from the sandbox it runs in."""

    credentials: Credentials = field(default_factory=Credentials)
    # Injectable so tests can freeze time (stale-timestamp checks, ts values).
    clock: Callable[[], float] = time.time
    _counter: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def new_id(self, prefix: str = "", hex_len: int = 32) -> str:
        """A unique id: prefix + hex_len hex digits (sequence number + randomness).

        The sequence number keeps ids unique and sortable across one sandbox's
        life; the random tail keeps them from looking like a counter.
        """
        seq = next(self._counter)
        head = f"{seq:012x}"
        if hex_len <= len(head):
            return prefix + head[-hex_len:]
        tail = _secrets.token_hex((hex_len - len(head) + 1) // 2)[: hex_len - len(head)]
        return prefix + head + tail

    def next_seq(self) -> int:
        """A monotonically increasing integer, shared by all emulators."""
        return next(self._counter)


class Emulator(ABC):
    """One provider's API, served under /{name}/ on the sandbox."""

    name: ClassVar[str]  # the first path segment: requests for /{name}/... come here
    api_path: ClassVar[str] = ""  # what a channel's base_url adds after /{name} (Slack: /api)

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._posts: list[dict[str, Any]] = []

    # -- where it is served, and the channels that talk to it ---------------------------------

    @classmethod
    def base_url(cls, root: str) -> str:
        """What a channel's `base_url` is set to, for the sandbox serving at `root`."""
        return f"{root}/{cls.name}{cls.api_path}"

    @classmethod
    def webhook_path(cls, credentials: Credentials, name: str) -> str | None:
        """The path after /{name} of the webhook URL a channel is given; None: no webhooks."""
        return None

    @classmethod
    def webhook_url(cls, root: str, credentials: Credentials, name: str = "demo") -> str | None:
        """The full webhook URL (`name` tells flows or receivers apart), or None."""
        path = cls.webhook_path(credentials, name)
        return None if path is None else f"{root}/{cls.name}{path}"

    @classmethod
    @abstractmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        """channels.yaml entries that talk to this emulator, by a short name; the first is the
        usual one. Each is complete: type, URL, the dummy credentials, and a sample sender and
        recipients where the type needs them."""

    # -- answering ----------------------------------------------------------------------------

    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    @abstractmethod
    async def handle(self, req: Request) -> Response:
        """Answer one request (auth, validation, storage) like the provider would."""

    def rate_limited(self, retry_after: float) -> Response:
        """The provider's 429; override for the provider's exact shape."""
        return Response(
            429,
            {"error": "rate limited", "retry_after": retry_after},
            {"Retry-After": str(max(1, math.ceil(retry_after)))},
        )

    def injected_failure(self, status: int) -> Response:
        """The provider's error shape for a status injected by Sandbox.fail()."""
        return Response(status, {"error": f"injected failure {status}"})

    def posts(self) -> list[dict[str, Any]]:
        """What was accepted, as the provider stored it (deep copies: callers may keep them)."""
        return copy.deepcopy(self._posts)

    def reset(self) -> None:
        self._posts.clear()

    def delete_post(self, post_id: str) -> bool:
        """Delete a post as its author would: the provider forgets it, so a reply to it meets
        the provider's own "not found". False when there is no such post (or no posts)."""
        return False


@dataclass
class FixedWindow:
    """A provider's own fixed rate-limit window, counted for the X-RateLimit-* style headers it
    sends (the limit the sandbox enforces is the rate-limit knob, not this)."""

    limit: int
    period: float
    start: float = 0.0
    used: int = 0

    def roll(self, now: float) -> None:
        """Start a new window when the current one is over."""
        if now - self.start >= self.period:
            self.start, self.used = now, 0

    def hit(self, now: float, cost: int = 1) -> None:
        """Count one call (of `cost` points) in the current window."""
        self.roll(now)
        self.used += cost

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    @property
    def resets_at(self) -> float:
        return self.start + self.period


def truthy(value: Any) -> bool:
    """A boolean parameter as the providers read one from a query string or form: "true", "yes"
    or "1", any case, spaces around ignored (Telegram's Client::to_bool; Slack alike); a JSON
    value by its truth."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)
