"""`notify demo`: a sample incident through every real adapter into an in-process sandbox.

Three updates (investigating, identified, resolved) go out over every channel type; then the demo
shows what each emulated provider received, with the threads and reply chains it recorded. The
sandbox serves the demo's status site meanwhile: the demo prints the address of the live status
page and of a sample page of "your website" with the banner on it (and, at a terminal, waits
while the incident is open and at the end, so they can be opened in a browser).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from notify.cli.app import App, is_interactive, open_journal_at
from notify.cli.documents import result_document
from notify.cli.options import global_options, options_of
from notify.cli.output import Output
from notify.cli.views import summary_line
from notify.delivery.inputs import UpdateRequest, parse_duration
from notify.exitcodes import ExitCode
from notify.model import DeliveryStatus

if TYPE_CHECKING:
    from notify.cli.options import GlobalOptions
    from notify.sandbox import Sandbox

STEPS = [
    (
        "investigating",
        "We are seeing errors for some customers at checkout and are investigating.",
        {"workaround": "Orders placed by phone are not affected."},
        "30m",
    ),
    (
        "identified",
        "A database failover left the payments service with stale connections; "
        "we are restarting it.",
        {},
        "30m",
    ),
    (
        "resolved",
        "Payments are working normally again. Orders that failed were not charged.",
        {"compensation": "a 10% credit on this month's invoice"},
        None,
    ),
]

DEMO_TITLE = "Checkout errors"
DEMO_CALLER = "+14155550123"  # a customer who calls the support line and asks for a call-back
DEMO_COMPONENTS = [  # as the sandbox's Statuspage page has them
    {"name": "Website"},
    {"name": "Checkout", "description": "Cart and payment pages"},
    {"name": "Payments API", "group": "Platform"},
    {"name": "Mobile app", "group": "Platform"},
]


def demo_config_text(sb: Sandbox, *, journal: str | None = None, website: bool = False) -> str:
    """The demo's channels.yaml: one channel of every messaging type, pointed at `sb`; with
    `website` (the demo itself) also the status site and Statuspage, and the components they
    list. (Tests edit the messaging config by line, so those lines stay where they are.)"""
    from notify.sandbox.config import channel, config_text, voice_channel

    channels = {
        "status-email": channel(
            "smtp",
            sb,
            sender="Acme Status <status@acme.example>",
            to=["oncall@acme.example", "cto@acme.example"],
        ),
        "customers-sms": channel(
            "twilio", sb, to=["+14155550100", "+442071838750"], rate_limit="10/s"
        ),
        "ops-slack": channel("slack", sb),
        "it-teams": channel("teams", sb),
        "community-discord": channel("discord", sb),
        "status-telegram": channel("telegram", sb),
        "mastodon": channel("mastodon", sb),
        "bluesky": channel("bluesky", sb),
        "x": channel("x", sb),
        "status-webhook": channel("webhook", sb),
    }
    groups = {
        "internal": ["status-email", "ops-slack", "it-teams"],
        "public": [
            "customers-sms", "community-discord", "status-telegram", "mastodon", "bluesky", "x",
            "status-webhook",
        ],
    }  # fmt: skip
    if not website:
        return config_text(channels, timezone="UTC", journal=journal, groups=groups)
    channels["status-site"] = channel("site", sb)
    channels["status-page"] = channel("statuspage", sb)
    channels["support-line"] = voice_channel(sb, site="status-site", callback_sms="customers-sms")
    groups["public"] += ["status-site", "status-page", "support-line"]
    return config_text(
        channels, timezone="UTC", journal=journal, components=DEMO_COMPONENTS, groups=groups
    )


@click.command()
@click.option(
    "--keep", "keep_dir", metavar="DIR", help="Keep the demo's config and journal in DIR."
)
@global_options
@click.pass_context
def demo(ctx: click.Context, keep_dir: str | None) -> None:
    """Send a sample incident through every adapter into an in-process sandbox."""
    ctx.exit(run_demo(options_of(ctx), keep_dir=keep_dir))


def run_demo(options: GlobalOptions, *, keep_dir: str | None) -> int:
    from notify.sandbox import Sandbox

    out = Output(options)
    with Sandbox() as sb:
        if keep_dir:
            folder = Path(keep_dir)
            folder.mkdir(parents=True, exist_ok=True)
            return _run(options, out, sb, folder, keep=True)
        with tempfile.TemporaryDirectory(prefix="notify-demo-") as tmp:
            return _run(options, out, sb, Path(tmp))


def _run(
    options: GlobalOptions, out: Output, sb: Sandbox, folder: Path, *, keep: bool = False
) -> int:
    from rich.markup import escape

    from notify.config import load_config_text  # the stages: not for `notify demo --help`
    from notify.delivery.service import send_update

    # The kept config names its journal, so the hint below works from any folder.
    text = demo_config_text(sb, journal="journal.db", website=True)
    (folder / "channels.yaml").write_text(text, encoding="utf-8")
    journal_path = options.journal_override() or str(folder / "journal.db")
    config = load_config_text(
        text, name=str(folder / "channels.yaml"), base_dir=folder, journal=journal_path
    )
    app = App(options=options, config=config)
    journal = open_journal_at(config.journal_path)
    site = sb.serve_site(folder / "site")
    pages = {"status_page": f"{site}/", "banner_sample": sb.base_url("example") + "/"}
    out.note(
        f"[bold]notify demo[/]: a sandbox on {sb.url} (SMTP {sb.smtp_host}:{sb.smtp_port}); "
        f"{len(config.channels)} channels, three updates."
    )
    incident_id: str | None = None
    call: dict[str, Any] = {}
    documents = []
    failed = False
    for template, message, variables, next_update in STEPS:
        request = UpdateRequest(
            template=template,
            incident=incident_id,
            title=DEMO_TITLE,
            message=message,
            vars=dict(variables),
            impact="major",
            components=["Checkout", "Payments API"],
            next_update=parse_duration(next_update) if next_update else None,
        )
        result = send_update(request, config, app.templates, journal)
        assert result is not None  # not a dry run, nothing to decline
        incident_id = result.checked.draft.incident.id
        failed = failed or bool(result.undelivered)
        documents.append(result_document(result.checked, result.update_number, result.outcomes))
        out.note(
            f"update {result.update_number} [cyan]{template}[/]: {summary_line(result.outcomes)}"
        )
        for o in result.outcomes:
            if o.status != DeliveryStatus.SENT:
                line = escape(f"  {o.channel} → {o.recipient}: {o.status}: {o.error}")
                out.note(f"[red]{line}[/]")
        if template == "identified":
            call = _call_the_support_line(out, sb, config)
            if _pausing(options):
                _wait(
                    out, pages, "while the incident is open: the banner shows it", "to resolve it"
                )
    if options.json:
        received = received_summary(sb)
        out.json({"updates": documents, "received": received, "site": pages, "support_line": call})
    else:
        show_received(out, sb)
        _show_call_back(out, sb, call)
        if keep:
            out.note(
                f"the demo's config and journal are in {folder}: try "
                f"`{_show_command(folder, options, incident_id)}`."
            )
        if _pausing(options):
            _wait(out, pages, "now resolved: the banner shows nothing", "to stop the sandbox")
        else:
            where = f" (its files are in {folder / 'site'})" if keep else ""
            _show_pages(out, pages, f"the demo's status site was served while it ran{where}")
    return int(ExitCode.DELIVERY_FAILED if failed else ExitCode.OK)


def _call_the_support_line(out: Output, sb: Sandbox, config: Any) -> dict[str, Any]:
    """A customer calls the support line, hears the update and presses 1 for a text."""
    from rich.markup import escape

    line = config.channels.get("support-line")
    if line is None:
        return {}
    transcript = sb.call(line.adapter.target(), caller=DEMO_CALLER, press="1")
    said = transcript.said()
    out.note(
        f"a customer ({DEMO_CALLER}) called the support line {escape(line.adapter.target())}, "
        "heard the update and pressed 1 for a text when it is fixed:"
    )
    for sentence in said[:-1]:
        out.note(f"  [dim]“{escape(sentence)}”[/]")
    return dict(transcript.to_json())


def _show_call_back(out: Output, sb: Sandbox, call: dict[str, Any]) -> None:
    """The text the caller who pressed 1 got when the incident was resolved."""
    from rich.markup import escape

    if not call:
        return
    texts = [p for p in sb.posts("twilio") if p.get("to") == DEMO_CALLER]
    if texts:
        out.note(
            f"the caller who asked for a call-back got the resolved update by text: "
            f"[dim]{escape(str(texts[-1].get('body', '')))}[/]"
        )
    else:
        out.note(f"[red]the caller {DEMO_CALLER} who asked for a call-back got no text[/]")


def _show_command(folder: Path, options: GlobalOptions, incident_id: str | None) -> str:
    """`notify show` of the demo's incident, as it can be pasted into a shell."""
    import shlex

    words = ["notify", "--config", str(folder / "channels.yaml")]
    if options.journal_override():  # the demo recorded where it was told to
        words += ["--journal", str(options.journal_override())]
    return shlex.join([*words, "show", incident_id or ""])


