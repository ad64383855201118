"""The support line (Twilio voice): the update as a call script, and the number pointed at it.

One delivery per update. It writes the incident's TwiML script into the `site` channel's folder
(notify.channels.voice_script), then makes sure the number's voice URL points at it (Twilio
IncomingPhoneNumbers, method GET). The number's own voice URL and method are saved in the
journal before the first switch, so `resolved` and `maintenance-completed` put them back, and a
run killed between switching and journaling never mistakes the incident's script for the
original: the journal's copy was written first.

While several incidents are open the line speaks about all of them; the state of the line
(what it said about each open incident, the saved URL) is the channel's session entry `line`.
Callers who pressed 1 are read back from Twilio's records by notify.channels.voice_calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

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
from notify.channels.http import Answer, HttpChannel, Request, failed, label, one_line
from notify.channels.sms import TWILIO_ACCOUNT_FIELDS, account_sid_problem

if TYPE_CHECKING:
    from pathlib import Path

    from notify.channels.site import SiteChannel
    from notify.channels.voice_script import ScriptSettings

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_API = "2010-04-01"
CLOSING_STATUSES = frozenset({"resolved", "completed"})
LINE_KEY = "line"  # the channel's session entry holding the line's state

_AUTH_HINT = "check account_sid and auth_token (Twilio console > Account info)"


class VoiceChannel(HttpChannel):
    spec = ChannelSpec(
        type="voice",
        fields=(
            Field("provider", default="twilio", choices=("twilio",), help="the voice provider"),
            *TWILIO_ACCOUNT_FIELDS,
            Field(
                "number",
                required=True,
                help="the support line: a voice number of this Twilio account, in E.164",
            ),
            Field(
                "site",
                required=True,
                refers_to="site",
                help="the site channel whose folder and https url serve the call script",
            ),
            Field(
                "connect_to",
                help="after the announcement: a number to put callers through to (E.164), "
                "or a URL of your own call flow",
            ),
            Field(
                "callback_sms",
                refers_to="sms",
                help="an sms channel: callers who press 1 get the resolved update through it",
            ),
            Field("voice", default="Polly.Joanna", help="the Twilio <Say> voice"),
            Field("language", default="en-US", help="the language of the <Say> voice"),
            Field(
                "callback_prompt",
                default="If you would like a text message when this is fixed, press 1 now.",
                help="what the line says to offer a call-back (with callback_sms)",
            ),
            Field(
                "callback_thanks",
                default="Thank you. We will send you a text message as soon as this is fixed. "
                "Goodbye.",
                help="what a caller who pressed 1 hears before the call ends",
            ),
            Field(
                "connecting",
                default="Please hold while we connect you to our support team.",
                help="what the line says before putting the caller through to connect_to",
            ),
        ),
        part="short",
        format="voice",
        default_base_url="https://api.twilio.com",
        threading="one call script per incident; the number points at it until it is resolved",
        summary="the support line: a spoken announcement on a Twilio number, call-backs by SMS",
    )

    def __init__(self, name: str, settings: Mapping[str, Any]) -> None:
        super().__init__(name, settings)
        self.site: SiteChannel | None = None  # the channel `site` names (the loader links it)

    # -- settings ------------------------------------------------------------------------------

    @property
    def _sid(self) -> str:
        return self.settings.account_sid or ""

    def auth(self) -> tuple[str, str]:
        """HTTP Basic credentials of the Twilio account."""
        return (self._sid, self.settings.auth_token or "")

    def target(self) -> str:
        return str(self.settings.number)

    def validate(self) -> list[tuple[str, str]]:
        problem = account_sid_problem(self._sid)
        problems: list[tuple[str, str]] = [problem] if problem else []
        number = str(self.settings.number or "")
        if not E164.match(number):
            problems.append(
                ("number", f"{number!r} is not in E.164: write it like +14155550100, quoted")
            )
        connect_to = str(self.settings.connect_to or "")
        if connect_to and not (
            E164.match(connect_to) or connect_to.startswith(("https://", "http://"))
        ):
            problems.append(
                ("connect_to", f"{connect_to!r} is neither a number in E.164 (+14155550100) "
                 "nor a URL of a call flow (https://...)")
            )  # fmt: skip
        if connect_to == number:
            problems.append(("connect_to", "is the support line itself: callers would loop"))
        return problems

    def link(self, referenced: Mapping[str, Channel]) -> list[tuple[str, str]]:
        from notify.channels.site import SiteChannel

        site = referenced.get("site")
        self.site = site if isinstance(site, SiteChannel) else None
        url = str(site.settings.get("url") or "") if site is not None else ""
        if url and not _fetchable(url):
            return [
                ("site", f"the site channel's url {url} is not https: Twilio fetches the call "
                 "script from it over the internet (http only for a local sandbox)")
            ]  # fmt: skip
        return []

    def preflight(self) -> str | None:
        if self.site is None:
            return f"voice channel {self.name!r}: its `site` channel is not configured"
        return None

    def measure(self, message: Message) -> Length | None:
        from notify.render.length import speech_length

        return speech_length(message.text)

    def script_settings(self) -> ScriptSettings:
        from notify.channels.voice_script import ScriptSettings

        return ScriptSettings(
            voice=str(self.settings.voice),
            language=str(self.settings.language),
            connect_to=self.settings.connect_to or None,
            offer=str(self.settings.callback_prompt),
            thanks=str(self.settings.callback_thanks),
            connecting=str(self.settings.connecting),
        )

    @property
    def site_url(self) -> str:
        return str(self.site.settings.url).rstrip("/") if self.site is not None else ""

    # -- one delivery --------------------------------------------------------------------------

    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        from notify.channels.voice_script import is_script_url, script_url

        site = self.site
        if site is None:
            return failed(f"{label(self)}: its `site` channel is not configured")
        incident = str(ctx.incident.get("id") or "")
        status = str(message.status or ctx.update.get("status") or "")
        closing = status in CLOSING_STATUSES
        line = dict(ctx.store.get(LINE_KEY) or {})
        spoken: dict[str, Any] = dict(line.get("incidents") or {})
        if closing:
            spoken.pop(incident, None)
        else:
            since = (spoken.get(incident) or {}).get("since") or ctx.update.get("at")
            spoken[incident] = {"text": message.text, "since": str(since or "")}
        problem = self._write_scripts(site.folder, incident, message.text, spoken, closing)
        if problem is not None:
            return problem
        number = await self.number(ctx, line)
        if isinstance(number, Receipt):
            return number
        line["number_sid"] = number["sid"]
        if "previous_url" not in line and spoken:
            current = number.get("voice_url") or ""
            # The line's own script is never the URL to put back (a run that died between
            # switching and journaling): the journal's copy, written first, is.
            if not is_script_url(current, self.site_url):
                line["previous_url"] = current
                line["previous_method"] = number.get("voice_method") or "POST"
        line["incidents"] = spoken
        if spoken:  # point at a script that speaks about every open incident
            pointing = incident if incident in spoken else next(iter(spoken))
            target, method = script_url(self.site_url, pointing), "GET"
            ctx.store.set(LINE_KEY, line)  # saved before the number is switched
        elif "previous_url" in line:
            target, method = str(line["previous_url"]), str(line["previous_method"])
        else:  # nothing saved to put back: leave the number as it is
            ctx.store.set(LINE_KEY, {})
            return self._receipt(number["sid"], None, closing)
        if number.get("voice_url") != target or number.get("voice_method") != method:
            answer = await self._update_number(ctx, number["sid"], target, method)
            if not answer.ok:
                return self._refused(answer, "pointing the number at the call script")
        if not spoken:  # the number has its own URL back: nothing left to put back later
            ctx.store.set(LINE_KEY, {})
        return self._receipt(number["sid"], target, closing)

    def _receipt(self, number_sid: str, target: str | None, closing: bool) -> Receipt:
        data = {"number": str(self.settings.number), "voice_url": target, "restored": closing}
        return Receipt(ok=True, provider_message_id=number_sid, thread_data=data)

    def _write_scripts(
        self, folder: Path, incident: str, text: str, spoken: Mapping[str, Any], closing: bool
    ) -> Receipt | None:
        """Every open incident's script (each speaks about them all), this incident's (its
        last words, for calls already on their way to it), and callback.xml."""
        from notify.channels.voice_script import (
            CALLBACK_FILE,
            SCRIPT_FOLDER,
            Announcement,
            callback_script,
            script,
            script_name,
            write_scripts,
        )

        settings = self.script_settings()
        offer = bool(self.settings.callback_sms)
        now_open = [Announcement(i, str(s.get("text") or "")) for i, s in spoken.items()]
        files: dict[str, str] = {}
        for announcement in now_open:
            ordered = [announcement, *(a for a in now_open if a is not announcement)]
            files[script_name(announcement.incident_id)] = script(
                ordered, settings, self.site_url, offer_callback=offer
            )
        if closing:
            last = [Announcement(incident, text), *now_open]
            files[script_name(incident)] = script(
                last, settings, self.site_url, offer_callback=offer and bool(now_open)
            )
        files[f"{SCRIPT_FOLDER}/{CALLBACK_FILE}"] = callback_script(settings)
        try:
            write_scripts(folder, files)
        except OSError as exc:
            return failed(
                f"{label(self)}: cannot write the call script into {folder}: {exc.strerror or exc}"
            )
        return None

    # -- Twilio IncomingPhoneNumbers -----------------------------------------------------------

    @property
    def account_url(self) -> str:
        return f"{self.base_url}/{_API}/Accounts/{quote(self._sid, safe='')}"

    async def number(
        self, ctx: DeliveryContext, line: Mapping[str, Any]
    ) -> dict[str, Any] | Receipt:
        """The number's IncomingPhoneNumber resource (sid, voice_url, voice_method)."""
        known = line.get("number_sid")
        if known:
            url = f"{self.account_url}/IncomingPhoneNumbers/{quote(str(known), safe='')}.json"
            answer = await self.call(ctx, Request("GET", url, auth=self.auth()))
            if answer.ok and answer.fields.get("sid"):
                return answer.fields
            if answer.status != 404:
                return self._refused(answer, "reading the number")
        query = quote(str(self.settings.number), safe="")
        url = f"{self.account_url}/IncomingPhoneNumbers.json?PhoneNumber={query}"
        answer = await self.call(ctx, Request("GET", url, auth=self.auth()))
        if not answer.ok:
            return self._refused(answer, "looking up the number")
        found = answer.fields.get("incoming_phone_numbers")
        if not isinstance(found, list) or not found or not isinstance(found[0], Mapping):
            return failed(
                f"{label(self)}: {self.settings.number} is not a number of this Twilio account: "
                "check `number` (Twilio console > Phone Numbers > Active numbers)"
            )
        return dict(found[0])

    async def _update_number(self, ctx: DeliveryContext, sid: str, url: str, method: str) -> Answer:
        path = f"{self.account_url}/IncomingPhoneNumbers/{quote(sid, safe='')}.json"
        form = {"VoiceUrl": url, "VoiceMethod": method}
        return await self.call(ctx, Request("POST", path, data=form, auth=self.auth()))

    def _refused(self, answer: Answer, doing: str) -> Receipt:
        data = answer.fields
        words = one_line(data.get("message") or answer.snippet(), 200)
        code = data.get("code") or answer.status
        retryable = answer.status in (408, 429) or answer.status >= 500
        hint = _AUTH_HINT if answer.status in (401, 403) else "see twilio.com/docs/api/errors"
        return failed(
            f"{label(self)}: Twilio error {code} while {doing}: {words} — {hint}",
            status_code=answer.status,
            retryable=retryable,
        )

    async def check_online(self, ctx: DeliveryContext) -> str:
        number = await self.number(ctx, {})
        if isinstance(number, Receipt):
            raise ChannelCheckError(number.error or "")
        current = str(number.get("voice_url") or "")
        from notify.channels.voice_script import is_script_url

        where = (
            "points at an incident's call script" if is_script_url(current, self.site_url)
            else "keeps its own voice URL"
        )  # fmt: skip
        return f"voice: {self.settings.number} is a number of this account; it {where}"


def _fetchable(url: str) -> bool:
    """https, or http on this machine (the sandbox): what Twilio can be pointed at."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        return True
    return parts.scheme == "http" and (parts.hostname or "") in ("127.0.0.1", "localhost", "::1")
