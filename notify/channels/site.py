"""The status site: every update re-renders a static site from the journal into a folder.

One delivery per update. The site (pages, feeds, Statuspage-compatible JSON, the banner script,
the badge) is rendered by notify.site from the whole journal, so it always shows every incident
as the journal has it; each file is replaced atomically, so a web server never serves half of
one. The update's own words are this channel's rendering of the template (a `site` block, else
`body`), kept in the delivery's thread data so later renders (and `notify site build`) show them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from notify.channels.base import (
    Channel,
    ChannelCheckError,
    ChannelSpec,
    DeliveryContext,
    Field,
    Length,
    Message,
    Receipt,
    Recipient,
    ThreadRef,
)
from notify.errors import NotifyError
from notify.model import Workspace
from notify.secrets import redact

if TYPE_CHECKING:
    from notify.site.build import BuildReport, SiteOptions

LOCK_NAME = ".notify-site.lock"


class SiteChannel(Channel):
    spec = ChannelSpec(
        type="site",
        fields=(
            Field(
                "dir",
                "path",
                required=True,
                help="the folder the site is written to (relative to channels.yaml)",
            ),
            Field(
                "url",
                "url",
                required=True,
                help="where `dir` is served, like https://status.example.com",
            ),
            Field(
                "history_days",
                "int",
                default=90,
                help="how many days of past incidents the front page lists",
            ),
            Field("title", help="the page's name (default: the organization's name)"),
        ),
        part="body",
        format="html",
        http=False,
        threading="none: each update re-renders the whole site from the journal",
        summary="a static status site (pages, feeds, Statuspage JSON, banner, badge) in a folder",
    )

    @property
    def folder(self) -> Path:
        return Path(self.settings.dir)

    def validate(self) -> list[tuple[str, str]]:
        days = self.settings.history_days
        if days is not None and days < 1:
            return [("history_days", f"history_days must be 1 or more, got {days}")]
        return []

    def preflight(self) -> str | None:
        from notify.site.files import writable_problem

        problem = writable_problem(self.folder)
        if problem is None:
            return None
        return (
            f"site channel {self.name!r}: {problem}. Fix `dir` (relative to channels.yaml) or "
            "the folder's permissions; nothing was sent on any channel"
        )

    def measure(self, message: Message) -> Length | None:
        return None

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        from html import escape

        if ctx.journal is None:
            return Receipt(ok=False, error=f"site channel {self.name!r}: no journal to render")
        number = int(ctx.update.get("number") or 0)
        html = message.html or f"<p>{escape(message.text)}</p>"
        try:
            await asyncio.to_thread(self._build, ctx, number, message.text, html)
        except NotifyError as exc:  # a page template that does not render
            return Receipt(ok=False, error=redact(str(exc)))
        except OSError as exc:
            return Receipt(
                ok=False,
                error=f"site channel {self.name!r}: cannot write the site into "
                f"{self.folder}: {exc.strerror or exc}",
            )
        incident = str(ctx.incident.get("id") or "")
        return Receipt(
            ok=True,
            provider_message_id=f"{self.settings.url.rstrip('/')}/incidents/{incident}.html",
            thread_data={"update": number, "text": message.text, "html": html},
        )

    def _build(self, ctx: DeliveryContext, number: int, text: str, html: str) -> BuildReport:
        from notify.site.build import build_site
        from notify.site.history import CurrentEntry

        assert ctx.journal is not None
        current = CurrentEntry(str(ctx.incident.get("id") or ""), number, text, html)
        workspace = ctx.workspace or Workspace(organization=dict(ctx.org))
        with site_lock(self.folder):
            return build_site(ctx.journal, self.options(), workspace, current=current)

    def options(self) -> SiteOptions:
        """This channel's settings as the renderer takes them (notify.site.build.SiteOptions)."""
        from notify.site.build import SiteOptions

        return SiteOptions(
            dir=self.folder,
            url=self.settings.url,
            channel=self.name,
            history_days=self.settings.history_days,
            title=self.settings.title,
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        problem = self.preflight()
        if problem:
            raise ChannelCheckError(problem)
        return f"site: {self.folder} is writable; served at {self.settings.url}"


@contextlib.contextmanager
def site_lock(folder: Path) -> Iterator[None]:
    """Renders of one folder one at a time, across processes: two runs publishing at once must
    not write an older journal's pages over a newer one's."""
    folder.mkdir(parents=True, exist_ok=True)
    handle = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            import fcntl
        except ImportError:  # Windows: one process at a time is the usual case there
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        os.close(handle)
