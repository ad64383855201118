"""Every header an email channel writes, built in this one place for SMTP and SendGrid alike.

Each recipient's message carries its own To, Message-ID, thread headers (In-Reply-To the previous
message, References every earlier one) and one-click unsubscribe link; From, Reply-To, Subject
and Auto-Submitted come from the channel's settings and the rendered message. Values are made
one line first, so nothing a template or an audience file holds can inject a header.
"""

from __future__ import annotations

import functools
from email.policy import SMTP as SMTP_POLICY
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from urllib.parse import quote

from notify.channels.base import Message, Recipient, Settings, ThreadRef

# Fold only past RFC 5322's hard limit: List-Unsubscribe must stay on one line (a folded header
# broke DKIM in nodemailer#1654), and no header we write comes near 998 characters.
# 7bit: non-ASCII bodies go quoted-printable/base64, safe through servers without 8BITMIME.
POLICY = SMTP_POLICY.clone(max_line_length=998, cte_type="7bit")
# RFC 3834: mail from a program, so vacation responders and the like do not answer it.
AUTO_SUBMITTED = {"Auto-Submitted": "auto-generated"}


def one_line_header(text: str) -> str:
    """Header-safe: CR, LF and other control characters become spaces (no header injection)."""
    if not text.isprintable():  # the rare case; checking first keeps 100,000 headers cheap
        text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())


def header_line(name: str, value: str) -> str:
    """One header as EmailMessage would write it under POLICY. Plain ASCII (the usual case)
    goes as it is (lines may run to 998 characters); anything else through the policy's header
    factory, for RFC 2047 encoded words and folding. Values are one line already."""
    if value.isascii() and "=?" not in value:
        return f"{name}: {value}\r\n"
    return str(POLICY.header_factory(name, value).fold(policy=POLICY))


@functools.lru_cache(maxsize=64)
def address_of(value: str) -> str:
    """The address in "Name <address>" (parseaddr is slow, and asked once per message)."""
    return parseaddr(value)[1]


def unsubscribe_token(recipient: Recipient) -> str:
    """The recipient's own token for `{token}` in unsubscribe_url (an audience file's column)."""
    return str(recipient.fields.get("token") or recipient.fields.get("unsubscribe_token") or "")


class EmailHeaders:
    """The headers of one email channel's messages, from its settings, read once."""

    def __init__(self, settings: Settings) -> None:
        sender = settings.from_ or ""
        self.sender = address_of(sender)  # the envelope sender: the bare address
        self.from_header = one_line_header(sender)
        self.reply_to = one_line_header(settings.reply_to) if settings.reply_to else None
        self.unsubscribe_url = settings.unsubscribe_url or ""
        self.domain = (
            settings.message_id_domain or self.sender.rpartition("@")[2] or "notify.invalid"
        )

    def all(
        self, message: Message, recipient: Recipient, thread: ThreadRef, message_id: str
    ) -> list[tuple[str, str]]:
        """Every header of one recipient's message, in the order it is written."""
        headers = [
            ("From", self.from_header),
            ("To", self.to(recipient)),
            ("Subject", self.subject(message)),
            ("Date", formatdate(usegmt=True)),
            ("Message-ID", message_id),
        ]
        if self.reply_to:
            headers.append(("Reply-To", self.reply_to))
        headers += self.thread(thread).items()
        headers += self.unsubscribe(recipient).items()
        headers += AUTO_SUBMITTED.items()
        return headers

    def personal(self, recipient: Recipient, thread: ThreadRef, message_id: str) -> dict[str, str]:
        """The headers that differ per recipient beyond To (a SendGrid personalization's)."""
        return {"Message-ID": message_id, **self.thread(thread), **self.unsubscribe(recipient)}

    @staticmethod
    def to(recipient: Recipient) -> str:
        name = recipient.fields.get("name")
        if not name:
            return recipient.address
        return formataddr((one_line_header(str(name)), recipient.address))

    @staticmethod
    def subject(message: Message) -> str:
        return one_line_header(message.subject or "") or "Incident update"

    def new_message_id(self) -> str:
        return make_msgid(domain=self.domain)

    @staticmethod
    def thread(thread: ThreadRef) -> dict[str, str]:
        """In-Reply-To the previous message, References every earlier one (RFC 5322 §3.6.4)."""
        earlier = [str(h["message_id"]) for h in thread.history if h.get("message_id")]
        previous = thread.previous.get("message_id") if thread.previous else None
        if previous and str(previous) not in earlier:
            earlier.append(str(previous))
        if not earlier:
            return {}
        return {"In-Reply-To": str(previous or earlier[-1]), "References": " ".join(earlier)}

    def unsubscribe(self, recipient: Recipient) -> dict[str, str]:
        """RFC 2369 + RFC 8058 one-click unsubscribe, on one line (folding breaks DKIM)."""
        if not self.unsubscribe_url:
            return {}
        url = self.unsubscribe_url.replace("{recipient}", quote(recipient.address, safe="@"))
        url = one_line_header(url.replace("{token}", quote(unsubscribe_token(recipient), safe="")))
        if not url:
            return {}
        return {
            "List-Unsubscribe": f"<{url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }
