"""The sandbox: every provider emulator on one HTTP/1.1 server, plus an SMTP server.

One asyncio loop owns all state. The HTTP side is h11 over asyncio streams, one task per
connection (keep-alive, no thread per request), routed by the first path segment. Before an
emulator sees a request the core applies the test knobs: latency, injected failures, and a
per-provider token bucket. Every request is recorded with its response, accepted or not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from notify.sandbox.credentials import Credentials
from notify.sandbox.http import (
    Emulator,
    InjectedFailure,
    Recorded,
    Request,
    Response,
    SandboxState,
    TokenBucket,
    serve_connection,
)

if TYPE_CHECKING:
    from notify.sandbox.smtp import RawEmail, ReceivedEmail, SmtpServer

__all__ = ["EMULATORS", "Recorded", "Sandbox"]

log = logging.getLogger(__name__)
T = TypeVar("T")

EMULATORS: dict[str, str] = {
    "slack": "notify.sandbox.slack:SlackEmulator",
    "twilio": "notify.sandbox.twilio:TwilioEmulator",
    "webhook": "notify.sandbox.webhook:WebhookEmulator",
    "teams": "notify.sandbox.teams:TeamsEmulator",
    "discord": "notify.sandbox.discord:DiscordEmulator",
    "telegram": "notify.sandbox.telegram:TelegramEmulator",
    "mastodon": "notify.sandbox.mastodon:MastodonEmulator",
    "bluesky": "notify.sandbox.bluesky:BlueskyEmulator",
    "x": "notify.sandbox.x:XEmulator",
    "sendgrid": "notify.sandbox.sendgrid:SendgridEmulator",
}


def _load_emulator(spec: str) -> type[Emulator] | None:
    """Import "module:Class"; None when the module does not exist (yet)."""
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        raise
    cls: type[Emulator] = getattr(module, attr)
    return cls


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
        self._initial_latency = latency
        self._latency = latency
        self.state = SandboxState(credentials=self.credentials, clock=clock)
        self.emulators: dict[str, Emulator] = {}
        self.missing: list[str] = []  # providers whose emulator module is not installed
        for name, spec in EMULATORS.items():
            cls = _load_emulator(spec)
            if cls is None:
                self.missing.append(name)
            else:
                self.emulators[name] = cls(self.state)
        self.on_request: Callable[[Recorded], None] | None = None
        self.on_email: Callable[[ReceivedEmail], None] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._failures: dict[str, deque[InjectedFailure]] = {}
        self._lock = threading.Lock()
        self._recorded: list[Recorded] = []
        self._emails: list[ReceivedEmail | RawEmail] = []  # parsed on first look
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._http: asyncio.Server | None = None
        self._smtp: SmtpServer | None = None
        self._connections: set[asyncio.Task[None]] = set()
        self._thread: threading.Thread | None = None
        self.url = ""
        self.smtp_port = 0

    # -- lifecycle ---------------------------------------------------------------------------

    async def start_async(self) -> Sandbox:
        """Start serving in the running event loop."""
        from notify.sandbox.smtp import start_smtp_server

        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._http = await asyncio.start_server(self._on_connection, self.host, self.http_port)
        port = self._http.sockets[0].getsockname()[1]
        self.url = f"http://{self._url_host()}:{port}"
        try:
            self._smtp = await start_smtp_server(self, self.host, self.requested_smtp_port)
        except BaseException:
            await self.stop_async()
            raise
        self.smtp_port = self._smtp.port
        return self

    async def stop_async(self) -> None:
        """Stop both servers and drop open connections (keep-alive clients included)."""
        http, self._http = self._http, None
        smtp, self._smtp = self._smtp, None
        if http is not None:
            http.close()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        if http is not None:
            await http.wait_closed()
        if smtp is not None:
            await smtp.close()

    def start(self) -> Sandbox:
        """Start on a background thread with its own loop; returns once it is serving."""
        ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self.start_async())
            except BaseException as exc:
                ready.set_exception(exc)
                loop.close()
                return
            ready.set_result(None)
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="notify-sandbox", daemon=True)
        self._thread.start()
        ready.result()
        return self

    def stop(self) -> None:
        """Stop what start() started."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        asyncio.run_coroutine_threadsafe(self.stop_async(), loop).result()
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

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

    def _url_host(self) -> str:
        return f"[{self.host}]" if ":" in self.host else self.host

    def _root(self) -> str:
        if not self.url:
            raise RuntimeError("the sandbox is not started: call start() or start_async()")
        return self.url

    def base_url(self, provider: str) -> str:
        """What a channel's `base_url` is set to, to talk to this sandbox."""
        self._check_provider(provider)
        suffix = {"slack": "/slack/api", "discord": "/discord/api/v10"}.get(
            provider, f"/{provider}"
        )
        return self._root() + suffix

    def webhook_url(self, provider: str, name: str = "demo") -> str:
        """The full URL of a webhook-configured channel (slack, teams, discord, webhook)."""
        c = self.credentials
        root = self._root()
        urls = {
            "slack": f"{root}/slack/hooks/services/T0SANDBOX/B0SANDBOX/{c.slack_webhook_secret}",
            "teams": f"{root}/teams/workflows/{name}?sig={c.teams_sig}",
            "discord": (
                f"{root}/discord/api/v10/webhooks/{c.discord_webhook_id}/{c.discord_webhook_token}"
            ),
            "webhook": f"{root}/webhook/{name}",
        }
        if provider not in urls:
            raise ValueError(f"{provider!r} has no webhook URL; one of: {', '.join(urls)}")
        return urls[provider]

    def _check_provider(self, provider: str) -> None:
        if provider not in EMULATORS:
            raise ValueError(f"unknown provider {provider!r}; one of: {', '.join(EMULATORS)}")

    # -- knobs (applied on the loop, so state is only ever mutated there) ---------------------

    def _on_loop(self, fn: Callable[[], T]) -> T:
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

    def set_latency(self, seconds: float) -> None:
        """Delay every answer (HTTP and SMTP) by `seconds`."""

        def apply() -> None:
            self._latency = max(0.0, seconds)

        self._on_loop(apply)

    def set_rate_limit(self, provider: str, count: float, period: float = 1.0) -> None:
        """Allow `count` requests per `period` seconds (bursts up to `count`); 0 removes it."""
        self._check_provider(provider)

        def apply() -> None:
            if count <= 0:
                self._buckets.pop(provider, None)
                return
            now = time.monotonic()
            self._buckets[provider] = TokenBucket(count, count / period, float(count), now)

        self._on_loop(apply)

    def fail(
        self, provider: str, status: int, times: int = 1, *, retry_after: float | None = None
    ) -> None:
        """The next `times` requests to `provider` get `status` in the provider's own shape.

        "smtp" takes an SMTP reply code (421, 451, 550...) for the next messages' DATA.
        """
        if provider != "smtp":
            self._check_provider(provider)

        def apply() -> None:
            queue = self._failures.setdefault(provider, deque())
            queue.extend(InjectedFailure(status, retry_after) for _ in range(times))

        self._on_loop(apply)

    def reset(self) -> None:
        """Forget everything received, and every knob (latency back to the constructor's)."""

        def apply() -> None:
            self._latency = self._initial_latency
            self._buckets.clear()
            self._failures.clear()
            for emulator in self.emulators.values():
                emulator.reset()
            with self._lock:
                self._recorded.clear()
                self._emails.clear()

        self._on_loop(apply)

    # -- what arrived ------------------------------------------------------------------------

    def requests(self, provider: str | None = None) -> list[Recorded]:
        """Every request received (for one provider), oldest first."""
        with self._lock:
            return [r for r in self._recorded if provider is None or r.provider == provider]

    def posts(self, provider: str) -> list[dict[str, Any]]:
        """What `provider`'s emulator accepted, as the provider stored it."""
        self._check_provider(provider)
        emulator = self.emulators.get(provider)
        if emulator is None:
            raise ValueError(f"the {provider} emulator is not installed")
        return self._on_loop(emulator.posts)

    def emails(self) -> list[ReceivedEmail]:
        """Messages accepted over SMTP, in arrival order; each has .envelope_from/.rcpt_tos."""
        from notify.sandbox.smtp import RawEmail

        with self._lock:
            parsed = [m.parse() if isinstance(m, RawEmail) else m for m in self._emails]
            self._emails[:] = parsed  # each is parsed once
            return parsed

    # -- called on the loop by the servers ---------------------------------------------------

    @property
    def latency(self) -> float:
        return self._latency

    def take_failure(self, provider: str) -> InjectedFailure | None:
        queue = self._failures.get(provider)
        return queue.popleft() if queue else None

    def store_email(self, message: RawEmail) -> None:
        hook = self.on_email
        if hook is None:
            with self._lock:
                self._emails.append(message)
            return
        parsed = message.parse()  # the hook shows it now: parse it here, once
        with self._lock:
            self._emails.append(parsed)
        try:
            hook(parsed)
        except Exception:  # a display hook must never take the server down
            log.exception("sandbox on_email hook failed")

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            await serve_connection(reader, writer, self.dispatch)
        finally:
            self._connections.discard(task)

    async def dispatch(self, req: Request) -> Response:
        """Route one request to its emulator through the knobs, and record it."""
        _, _, rest = req.path.partition("/")
        provider, slash, sub = rest.partition("/")
        emulator = self.emulators.get(provider)
        full_path = req.path
        if emulator is None:
            response = self._not_found(provider)
        else:
            req.path = slash + sub
            response = await self._through_knobs(provider, emulator, req)
        body, headers = response.encode()
        response.body, response.headers = body, headers
        recorded = Recorded(
            provider=provider,
            method=req.method,
            path=full_path,
            query=req.query,
            headers=req.headers,
            body=req.body,
            status=response.status,
            response_body=response.json_value(),
            response_headers=headers,
            at=self.state.clock(),
        )
        with self._lock:
            self._recorded.append(recorded)
        if self.on_request is not None:
            try:
                self.on_request(recorded)
            except Exception:  # a display hook must never take the server down
                log.exception("sandbox on_request hook failed")
        return response

    async def _through_knobs(self, provider: str, emulator: Emulator, req: Request) -> Response:
        if self._latency > 0:
            await asyncio.sleep(self._latency)
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
        try:
            return await emulator.handle(req)
        except Exception as exc:  # an emulator bug is a 500, as a real server would answer
            log.exception("sandbox %s emulator failed", provider)
            return Response(500, {"error": f"sandbox {provider} emulator failed: {exc!r}"})

    def _not_found(self, provider: str) -> Response:
        if provider == "":
            return Response(200, {"sandbox": "notify", "providers": sorted(self.emulators)})
        known = sorted(self.emulators)
        return Response(404, {"error": f"no provider {provider!r} here", "providers": known})
