"""A real headless Chromium driven over the DevTools protocol, with the standard library only.

Chromium's `--remote-debugging-pipe` reads commands from file descriptor 3 and writes answers
and events to 4, as NUL-terminated JSON: no WebSocket client, no browser download (Debian's
`chromium` package; `.ci/run` installs it when missing). The tests use it as a user's browser
would be used: load a page, let its scripts run, read what a screen reader gets (the
accessibility tree), click, and take screenshots.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    """The browser's executable, from $NOTIFY_CHROMIUM or the usual names on PATH."""
    configured = os.environ.get("NOTIFY_CHROMIUM")
    if configured:
        return configured
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class BrowserError(RuntimeError):
    """The browser answered a command with an error, died, or took too long."""


class Browser:
    """One headless Chromium process and one page (tab) in it."""

    def __init__(self, executable: str, *, width: int = 1280, height: int = 900) -> None:
        self._profile = tempfile.mkdtemp(prefix="notify-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        high_r, high_w = os.dup(to_browser_r), os.dup(from_browser_w)

        def plumbing() -> None:  # runs in the child: its fd 3 and 4 are the pipe's ends
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        args = [
            executable,
            "--headless=new",
            "--remote-debugging-pipe",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox cannot start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--hide-scrollbars",
            "--mute-audio",
            f"--user-data-dir={self._profile}",
            f"--window-size={width},{height}",
            "about:blank",
        ]
        self.process = subprocess.Popen(
            args,
            # Kept open in the child: preexec_fn runs before the child closes other fds.
            pass_fds=(3, 4, high_r, high_w),
            preexec_fn=plumbing,  # fd plumbing only, before exec
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for fd in (to_browser_r, from_browser_w, high_r, high_w):
            os.close(fd)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.page("Page.enable")
        self.page("Runtime.enable")
        self.viewport(width, height)

    # -- the protocol ----------------------------------------------------------------------

    def call(
        self, method: str, session: str | None = None, timeout: float = 30.0, **params: Any
    ) -> dict[str, Any]:
        """Send one command and wait for its answer (events meanwhile go to `self.events`)."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            for reply in self._read(deadline):
                if reply.get("id") == self._next_id:
                    if "error" in reply:
                        raise BrowserError(f"{method}: {reply['error']}")
                    result: dict[str, Any] = reply.get("result", {})
                    return result
                self.events.append(reply)

    def page(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        """A command to the page's session."""
        return self.call(method, session=self.session, timeout=timeout, **params)

    def _read(self, deadline: float) -> list[dict[str, Any]]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrowserError("the browser did not answer in time")
            ready, _, _ = select.select([self._from_browser], [], [], left)
            if ready:
                chunk = os.read(self._from_browser, 1 << 20)
                if not chunk:
                    raise BrowserError("the browser closed its pipe (did it crash?)")
                self._buffer += chunk
        *complete, self._buffer = self._buffer.split(b"\0")
        return [json.loads(part) for part in complete if part]

    # -- what a test does with a page ------------------------------------------------------

    def viewport(
        self, width: int, height: int, *, mobile: bool = False, scale: float = 1.0
    ) -> None:
        self.page(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=scale,
            mobile=mobile,
        )

    def color_scheme(self, scheme: str) -> None:
        """Emulate the user's light or dark preference (`prefers-color-scheme`)."""
        self.page(
            "Emulation.setEmulatedMedia",
            features=[{"name": "prefers-color-scheme", "value": scheme}],
        )

    def javascript(self, enabled: bool) -> None:
        self.page("Emulation.setScriptExecutionDisabled", value=not enabled)

    def goto(self, url: str, timeout: float = 15.0) -> None:
        """Load `url` and wait for its load event."""
        self.events.clear()
        self.page("Page.navigate", url=url)
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == "Page.loadEventFired" for e in self.events):
            self.events.extend(self._read(deadline))

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (awaited when it is a promise)."""
        answer = self.page(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in answer:
            raise BrowserError(f"{expression}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll until `expression` is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.05)
        raise BrowserError(f"still false after {timeout} s: {expression}")

    def accessibility_tree(self) -> list[dict[str, Any]]:
        """What assistive technology gets: each node's role and accessible name (ignored nodes
        left out)."""
        self.page("Accessibility.enable")
        nodes = self.page("Accessibility.getFullAXTree")["nodes"]
        out = []
        for node in nodes:
            if node.get("ignored"):
                continue
            role = (node.get("role") or {}).get("value", "")
            name = (node.get("name") or {}).get("value", "")
            out.append({"role": role, "name": name, "node": node})
        return out

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """A PNG of the page (all of it, not only the viewport) at `path`."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.page("Page.getLayoutMetrics")["cssContentSize"]
            params["clip"] = {
                "x": 0,
                "y": 0,
                "width": size["width"],
                "height": size["height"],
                "scale": 1,
            }
        data = self.page("Page.captureScreenshot", **params)["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        with contextlib.suppress(Exception):
            self.process.wait(timeout=10)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_browser, self._from_browser):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self._profile, ignore_errors=True)


@contextlib.contextmanager
def browser(executable: str, **options: Any) -> Iterator[Browser]:
    chrome = Browser(executable, **options)
    try:
        yield chrome
    finally:
        chrome.close()
