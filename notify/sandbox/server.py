"""`Sandbox`: every registered provider emulator on one HTTP server, plus an SMTP server.

It assembles the core (routing, knobs, recording, the HTTP and SMTP servers) around the emulators
the registry lists, on one event loop, and is what tests, `notify demo`, `notify sandbox` and
the benchmarks hold: its addresses, its knobs, and what arrived.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from notify.sandbox.core.emulator import Emulator, SandboxState
from notify.sandbox.core.http import HttpServer
from notify.sandbox.core.knobs import Knobs
from notify.sandbox.core.loop import SandboxLoop
from notify.sandbox.core.recording import ReceivedEmail, Recorded, Recording
from notify.sandbox.core.routing import Router
from notify.sandbox.credentials import Credentials
from notify.sandbox.registry import check_provider, load_emulators

if TYPE_CHECKING:
    from notify.sandbox.core.smtp import SmtpServer
    from notify.sandbox.twiml_player import CallTranscript

__all__ = ["Sandbox"]


class Sandbox:
    """Local stand-ins of every provider API and an SMTP server.

    Use `async with Sandbox() as sb` (or start_async/stop_async) inside a running loop, or
    `with Sandbox() as sb` (start/stop) to run it on a background thread with its own loop.
    """

    def __init__(
        self,
        *,
        credentials: Credentials | None = None,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        http_port: int = 0,
        smtp_port: int = 0,
        smtp_auth_required: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.credentials = credentials or Credentials()
        self.host = host
        self.smtp_host = host
        self.smtp_auth_required = smtp_auth_required
        self.http_port = http_port  # as asked: 0 means any free port; see .url for the real one
        self.requested_smtp_port = smtp_port
        self.state = SandboxState(credentials=self.credentials, clock=clock)
        classes, self.missing = load_emulators()  # missing: providers whose module is absent
        self.emulators: dict[str, Emulator] = {
            provider: cls(self.state) for provider, cls in classes.items()
        }
        self.knobs = Knobs(latency)
        self.recording = Recording()
        router = Router(self.emulators, self.knobs, self.recording, clock)
        self._http = HttpServer(router.dispatch)
        self._smtp: SmtpServer | None = None
        self._loop = SandboxLoop()
        self.url = ""
        self.smtp_port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start_async(self) -> Sandbox:
        """Start serving in the running event loop."""
        from notify.sandbox.core.smtp import start_smtp_server

        self._loop.attach()
        await self._http.start(self.host, self.http_port)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"http://{host}:{self._http.port}"
        try:
            self._smtp = await start_smtp_server(
                self.host,
                self.requested_smtp_port,
                credentials=self.credentials,
                auth_required=self.smtp_auth_required,
                knobs=self.knobs,
                recording=self.recording,
            )
        except BaseException:
            await self.stop_async()
            raise
        self.smtp_port = self._smtp.port
        return self

    async def stop_async(self) -> None:
        """Stop both servers and drop open connections (keep-alive clients included)."""
        smtp, self._smtp = self._smtp, None
        await self._http.close()
        if smtp is not None:
            await smtp.close()

    def start(self) -> Sandbox:
        """Start on a background thread with its own loop; returns once it is serving."""
        self._loop.run_in_thread(self.start_async)
        return self

    def stop(self) -> None:
        """Stop what start() started."""
        self._loop.stop_thread(self.stop_async)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Sandbox:
        return await self.start_async()

    async def __aexit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop_async()

    # -- addresses ---------------------------------------------------------------------------

    def _root(self) -> str:
        if not self.url:
            raise RuntimeError("the sandbox is not started: call start() or start_async()")
        return self.url

    def _emulator(self, provider: str) -> Emulator:
        check_provider(provider)
        emulator = self.emulators.get(provider)
        if emulator is None:
            raise ValueError(f"the {provider} emulator is not installed")
        return emulator

    def base_url(self, provider: str) -> str:
        """What a channel's `base_url` is set to, to talk to this sandbox."""
        return self._emulator(provider).base_url(self._root())

    def webhook_url(self, provider: str, name: str = "demo") -> str:
        """The full URL of a webhook-configured channel (slack, teams, discord, webhook)."""
        url = self._emulator(provider).webhook_url(self._root(), self.credentials, name)
        if url is None:
            creds = self.credentials
            offered = [p for p, e in self.emulators.items() if e.webhook_path(creds, name)]
            raise ValueError(f"{provider!r} has no webhook URL; one of: {', '.join(offered)}")
        return url

    def serve_site(self, folder: Path) -> str:
        """Serve a site channel's folder under /site/ (the demo's, a test's); its URL."""
        from notify.sandbox.sitehost import SiteHostEmulator

        host = self._emulator("site")
        assert isinstance(host, SiteHostEmulator)
        self._loop.call(lambda: host.serve(folder))
        return self.base_url("site")

    # -- the phone: calls to the Twilio emulator's numbers ------------------------------------

    async def call_async(
        self, number: str, caller: str = "+14155550123", press: str | None = None
    ) -> CallTranscript:
        """Call `number` (one of the Twilio account's) as a phone would, on the sandbox's own
        loop: Twilio fetches the number's voice URL and plays its TwiML; `press` is the key
        pressed at a <Gather>. Raises twilio_voice.UnknownNumber for a number not owned."""
        from notify.sandbox.twilio import TwilioEmulator

        twilio = self._emulator("twilio")
        assert isinstance(twilio, TwilioEmulator)
        return await twilio.place_call(number, caller, press)

    def call(
        self, number: str, caller: str = "+14155550123", press: str | None = None
    ) -> CallTranscript:
        """`call_async` from a thread other than the sandbox's (a sandbox started with start()):
        waits for the whole call and returns its transcript."""
        import asyncio

        loop = self._loop.loop
        if loop is None or not loop.is_running():
            raise RuntimeError("the sandbox is not started: call start() first")
        if self._loop.on_loop_thread():
            raise RuntimeError("on the sandbox's own loop: use `await sandbox.call_async(...)`")
        coroutine = self.call_async(number, caller, press)
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result()

    # -- knobs (applied on the loop, so state is only ever mutated there) ---------------------

    def set_latency(self, seconds: float) -> None:
        """Delay every answer (HTTP and SMTP) by `seconds`."""
        self._loop.call(lambda: self.knobs.set_latency(seconds))

    def set_rate_limit(self, provider: str, count: float, period: float = 1.0) -> None:
        """Allow `count` requests per `period` seconds (bursts up to `count`); 0 removes it."""
        check_provider(provider)
        self._loop.call(lambda: self.knobs.set_rate_limit(provider, count, period))

    def fail(
        self, provider: str, status: int, times: int = 1, *, retry_after: float | None = None
    ) -> None:
        """The next `times` requests to `provider` get `status` in the provider's own shape.

        "smtp" takes an SMTP reply code (421, 451, 550...) for the next messages' DATA.
        """
        if provider != "smtp":
            check_provider(provider)
        self._loop.call(lambda: self.knobs.fail(provider, status, times, retry_after))

    def reset(self) -> None:
        """Forget everything received, and every knob (latency back to the constructor's)."""

        def apply() -> None:
            self.knobs.reset()
            for emulator in self.emulators.values():
                emulator.reset()
            self.recording.clear()

        self._loop.call(apply)

    # -- what arrived ------------------------------------------------------------------------

    @property
    def on_request(self) -> Callable[[Recorded], None] | None:
        """Called on the loop with each request as it is answered (the live display)."""
        return self.recording.on_request

    @on_request.setter
    def on_request(self, hook: Callable[[Recorded], None] | None) -> None:
        self.recording.on_request = hook

    @property
    def on_email(self) -> Callable[[ReceivedEmail], None] | None:
        """Called on the loop with each email as it is accepted."""
        return self.recording.on_email

    @on_email.setter
    def on_email(self, hook: Callable[[ReceivedEmail], None] | None) -> None:
        self.recording.on_email = hook

    def requests(self, provider: str | None = None) -> list[Recorded]:
        """Every request received (for one provider), oldest first."""
        return self.recording.requests(provider)

    def delete_post(self, provider: str, post_id: str) -> bool:
        """Delete a post `provider` accepted (its id, ts, message_id or at:// URI), as its author
        would: replies to it then meet the provider's own "not found"."""
        return bool(self._loop.call(lambda: self._emulator(provider).delete_post(post_id)))

    def posts(self, provider: str) -> list[dict[str, Any]]:
        """What `provider`'s emulator accepted, as the provider stored it."""
        return self._loop.call(self._emulator(provider).posts)

    def emails(self) -> list[ReceivedEmail]:
        """Messages accepted over SMTP, in arrival order; each has .envelope_from/.rcpt_tos."""
        return self.recording.emails()
