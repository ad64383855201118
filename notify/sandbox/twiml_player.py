"""Plays one inbound call as Twilio does: fetch the number's TwiML, run its verbs, record it all.

Each document fetched is requested with Twilio's voice webhook parameters (a query string for
GET, a form for POST, signed with X-Twilio-Signature) and recorded as one Call Event in the shape
of Twilio's Events list. What the caller hears and does is the `CallTranscript`. Supported verbs:
Say, Play, Pause, Gather (with nested Say/Play/Pause), Dial (a number, or `<Number>` children),
Redirect, Hangup and Reject; a document that cannot be fetched or parsed is Twilio's
"application error" (11200, 11205 or 12100) spoken to the caller, then the call ends.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

__all__ = ["CallTranscript", "Leg", "TranscriptLine", "play_call"]

MAX_DOCUMENTS = 10  # a Redirect loop ends here, as Twilio ends one
FETCH_TIMEOUT = 10.0
APPLICATION_ERROR = "We are sorry, an application error has occurred. Goodbye."
_BODY_LIMIT = 64 * 1024  # what an event keeps of a response body


@dataclass(frozen=True)
class TranscriptLine:
    """One step of a call: kind is fetch, say, play, pause, wait, press, dial, error or hangup."""

    kind: str
    text: str = ""


@dataclass
class CallTranscript:
    """What happened on one call, step by step."""

    call_sid: str
    to: str
    caller: str
    lines: list[TranscriptLine] = field(default_factory=list)

    def add(self, kind: str, text: str = "") -> None:
        self.lines.append(TranscriptLine(kind, text))

    def said(self) -> list[str]:
        """Every sentence spoken to the caller, in order."""
        return [line.text for line in self.lines if line.kind == "say"]

    def to_json(self) -> dict[str, Any]:
        return {
            "call_sid": self.call_sid,
            "to": self.to,
            "from": self.caller,
            "lines": [{"kind": line.kind, "text": line.text} for line in self.lines],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CallTranscript:
        lines = [TranscriptLine(str(x["kind"]), str(x.get("text", ""))) for x in data["lines"]]
        return cls(str(data["call_sid"]), str(data["to"]), str(data["from"]), lines)


@dataclass
class Leg:
    """The call being played: who called which number, and how Twilio reaches the app."""

    call_sid: str
    account_sid: str
    auth_token: str  # signs each request, as Twilio signs with the account's token
    caller: str
    to: str
    press: str | None
    seconds: float = 0.0  # how long the caller has been on the line
    events: list[dict[str, Any]] = field(default_factory=list)


class _CallEnded(Exception):
    """The document asked for the call to end (Hangup, Reject, Dial)."""


class _ApplicationError(Exception):
    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code


async def play_call(
    leg: Leg, url: str, method: str, fallback: tuple[str, str] | None = None
) -> CallTranscript:
    """Play the call from the number's voice `url` (and `fallback` url and method when that
    fails, as Twilio does); the events land in `leg.events`."""
    import httpx

    transcript = CallTranscript(leg.call_sid, leg.to, leg.caller)
    async with httpx.AsyncClient(timeout=FETCH_TIMEOUT, follow_redirects=True) as client:
        player = _Player(leg, transcript, client)
        try:
            try:
                await player.run(url, method)
            except _ApplicationError as error:
                if fallback is None or not fallback[0] or player.documents > 1:
                    raise
                transcript.add("error", str(error))
                await player.run(*fallback)
        except _ApplicationError as error:
            transcript.add("error", str(error))
            transcript.add("say", APPLICATION_ERROR)
        except _CallEnded:
            pass
    transcript.add("hangup")
    return transcript


class _Player:
    def __init__(self, leg: Leg, transcript: CallTranscript, client: Any) -> None:
        self.leg = leg
        self.transcript = transcript
        self.client = client
        self.documents = 0

    async def run(self, url: str, method: str, digits: str | None = None) -> None:
        """Fetch documents and run their verbs until the call ends."""
        next_document: tuple[str, str, str | None] | None = (url, method, digits)
        while next_document is not None:
            url, method, digits = next_document
            root = await self._fetch(url, method, digits)
            next_document = self._run_verbs(root, url) if root is not None else None

    async def _fetch(self, url: str, method: str, digits: str | None) -> ET.Element | None:
        """One document, recorded as one Call Event; None when it is not TwiML to run."""
        import httpx

        self.documents += 1
        if self.documents > MAX_DOCUMENTS:
            raise _ApplicationError(11200, f"more than {MAX_DOCUMENTS} documents on one call")
        params = self._parameters(digits)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise _ApplicationError(11100, f"invalid URL format: {url!r}")
        signed_url, data = url, None
        if method == "GET":
            query = "&".join(q for q in (parts.query, urlencode(params)) if q)
            signed_url = urlunsplit(parts._replace(query=query, fragment=""))
        else:
            data = params
        headers = {
            "User-Agent": "TwilioProxy/1.1",
            "X-Twilio-Signature": _signature(self.leg.auth_token, signed_url, data or {}),
        }
        started = time.monotonic()
        try:
            response = await self.client.request(method, signed_url, data=data, headers=headers)
        except httpx.HTTPError as exc:
            self._record(url, method, params, None, started)
            self.transcript.add("fetch", f"{method} {url} → no answer")
            raise _ApplicationError(11205, f"HTTP connection failure: {exc!r}") from exc
        self._record(url, method, params, response, started)
        self.transcript.add("fetch", f"{method} {url} → {response.status_code}")
        if not 200 <= response.status_code < 300:
            raise _ApplicationError(11200, f"HTTP retrieval failure: {response.status_code}")
        kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind.startswith("audio/"):
            self.transcript.add("play", str(response.url))
            return None
        if kind == "text/plain":
            self._say(response.text)
            return None
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise _ApplicationError(12100, f"Document parse failure: {exc}") from exc
        if root.tag != "Response":
            raise _ApplicationError(12100, f"Document parse failure: root is <{root.tag}>")
        return root

    def _parameters(self, digits: str | None) -> dict[str, str]:
        leg = self.leg
        params = {
            "AccountSid": leg.account_sid,
            "ApiVersion": "2010-04-01",
            "CallSid": leg.call_sid,
            "CallStatus": "ringing" if self.documents == 1 else "in-progress",
            "Called": leg.to,
            "Caller": leg.caller,
            "Direction": "inbound",
            "From": leg.caller,
            "To": leg.to,
        }
        if digits is not None:
            params.update(Digits=digits, FinishedOnKey="")
        return params

    def _record(
        self, url: str, method: str, params: dict[str, str], response: Any, started: float
    ) -> None:
        answer: dict[str, Any] = {
            "request_duration": round((time.monotonic() - started) * 1000),
            "response_code": None,
            "content_type": None,
            "response_body": None,
        }
        if response is not None:
            answer.update(
                response_code=response.status_code,
                content_type=response.headers.get("content-type"),
                response_body=response.content[:_BODY_LIMIT].decode("utf-8", "replace"),
            )
        request = {
            "method": method,
            "url": urlunsplit(urlsplit(url)._replace(query="", fragment="")),
            "parameters": {_snake(k): v for k, v in params.items()},
        }
        self.leg.events.append({"request": request, "response": answer})

    def _run_verbs(self, root: ET.Element, url: str) -> tuple[str, str, str | None] | None:
        """Run one document; the next document to fetch, or None when the call is over."""
        for verb in root:
            if verb.tag == "Gather":
                following = self._gather(verb, url)
                if following is not None:
                    return following
            elif verb.tag == "Redirect":
                target = urljoin(url, (verb.text or "").strip())
                return target, _method(verb, "POST"), None
            elif verb.tag == "Dial":
                self._dial(verb)
            elif verb.tag in ("Hangup", "Reject"):
                raise _CallEnded
            else:
                self._speak(verb)
        return None

    def _speak(self, verb: ET.Element) -> None:
        if verb.tag == "Say":
            self._say("".join(verb.itertext()))
        elif verb.tag == "Play":
            self.transcript.add("play", (verb.text or "").strip())
        elif verb.tag == "Pause":
            length = _number(verb.get("length"), 1)
            self.leg.seconds += length
            self.transcript.add("pause", f"{length:g} s")
        else:
            raise _ApplicationError(12100, f"<{verb.tag}> is not a verb this sandbox plays")

    def _say(self, text: str) -> None:
        words = " ".join(text.split())
        self.leg.seconds += len(words.split()) / 2.5  # about 150 words a minute
        self.transcript.add("say", words)

    def _gather(self, verb: ET.Element, url: str) -> tuple[str, str, str | None] | None:
        for nested in verb:
            if nested.tag not in ("Say", "Play", "Pause"):
                raise _ApplicationError(12100, f"<{nested.tag}> may not be nested in <Gather>")
            self._speak(nested)
        if self.leg.press is None:
            timeout = _number(verb.get("timeout"), 5)
            self.leg.seconds += timeout
            self.transcript.add("wait", f"no key pressed in {timeout:g} s")
            return None  # the gather timed out: the next verb runs
        digits, self.leg.press = self.leg.press, None  # one press per call
        self.transcript.add("press", digits)
        action = urljoin(url, verb.get("action") or url)
        return action, _method(verb, "POST"), digits

    def _dial(self, verb: ET.Element) -> None:
        numbers = [(n.text or "").strip() for n in verb if n.tag == "Number"]
        for number in numbers or [(verb.text or "").strip()]:
            self.transcript.add("dial", number)
        raise _CallEnded  # the sandbox does not bridge the call: it ends here


def _method(verb: ET.Element, default: str) -> str:
    method = (verb.get("method") or default).upper()
    if method not in ("GET", "POST"):
        raise _ApplicationError(12100, f"<{verb.tag} method={method!r}>: GET or POST")
    return method


def _number(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def _snake(name: str) -> str:
    """CallSid -> call_sid, as the Events list writes parameter names."""
    return "".join(f"_{c.lower()}" if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _signature(token: str, url: str, form: dict[str, str]) -> str:
    """X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted form fields, base64."""
    payload = url + "".join(f"{key}{form[key]}" for key in sorted(form))
    digest = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()
