"""`notify sandbox`: serve every provider emulator and an SMTP server until Ctrl-C.

It prints where everything listens and a channels.yaml that points every channel type at it
(the sandbox credentials are public dummies, so they are printed as they are), then one line
per request or email as it arrives. `notify sandbox call NUMBER [--press 1]` rings a number of
the Twilio emulator on a running sandbox, as a phone would, and prints what the caller heard.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import click

from notify.errors import InputError, Location

if TYPE_CHECKING:
    from rich.console import Console

    from notify.sandbox.core.recording import ReceivedEmail, Recorded
    from notify.sandbox.server import Sandbox
    from notify.sandbox.twiml_player import CallTranscript

__all__ = ["channels_yaml", "parse_failure", "parse_rate", "sandbox_command"]

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# C0 and C1 controls, DEL and the bidirectional overrides (as notify.cli.output neutralises).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")

_PERIODS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d*)\s*(s|sec|m|min|h))?\s*$")
_FAIL = re.compile(r"^\s*(\d{3})\s*(?:[xX*]\s*(\d+))?\s*$")


def _split(option: str, value: str, example: str) -> tuple[str, str]:
    provider, eq, rest = value.partition("=")
    if not eq or not provider.strip():
        raise InputError(
            f"{value!r} is not PROVIDER=VALUE",
            where=Location(field=option),
            hint=f"Write it like {option} {example}",
        )
    return provider.strip().lower(), rest


def parse_rate(value: str) -> tuple[str, float, float]:
    """ "twilio=10/s" -> ("twilio", 10.0, 1.0); also N/min, N/h, N/5min, and a bare N (per s)."""
    provider, rest = _split("--rate-limit", value, "twilio=10/s")
    match = _RATE.match(rest)
    if match is None or float(match.group(1)) <= 0:
        raise InputError(
            f"{rest!r} is not a rate",
            where=Location(field=f"--rate-limit {value}"),
            hint="Use N/s, N/min or N/h with N > 0, e.g. twilio=10/s",
        )
    count, multiple, unit = match.groups()
    period = _PERIODS[unit or "s"] * (int(multiple) if multiple else 1)
    return provider, float(count), period


def parse_failure(value: str) -> tuple[str, int, int]:
    """ "slack=503x2" -> ("slack", 503, 2): the next 2 Slack requests get a 503."""
    provider, rest = _split("--fail", value, "slack=503x2")
    match = _FAIL.match(rest)
    if match is None or not 100 <= int(match.group(1)) <= 599:
        raise InputError(
            f"{rest!r} is not STATUS[xTIMES]",
            where=Location(field=f"--fail {value}"),
            hint="Use an HTTP status (an SMTP code for smtp) and a count, e.g. twilio=429x3",
        )
    return provider, int(match.group(1)), int(match.group(2) or 1)


def channels_yaml(sb: Sandbox) -> str:
    """A channels.yaml pointing every channel type the sandbox offers at `sb`."""
    from notify.sandbox.config import config_text, every_channel

    return config_text(every_channel(sb), organization={"name": "Sandbox Cloud"})


def _summary(rec: Recorded) -> str:
    """A few words of what a request carried, for the live display."""
    try:
        data: Any = rec.json()
    except ValueError:
        data = {k: v[-1] for k, v in rec.form().items()}
    if isinstance(data, dict):
        record = data.get("record")
        if isinstance(record, dict):  # Bluesky nests the post
            data = record
        for key in ("text", "status", "content", "Body", "message"):
            if isinstance(data.get(key), str):
                text = " ".join(data[key].split())
                return text if len(text) <= 60 else text[:59] + "…"
    return ""


def _request_line(rec: Recorded) -> str:
    from rich.markup import escape

    colour = "green" if rec.status < 300 else "yellow" if rec.status in (401, 403, 429) else "red"
    stamp = time.strftime("%H:%M:%S", time.localtime(rec.at))
    summary = _summary(rec)
    tail = f"  [dim]{escape(summary)}[/]" if summary else ""
    return (
        f"{stamp}  [bold]{rec.provider or '-':<9}[/] {rec.method:<5} {escape(rec.path)}"
        f"  [{colour}]{rec.status}[/]{tail}"
    )


def _email_line(message: ReceivedEmail) -> str:
    from rich.markup import escape

    stamp = time.strftime("%H:%M:%S")
    to = ", ".join(message.rcpt_tos)
    subject = str(message.get("Subject", ""))
    return (
        f"{stamp}  [bold]{'smtp':<9}[/] MAIL  {escape(to)}  [green]250[/]"
        f"  [dim]{escape(subject)}[/]"
    )


def _print_banner(console: Console, sb: Sandbox) -> None:

    console.print(
        f"[bold]notify sandbox[/] listening on {sb.url} and smtp://{sb.smtp_host}:{sb.smtp_port}"
    )
    for provider in sorted(sb.emulators):
        console.print(f"  {provider:<9} {sb.base_url(provider)}")
    for provider in sb.missing:
        console.print(f"  [yellow]{provider:<9} skipped: its emulator is not installed[/]")
    console.print("\n[bold]channels.yaml[/] pointing every channel here (dummy credentials):\n")
    console.print(channels_yaml(sb), markup=False, highlight=False, soft_wrap=True)
    console.print("[dim]Waiting for requests; Ctrl-C stops.[/]\n")


async def _serve(sb: Sandbox, console: Console) -> None:
    import asyncio
    import contextlib
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, stop.set)
    try:
        await sb.start_async()
    except OSError as exc:
        raise InputError(
            f"cannot listen on {sb.host} (HTTP port {sb.http_port}, SMTP port "
            f"{sb.requested_smtp_port}): {exc.strerror or exc}",
            where=Location(field="--port"),
            hint="Another program may hold the port: pick others with --port / --smtp-port, "
            "or 0 for any free one",
        ) from exc
    try:
        _print_banner(console, sb)
        sb.on_request = lambda rec: console.print(_request_line(rec), soft_wrap=True)
        sb.on_email = lambda msg: console.print(_email_line(msg), soft_wrap=True)
        await stop.wait()
    finally:
        await sb.stop_async()


def _check_provider(provider: str, option: str) -> None:
    from notify.sandbox.registry import EMULATORS

    known = [*EMULATORS, "smtp"] if option == "--fail" else list(EMULATORS)
    if provider not in known:
        raise InputError(
            f"unknown provider {provider!r}",
            where=Location(field=option),
            hint=f"Use one of: {', '.join(known)}",
        )


def _configure(sb: Sandbox, rate_limits: tuple[str, ...], failures: tuple[str, ...]) -> None:
    for value in rate_limits:
        provider, count, period = parse_rate(value)
        _check_provider(provider, "--rate-limit")
        sb.set_rate_limit(provider, count, period)
    for value in failures:
        provider, status, times = parse_failure(value)
        _check_provider(provider, "--fail")
        sb.fail(provider, status, times)


@click.group(
    "sandbox",
    context_settings={"help_option_names": ["-h", "--help"]},
    invoke_without_command=True,
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4010, show_default=True, type=int, help="HTTP port (0: any free).")
@click.option("--smtp-port", default=2525, show_default=True, type=int, help="SMTP port (0: any).")
@click.option("--latency", default=0.0, type=float, metavar="SECONDS", help="Delay every answer.")
@click.option(
    "--rate-limit", "rate_limits", multiple=True, metavar="PROVIDER=N/s",
    help="Answer with the provider's own 429 beyond this rate (repeatable): twilio=10/s.",
)  # fmt: skip
@click.option(
    "--fail", "failures", multiple=True, metavar="PROVIDER=STATUS[xTIMES]",
    help="Fail the next requests with this status (repeatable): slack=503x2.",
)  # fmt: skip
@click.pass_context
def sandbox_command(
    ctx: click.Context,
    host: str,
    port: int,
    smtp_port: int,
    latency: float,
    rate_limits: tuple[str, ...],
    failures: tuple[str, ...],
) -> None:
    """Local stand-ins of every provider API and an SMTP server, for rehearsals and tests."""
    import asyncio

    if ctx.invoked_subcommand is not None:
        return  # `call` talks to a sandbox already serving

    from rich.console import Console

    from notify.sandbox.server import Sandbox

    if latency < 0:
        raise InputError(
            "--latency must not be negative",
            where=Location(field="--latency"),
            hint="Use 0 or more",
        )
    sb = Sandbox(host=host, http_port=port, smtp_port=smtp_port, latency=latency)
    _configure(sb, rate_limits, failures)
    console = Console(highlight=False)
    try:
        asyncio.run(_serve(sb, console))
    except KeyboardInterrupt:
        console.print("\n[dim]notify sandbox stopped.[/]")


@sandbox_command.command("call")
@click.argument("number")
@click.option("--press", metavar="DIGIT", help="The key the caller presses when asked.")
@click.option(
    "--from",
    "caller",
    default="+14155550123",
    show_default=True,
    metavar="NUMBER",
    help="The caller's number.",
)
@click.option(
    "--sandbox", "sandbox_url", default="http://127.0.0.1:4010", show_default=True,
    metavar="URL", help="Where `notify sandbox` is serving.",
)  # fmt: skip
def call_command(number: str, press: str | None, caller: str, sandbox_url: str) -> None:
    """Ring a sandbox Twilio number; print what is heard.

    NUMBER is one of the Twilio account's numbers (the sandbox's channels.yaml uses
    +15005550006). The sandbox fetches the TwiML its voice URL points at, plays it as Twilio
    does, and records the call (Calls.json) and each document fetched (Events.json)."""
    for value, option in ((number, "NUMBER"), (caller, "--from")):
        if not _E164.match(value):
            raise InputError(
                f"{value!r} is not a phone number in E.164",
                where=Location(field=option),
                hint="Write it with + and the country code, digits only: +15005550006",
            )
    if press is not None and (len(press) != 1 or press not in "0123456789*#"):
        raise InputError(
            f"{press!r} is not one key",
            where=Location(field="--press"),
            hint="Press one key: a digit 0-9, * or #",
        )
    transcript = _place_call(sandbox_url.rstrip("/"), number, caller, press)
    click.echo(f"Call {transcript.call_sid}: {transcript.caller} → {transcript.to}")
    for line in transcript.lines:
        click.echo(_transcript_line(line.kind, line.text))


def _place_call(url: str, number: str, caller: str, press: str | None) -> CallTranscript:
    import httpx

    from notify.sandbox.twiml_player import CallTranscript

    body = {"to": number, "from": caller, "press": press}
    try:
        # A call fetches a few documents, each with Twilio's 10 s timeout: wait for all of them.
        response = httpx.post(f"{url}/twilio/_sandbox/calls", json=body, timeout=120)
    except httpx.HTTPError as exc:
        raise InputError(
            f"no sandbox answered at {url}: {exc}",
            where=Location(field="--sandbox"),
            hint="Start one with `notify sandbox` (it listens on http://127.0.0.1:4010), "
            "or give its URL with --sandbox",
        ) from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code == 200 and isinstance(data, dict):
        return CallTranscript.from_json(data)
    problem = data.get("error") if isinstance(data, dict) else None
    raise InputError(
        f"the sandbox at {url} did not place the call: {problem or f'HTTP {response.status_code}'}",
        where=Location(field="NUMBER" if response.status_code == 404 else "--sandbox"),
        hint="Call the Twilio number of the sandbox's channels.yaml: +15005550006",
    )


def _transcript_line(kind: str, text: str) -> str:
    """One step, its kind in a column, its text wrapped to 80 columns under itself."""
    import textwrap

    words = _CONTROL.sub("\ufffd", text)  # a TwiML file's text is shown, not obeyed
    if kind == "say":
        words = f"“{words}”"
    lines = textwrap.wrap(words, width=80 - 11, break_on_hyphens=False) or [""]
    first = f"  {kind:<8} {lines[0]}".rstrip()
    return "\n".join([first, *(f"{'':11}{rest}" for rest in lines[1:])])
