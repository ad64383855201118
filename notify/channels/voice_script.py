"""The support line's call script: TwiML files written into the status site's folder.

Twilio fetches the number's voice URL when someone calls, and a static host (the status site)
answers only GET, so every file here is a complete, static TwiML document:

- `ivr/<incident>.xml`: every open incident's spoken update, inside a one-digit `<Gather>`
  (method GET) that offers a text message when it is fixed, then `<Dial>` to `connect_to` (or
  `<Redirect>` when that is a URL). Once nothing is open on the line the script has no offer.
- `ivr/callback.xml`: where pressing a digit leads: thanks, then hang up. Whether the caller
  pressed 1 is read back later from Twilio's own record of the call (its Events), so this file
  needs no server behind it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

SCRIPT_FOLDER = "ivr"
CALLBACK_FILE = "callback.xml"
_INCIDENT_FILE = re.compile(r"[^A-Za-z0-9._-]")


@dataclass(frozen=True)
class Announcement:
    """What the line says about one incident: its current spoken update."""

    incident_id: str
    text: str


@dataclass(frozen=True)
class ScriptSettings:
    """The voice channel's settings the script needs."""

    voice: str
    language: str
    connect_to: str | None  # a number to <Dial>, a URL to <Redirect> to, or None: hang up
    offer: str  # "Press 1 to get a text message when this is fixed."
    thanks: str  # what callback.xml says
    connecting: str  # said before <Dial>
    gather_seconds: int = 5


def script_name(incident_id: str) -> str:
    """The file of an incident's script, relative to the site folder."""
    return f"{SCRIPT_FOLDER}/{_INCIDENT_FILE.sub('_', incident_id)}.xml"


def script_url(site_url: str, incident_id: str) -> str:
    return f"{site_url.rstrip('/')}/{script_name(incident_id)}"


def callback_url(site_url: str) -> str:
    return f"{site_url.rstrip('/')}/{SCRIPT_FOLDER}/{CALLBACK_FILE}"


def is_script_url(url: str | None, site_url: str) -> bool:
    """Whether a number's voice URL is one of this line's scripts (not a URL to restore)."""
    return bool(url) and str(url).startswith(f"{site_url.rstrip('/')}/{SCRIPT_FOLDER}/")


def _say(text: str, settings: ScriptSettings) -> str:
    voice = quoteattr(settings.voice)
    language = quoteattr(settings.language)
    return f"<Say voice={voice} language={language}>{escape(text)}</Say>"


def _spoken(text: str, settings: ScriptSettings) -> list[str]:
    """One <Say> per paragraph, a short pause between them (TTS reads a wall of text flatly)."""
    paragraphs = [" ".join(p.split()) for p in text.split("\n") if p.strip()]
    lines: list[str] = []
    for number, paragraph in enumerate(paragraphs):
        if number:
            lines.append('<Pause length="1"/>')
        lines.append(_say(paragraph, settings))
    return lines


def script(
    announcements: Sequence[Announcement],
    settings: ScriptSettings,
    site_url: str,
    *,
    offer_callback: bool,
) -> str:
    """One TwiML document: the announcements, the call-back offer, then the way through."""
    spoken: list[str] = []
    for number, announcement in enumerate(announcements):
        if number:
            spoken.append('<Pause length="1"/>')
        spoken.extend(_spoken(announcement.text, settings))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<Response>"]
    if offer_callback:
        action = quoteattr(callback_url(site_url))
        lines.append(
            f'  <Gather numDigits="1" method="GET" action={action} '
            f'timeout="{settings.gather_seconds}">'
        )
        lines.extend(f"    {line}" for line in spoken)
        lines.append(f"    {_say(settings.offer, settings)}")
        lines.append("  </Gather>")
    else:
        lines.extend(f"  {line}" for line in spoken)
    target = settings.connect_to
    if target and target.startswith(("http://", "https://")):
        lines.append(f'  <Redirect method="POST">{escape(target)}</Redirect>')
    elif target:
        lines.append(f"  {_say(settings.connecting, settings)}")
        lines.append(f"  <Dial>{escape(target)}</Dial>")
    else:
        lines.append("  <Hangup/>")
    lines.append("</Response>")
    return "\n".join(lines) + "\n"


def callback_script(settings: ScriptSettings) -> str:
    """`ivr/callback.xml`: thanks, then hang up."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response>\n'
        f"  {_say(settings.thanks, settings)}\n  <Hangup/>\n</Response>\n"
    )


def write_scripts(folder: Path, files: dict[str, str]) -> None:
    """Write each file (relative name -> TwiML) into the site folder, each atomically: a call
    arriving meanwhile gets the old script or the new one, never half of one."""
    from notify.site.files import write_atomic

    for name, text in files.items():
        write_atomic(folder / name, text.encode("utf-8"))