def _pausing(options: GlobalOptions) -> bool:
    """Wait for the user to look at the pages: only for a person at a terminal."""
    return not options.json and not options.quiet and is_interactive()


def _show_pages(out: Output, pages: dict[str, str], what: str) -> None:
    out.note(f"[bold]{what}[/]")
    out.note(f"  the status page:                {pages['status_page']}")
    out.note(f"  a page of yours with the banner: {pages['banner_sample']}")


def _wait(out: Output, pages: dict[str, str], moment: str, then: str) -> None:
    _show_pages(out, pages, f"live now, {moment}")
    click.prompt(f"Open them in a browser; press Enter {then}", default="", show_default=False,
                 prompt_suffix=" ", err=True)  # fmt: skip


def _threading(post: dict[str, Any]) -> str:
    """How a stored post points at the one before it, whatever the provider calls it."""
    for key in (
        "thread_ts",
        "in_reply_to_id",
        "in_reply_to_tweet_id",
        "reply_to_message_id",
        "in_reply_to",
    ):
        value = post.get(key)
        if value:
            return f"{key}={value}"
    reply = post.get("reply") or post.get("reply_parameters")
    if isinstance(reply, dict):
        if "parent" in reply:
            return f"reply parent={reply['parent'].get('uri', '')}"
        inner = reply.get("in_reply_to_tweet_id") or reply.get("message_id")
        if inner:
            return f"reply to {inner}"
    return ""


