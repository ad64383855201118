"""A static web host for a `site` channel's folder, and a sample page that embeds its banner.

`/site/...` serves the folder's files as any static host does (GitHub Pages, an S3 bucket,
nginx): GET and HEAD only, a content type by extension, `index.html` for a folder, no path
outside the folder, and `Access-Control-Allow-Origin: *` so the banner script on another
origin may read `api/v2/summary.json` (GitHub Pages sends it too; the README shows nginx's line).
`/example/` is a page of some other website with the banner's one script tag on it; `?site=URL`
points it at a site served elsewhere (another origin, as in production).
"""

from __future__ import annotations

import html
import mimetypes
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from notify.sandbox.core.emulator import Emulator, Request, Response, SandboxState
from notify.sandbox.credentials import Credentials

__all__ = ["ExamplePageEmulator", "SiteHostEmulator"]

SITE_DIR = "site"  # the folder the sandbox's site channel writes to, relative to channels.yaml
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml",
    ".rss": "application/rss+xml",
    ".svg": "image/svg+xml",
    ".xml": "application/xml",
}


class SiteHostEmulator(Emulator):
    name = "site"

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state)
        self.folder: Path | None = None  # None: ./site of the sandbox's working folder

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {"site": {"type": "site", "dir": SITE_DIR, "url": cls.base_url(root)}}

    def serve(self, folder: Path) -> None:
        """Serve `folder` from now on."""
        self.folder = folder

    async def handle(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", {"Allow": "GET, HEAD"})
        root = (self.folder or Path.cwd() / SITE_DIR).resolve()
        relative = req.path.lstrip("/")
        target = (root / relative).resolve()
        if target != root and root not in target.parents:
            return Response(404, "not found")
        if target.is_dir():
            if not req.path.endswith("/"):  # so that the pages' relative links resolve
                return Response(301, "", {"Location": req.url.split("?")[0] + "/"})
            target = target / "index.html"
        if not target.is_file() or target.name.startswith("."):
            return Response(404, "not found", _cors())
        kind = _TYPES.get(target.suffix) or mimetypes.guess_type(target.name)[0]
        headers = {"Content-Type": kind or "application/octet-stream", "Cache-Control": "no-cache"}
        return Response(200, target.read_bytes(), {**headers, **_cors()})


def _cors() -> dict[str, str]:
    return {"Access-Control-Allow-Origin": "*"}


class ExamplePageEmulator(Emulator):
    name = "example"

    @classmethod
    def channels(cls, root: str, credentials: Credentials) -> dict[str, dict[str, Any]]:
        return {}  # a web page, not a provider: no channel talks to it

    async def handle(self, req: Request) -> Response:
        if req.method not in ("GET", "HEAD"):
            return Response(405, "method not allowed", {"Allow": "GET, HEAD"})
        site = (req.query.get("site") or [""])[-1].rstrip("/")
        parts = urlsplit(site)
        if not site or parts.scheme not in ("http", "https") or not parts.netloc:
            site = "/site"  # this sandbox's own site host
        script = html.escape(f"{site}/embed/banner.js")
        page = _PAGE.replace("{script}", script)
        return Response(200, page, {"Content-Type": "text/html; charset=utf-8"})


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Acme Cloud: the shop</title>
<script src="{script}" async></script>
</head>
<body style="margin:0;font:16px/1.5 system-ui,sans-serif;color:#1f2328;background:#fff">
<header style="padding:16px 24px;border-bottom:1px solid #d0d7de">
<strong>Acme Cloud</strong></header>
<main style="padding:24px;max-width:40rem">
<h1>Welcome to the shop</h1>
<p>This stands for any page of your own website. The one script tag in its head shows a banner
above it while an incident or maintenance is active on the status site, and nothing otherwise.</p>
</main>
</body>
</html>
"""
