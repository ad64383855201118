"""What arrived at the sandbox: every HTTP request with the answer it got, and every email.

Written on the sandbox's loop, read from any thread (tests, the live display), so a lock guards
the lists. Display hooks see each arrival as it happens; one that fails never stops the server.
"""

from __future__ import annotations

import email
import email.policy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, cast

from notify.sandbox.core.http import Request

__all__ = ["RawEmail", "ReceivedEmail", "Recorded", "Recording"]

log = logging.getLogger(__name__)


@dataclass
class Recorded:
    """One request the sandbox received, with the answer it gave."""

    provider: str
    method: str
    path: str  # the full path, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int
    response_body: Any  # decoded JSON where the response was JSON
    response_headers: dict[str, str] = field(default_factory=dict)
    at: float = 0.0

    def json(self) -> Any:
        """The request body decoded as JSON (ValueError if it is not)."""
        return Request(self.method, self.path, body=self.body).json()

    def form(self) -> dict[str, list[str]]:
        return Request(self.method, self.path, body=self.body).form()


class ReceivedEmail(EmailMessage):
    """A parsed message as the sandbox received it, with its SMTP envelope."""

    envelope_from: str = ""
    rcpt_tos: tuple[str, ...] = ()
    authenticated_as: str | None = None  # the AUTH login, None if the client did not log in


@dataclass(frozen=True)
class RawEmail:
    """A message as it arrived, parsed only when someone looks (Sandbox.emails(), on_email).

    Parsing with the modern email policy costs milliseconds a message: done on arrival, it made
    the sandbox, not the client under test, the limit of an SMTP benchmark."""

    data: bytes
    envelope_from: str
    rcpt_tos: tuple[str, ...]
    authenticated_as: str | None

    def parse(self) -> ReceivedEmail:
        message = cast(
            ReceivedEmail,
            email.message_from_bytes(self.data, _class=ReceivedEmail, policy=email.policy.default),
        )
        message.envelope_from = self.envelope_from
        message.rcpt_tos = self.rcpt_tos
        message.authenticated_as = self.authenticated_as
        return message


class Recording:
    """The requests and emails that arrived, oldest first, with optional display hooks."""

    def __init__(self) -> None:
        self.on_request: Callable[[Recorded], None] | None = None
        self.on_email: Callable[[ReceivedEmail], None] | None = None
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._emails: list[ReceivedEmail | RawEmail] = []  # parsed on first look

    def store_request(self, recorded: Recorded) -> None:
        with self._lock:
            self._requests.append(recorded)
        if self.on_request is not None:
            try:
                self.on_request(recorded)
            except Exception:  # a display hook must never take the server down
                log.exception("sandbox on_request hook failed")

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

    def requests(self, provider: str | None = None) -> list[Recorded]:
        """Every request received (for one provider), oldest first."""
        with self._lock:
            return [r for r in self._requests if provider is None or r.provider == provider]

    def emails(self) -> list[ReceivedEmail]:
        """Messages accepted over SMTP, in arrival order."""
        with self._lock:
            parsed = [m.parse() if isinstance(m, RawEmail) else m for m in self._emails]
            self._emails[:] = parsed  # each is parsed once
            return parsed

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self._emails.clear()
