"""Templates within bounds: a block that renders for too long or too much is stopped.

Each block's rendering gets a deadline (NOTIFY_TEMPLATE_TIMEOUT seconds, default 5) and an
output budget (MAX_OUTPUT characters). The sandboxed environment checks both where a template
can spend without bound: every loop's iteration (for-loop iterables are wrapped when a template
is parsed), every call, every piece of output, and `*` / `**`, whose single C-level operation
(`'x' * 10**9`) could take gigabytes before any check ran. Jinja is imported inside functions.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

DEFAULT_SECONDS = 5.0
MAX_OUTPUT = 2_000_000  # characters a block may produce: 20 times Gmail's clipping size
MAX_POWER_BITS = 100_000  # `**` results past this many bits are refused before computing them
_LOOP_NAME = "__notify_bounded_loop"
_CHECK_EVERY = 256  # loop iterations between clock readings


class RenderBudgetExceeded(Exception):
    """A block ran past its time or output budget."""


def seconds_allowed() -> float:
    """The time budget of one block: $NOTIFY_TEMPLATE_TIMEOUT, else 5 seconds."""
    raw = os.environ.get("NOTIFY_TEMPLATE_TIMEOUT", "").strip()
    try:
        value = float(raw) if raw else DEFAULT_SECONDS
    except ValueError:
        return DEFAULT_SECONDS
    return value if value > 0 else DEFAULT_SECONDS


class Budget:
    """One block's deadline and the output it has produced so far."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise RenderBudgetExceeded(f"it rendered for more than {self.seconds:g} s")

    def check_size(self, size: int) -> None:
        if size > MAX_OUTPUT:
            raise RenderBudgetExceeded(f"its output passed {MAX_OUTPUT:,} characters")


_UNBOUNDED = Budget(float("inf"))


def render_bounded(env: SandboxedEnvironment, pieces: Iterable[str]) -> str:
    """Join a block's output under a fresh budget set on `env` (RenderBudgetExceeded past it)."""
    budget = Budget(seconds_allowed())
    previous = getattr(env, "notify_budget", _UNBOUNDED)
    env.notify_budget = budget  # type: ignore[attr-defined]
    try:
        parts: list[str] = []
        size = 0
        for piece in pieces:
            size += len(piece)
            budget.check_size(size)
            budget.check_time()
            parts.append(piece)
        return "".join(parts)
    finally:
        env.notify_budget = previous  # type: ignore[attr-defined]


def _sized(value: Any) -> int | None:
    return len(value) if isinstance(value, str | bytes | list | tuple) else None


@cache
def bounded_sandbox_class() -> type[SandboxedEnvironment]:
    """SandboxedEnvironment that keeps every rendering within `env.notify_budget`."""
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment

    class BoundedSandbox(SandboxedEnvironment):
        intercepted_binops = frozenset({"*", "**"})
        notify_budget: Budget = _UNBOUNDED

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.globals[_LOOP_NAME] = self._bounded_loop

        def _bounded_loop(self, iterable: Any) -> Iterator[Any]:
            budget = self.notify_budget
            for count, item in enumerate(iterable):
                if count % _CHECK_EVERY == 0:
                    budget.check_time()
                yield item

        def _parse(self, source: str, name: str | None, filename: str | None) -> Any:
            tree = super()._parse(source, name, filename)
            for loop in tree.find_all(nodes.For):
                loop.iter = nodes.Call(
                    nodes.Name(_LOOP_NAME, "load"), [loop.iter], [], None, None
                ).set_lineno(loop.lineno)
            return tree

        def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
            budget = self.notify_budget
            budget.check_time()
            if operator == "*":
                for seq, times in ((left, right), (right, left)):
                    size = _sized(seq)
                    if size is not None and isinstance(times, int):
                        budget.check_size(size * times)
            elif (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right * left.bit_length() > MAX_POWER_BITS
            ):
                raise RenderBudgetExceeded(f"{left} ** {right} is too large a number to compute")
            return super().call_binop(context, operator, left, right)

        def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
            __self.notify_budget.check_time()
            result = super().call(__context, __obj, *args, **kwargs)
            size = _sized(result)
            if size is not None:
                __self.notify_budget.check_size(size)
            return result

    return BoundedSandbox