def _post_text(provider: str, post: dict[str, Any]) -> str:
    """The words a provider stored, whatever it calls them."""
    if provider == "statuspage":  # an incident, with its updates newest first
        updates = [str(u.get("status")) for u in post.get("incident_updates") or []]
        return f"{post.get('name')}: {' → '.join(reversed(updates))} (one incident)"
    if provider == "twilio":
        return f"to {post.get('to')}: {post.get('body', '')}"
    if provider == "webhook":
        body = post.get("body") or {}
        update = body.get("update") or {}
        incident = body.get("incident") or {}
        number, status = update.get("number"), update.get("status")
        return f"{incident.get('name')} · update {number}: {status} (signed, verified)"
    if provider == "teams":
        texts = post.get("texts") or []
        return " · ".join(str(t) for t in texts[:2]) or str(post.get("text", ""))
    for key in ("text", "content", "status", "body"):
        value = post.get(key)
        if isinstance(value, str) and value:
            return value
    record = post.get("record")
    if isinstance(record, dict) and record.get("text"):
        return str(record["text"])
    return ""


def received_summary(sb: Sandbox) -> dict[str, Any]:
    summary: dict[str, Any] = {}
    for provider in (
        "slack",
        "twilio",
        "teams",
        "discord",
        "telegram",
        "mastodon",
        "bluesky",
        "x",
        "webhook",
        "statuspage",
    ):
        try:
            posts = sb.posts(provider)
        except Exception:  # an emulator this build does not have
            continue
        summary[provider] = [
            {"text": _post_text(provider, p)[:500], "thread": _threading(p)} for p in posts
        ]
    summary["email"] = [
        {
            "to": str(m.get("To")),
            "subject": str(m.get("Subject")),
            "message_id": str(m.get("Message-ID")),
            "in_reply_to": str(m.get("In-Reply-To") or ""),
        }
        for m in sb.emails()
    ]
    return summary


def show_received(out: Output, sb: Sandbox) -> None:
    from rich.panel import Panel
    from rich.text import Text

    for provider, posts in received_summary(sb).items():
        body = Text()
        for n, post in enumerate(posts, 1):
            if provider == "email":
                body.append(f"{n}. to {post['to']}: {post['subject']}\n", style="bold")
                body.append(f"   Message-ID {post['message_id']}")
                if post["in_reply_to"]:
                    body.append(f"  In-Reply-To {post['in_reply_to']}", style="green")
                body.append("\n")
                continue
            first_line = post["text"].strip().splitlines()[0] if post["text"].strip() else ""
            body.append(f"{n}. {first_line[:110]}\n")
            if post["thread"]:
                body.append(f"   ↳ {post['thread']}\n", style="green")
        out.out.print(Panel(body, title=f"{provider}: {len(posts)} received", title_align="left"))
