"""The status page and the banner in a real browser: Debian's headless Chromium loading a page
of "another website" that embeds the banner script from the sandbox-served site, before, during
and after an incident; and the status page read as a screen reader gets it.

Screenshots (light, dark, a 390 px phone) go to $NOTIFY_SCREENSHOTS when it is set.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.site.cdp import Browser, browser, find_chromium
from tests.site.conftest import SiteWorkspace

CHROMIUM = find_chromium()
if CHROMIUM is None and not os.environ.get("NOTIFY_REQUIRE_BROWSER"):
    pytest.skip(
        "needs Debian's chromium (apt-get install chromium; .ci/run installs it)",
        allow_module_level=True,
    )

BANNER = "document.querySelector('[data-notify-banner]')"
BANNER_TEXT = f"{BANNER} && {BANNER}.shadowRoot.textContent"
# Luminance contrast of an element's text against the page, as WCAG 2 computes it.
CONTRAST = """(selector) => {
  const rgb = (c) => c.match(/[\\d.]+/g).slice(0, 3).map(Number);
  const lum = (c) => { const [r, g, b] = rgb(c).map((v) => { v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
  const el = document.querySelector(selector);
  let bgEl = el, bg = getComputedStyle(bgEl).backgroundColor;
  while (bg === 'rgba(0, 0, 0, 0)' && bgEl.parentElement) {
    bgEl = bgEl.parentElement; bg = getComputedStyle(bgEl).backgroundColor; }
  if (bg === 'rgba(0, 0, 0, 0)') bg = getComputedStyle(document.body).backgroundColor;
  const [a, b] = [lum(getComputedStyle(el).color), lum(bg)].sort((x, y) => y - x);
  return (a + 0.05) / (b + 0.05);
}"""


@pytest.fixture(scope="module")
def chrome() -> Iterator[Browser]:
    assert CHROMIUM is not None, "CI needs Debian's chromium: .ci/run installs it"
    with browser(CHROMIUM) as opened:
        yield opened


def shots() -> Path | None:
    folder = os.environ.get("NOTIFY_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder)


def publish_before_any_incident(ws: SiteWorkspace) -> None:
    result = ws.run("site", "build")
    assert result.code == 0, result.output


def example_page(ws: SiteWorkspace) -> str:
    """The sample page, on another origin than the site (localhost vs 127.0.0.1)."""
    site = ws.url
    return site.replace("127.0.0.1", "localhost").replace("/site", "/example/") + f"?site={site}"


def load_and_settle(chrome: Browser, ws: SiteWorkspace, url: str) -> None:
    """Load `url`; return once the banner script has read summary.json (and acted on it)."""
    before = len(_summary_reads(ws))
    chrome.goto(url)
    deadline = time.monotonic() + 10
    while len(_summary_reads(ws)) <= before:
        assert time.monotonic() < deadline, "the banner script never read summary.json"
        time.sleep(0.05)
    time.sleep(0.3)  # the answer reaches the page and the script builds the banner


def _summary_reads(ws: SiteWorkspace) -> list[Any]:
    return [r for r in ws.sandbox.requests("site") if r.path.endswith("/api/v2/summary.json")]


def test_the_banner_before_during_and_after_an_incident(
    site_workspace: SiteWorkspace, chrome: Browser
) -> None:
    ws = site_workspace
    page = example_page(ws)
    publish_before_any_incident(ws)
    load_and_settle(chrome, ws, page)
    assert chrome.evaluate(BANNER) is None  # nothing to say: nothing shown

    opened = ws.send(
        "investigating", "--incident", "checkout-errors", "--title", "Checkout errors",
        "--impact", "major", "--component", "Checkout", "--to", "status-site",
    )  # fmt: skip
    assert opened.code == 0, opened.output
    load_and_settle(chrome, ws, page)
    text = chrome.wait_for(BANNER_TEXT)
    assert "Investigating: Checkout errors" in text and "Details" in text
    link = chrome.evaluate(f"{BANNER}.shadowRoot.querySelector('a').href")
    assert link == f"{ws.url}/incidents/checkout-errors.html"
    tree = {(n["role"], n["name"]) for n in chrome.accessibility_tree()}
    assert ("region", "Service status") in tree
    assert ("button", "Dismiss this status notice") in tree
    if folder := shots():
        chrome.screenshot(folder / "banner-on-another-site.png", full_page=False)

    chrome.evaluate(f"{BANNER}.shadowRoot.querySelector('button').click()")
    assert chrome.evaluate(BANNER) is None
    load_and_settle(chrome, ws, page)
    assert chrome.evaluate(BANNER) is None  # the dismissal is remembered for this update

    later = ws.send("identified", "--incident", "checkout-errors", "--to", "status-site")
    assert later.code == 0, later.output
    load_and_settle(chrome, ws, page)
    assert "Identified: Checkout errors" in chrome.wait_for(BANNER_TEXT)  # a new update: again

    ws.send("resolved", "--incident", "checkout-errors", "--to", "status-site")
    load_and_settle(chrome, ws, page)
    assert chrome.evaluate(BANNER) is None  # resolved: nothing shown


def test_the_status_page_reads_right_without_colours_or_javascript(
    site_workspace: SiteWorkspace, chrome: Browser
) -> None:
    ws = site_workspace
    result = ws.send(
        "investigating", "--incident", "checkout-errors", "--title", "Checkout errors",
        "--message", "Card payments fail for some customers.", "--impact", "major",
        "--component", "Checkout", "--component", "Payments API=major_outage",
        "--set", "workaround=Orders by phone work.", "--to", "status-site",
    )  # fmt: skip
    assert result.code == 0, result.output
    chrome.javascript(False)
    try:
        chrome.goto(f"{ws.url}/")
        nodes = chrome.accessibility_tree()
    finally:
        chrome.javascript(True)
    roles = [n["role"] for n in nodes]
    assert {"banner", "main", "contentinfo", "navigation"} <= set(roles)  # landmarks
    headings = [
        (n["name"], _level(n)) for n in nodes if n["role"] == "heading"
    ]  # what a screen reader lists
    assert ("Acme Cloud status", 1) in headings
    for name in ("What is happening now", "Components", "Scheduled maintenance", "Past incidents"):
        assert (name, 2) in headings
    assert ("Checkout errors", 3) in headings
    words = " ".join(n["name"] for n in nodes if n["role"] in ("StaticText", "text"))
    said = ("Major Service Outage", "Partial outage", "Major outage", "Operational",
            "Investigating", "What you can do meanwhile:", "Orders by phone work.")  # fmt: skip
    for words_said in said:
        assert words_said in words, words_said  # the status is in words, not only in colours
    status = [n for n in nodes if n["role"] == "status"]
    assert status, "the overall status is a live status region"


def _level(node: dict[str, Any]) -> int:
    for prop in node["node"].get("properties", []):
        if prop["name"] == "level":
            return int(prop["value"]["value"])
    return 0


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_text_contrast_and_screenshots(
    site_workspace: SiteWorkspace, chrome: Browser, scheme: str
) -> None:
    ws = site_workspace
    assert ws.send(
        "investigating", "--incident", "checkout-errors", "--title", "Checkout errors",
        "--impact", "major", "--component", "Checkout", "--to", "status-site",
        "--set", "workaround=Orders by phone work.",
    ).code == 0  # fmt: skip
    chrome.color_scheme(scheme)
    try:
        chrome.goto(f"{ws.url}/")
        for selector in ("h1 + section .overall span", ".card h3 a", ".meta", ".updated",
                         ".components .name", "footer.site p", ".meanwhile"):  # fmt: skip
            ratio = chrome.evaluate(f"({CONTRAST})({selector!r})")
            assert ratio >= 4.5, f"{selector} in {scheme}: contrast {ratio:.2f}"
        if folder := shots():
            chrome.screenshot(folder / f"status-{scheme}.png")
            chrome.viewport(390, 844, mobile=True, scale=2)
            chrome.goto(f"{ws.url}/")
            chrome.screenshot(folder / f"status-{scheme}-phone.png")
            chrome.goto(f"{ws.url}/incidents/checkout-errors.html")
            chrome.screenshot(folder / f"incident-{scheme}-phone.png")
    finally:
        chrome.viewport(1280, 900)
        chrome.color_scheme("light")
