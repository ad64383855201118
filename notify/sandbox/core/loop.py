"""The event loop a sandbox runs on: the caller's own, or a background thread with its own.

Whichever it is, the sandbox's state is only ever changed on that loop's thread: `call` runs a
function there and waits for its result, so synchronous callers (tests, benchmarks) can turn
the knobs of a sandbox serving on another thread.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

__all__ = ["SandboxLoop"]

T = TypeVar("T")


class SandboxLoop:
    """Where the sandbox runs: attached to a running loop, or owning one on a thread."""

    def __init__(self, thread_name: str = "notify-sandbox") -> None:
        self.thread_name = thread_name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._thread: threading.Thread | None = None

    def attach(self) -> None:
        """Use the running loop (called by the sandbox's start, on that loop)."""
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()

    def run_in_thread(self, start: Callable[[], Awaitable[object]]) -> None:
        """Run `start()` on a new loop in a background thread, and keep that loop running;
        returns once `start()` has finished (raising what it raised)."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(start())
            except BaseException as exc:
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name=self.thread_name, daemon=True)
        self._thread.start()
        ready.result()

    def stop_thread(self, stop: Callable[[], Awaitable[object]]) -> None:
        """Run `stop()` on the background loop, then end that loop and its thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(_awaited(stop), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The loop the sandbox runs on, once started."""
        return self._loop

    def on_loop_thread(self) -> bool:
        """Whether the caller runs on the loop's own thread."""
        return self._loop_thread == threading.get_ident()

    def call(self, fn: Callable[[], T]) -> T:
        """fn() on the loop's thread, waiting for its result (directly when already there,
        or when no loop is running)."""
        loop = self._loop
        on_other_thread = self._loop_thread != threading.get_ident()
        if loop is None or not loop.is_running() or not on_other_thread:
            return fn()
        done: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return done.result()


async def _awaited(fn: Callable[[], Awaitable[object]]) -> None:
    await fn()
