"""What a channel type is: its settings as data, and the two things that differ per provider.

An adapter module (one per type, `notify/channels/<type>.py`) defines a `Channel` subclass with a
`spec` (a `ChannelSpec`: fields, which template part it takes, its format, how it threads) and
implements `send` (rendered message + thread reference -> request -> `Receipt`) and, optionally,
`check_online`. The dispatcher owns retries, rate limits, journaling and fallbacks for all of them;
the config loader validates and redacts settings from the same `spec.fields` declaration and
hands the adapter a typed, frozen `Settings` (notify.channels.settings). Adapters that talk HTTP
subclass `HttpChannel` (notify.channels.http), which sends, scrubs and reads answers for them.

Batching (optional): a provider that takes many recipients in one request (SendGrid: up to 1,000
personalizations) overrides `batch_size()` to return how many deliveries one request may carry,
and implements `send_batch(items, ctx)`, which sends them in one request and returns one `Receipt`
per item, in order. The dispatcher then takes up to `batch_size()` deliveries of the channel at
once, paces them as one request, journals each row from its own receipt and re-sends only the
items whose receipt is retryable. Adapters that leave `batch_size()` at 1 are never asked for
`send_batch`.

Built-in and third-party types register the same way: an entry point in the group
`notify.channels` naming the `Channel` subclass.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from notify.channels.settings import (  # re-exported, as the model types are
    BASE_URL_FIELD,
    COMMON_FIELDS,
    SKIP_INVALID_FIELD,
    Field,
    FieldKind,
    Settings,
)
from notify.model import (  # re-exported: adapters and plugins import them from here
    BatchItem,
    Length,
    Message,
    Receipt,
    Recipient,
    SessionStore,
    ThreadRef,
)

__all__ = [
    "BASE_URL_FIELD",
    "COMMON_FIELDS",
    "SKIP_INVALID_FIELD",
    "BatchItem",
    "Channel",
    "ChannelCheckError",
    "ChannelSpec",
    "DeliveryContext",
    "Field",
    "FieldKind",
    "Format",
    "Length",
    "Message",
    "Part",
    "Receipt",
    "Recipient",
    "SessionStore",
    "Settings",
    "ThreadRef",
]

if TYPE_CHECKING:
    import httpx

    from notify.journal.base import Journal
    from notify.model import Workspace

Part = Literal["short", "body"]
"""`short`: one plain text for SMS and social posts. `body`: subject + Markdown body (chat)."""

Format = Literal[
    "plain", "email", "slack", "telegram", "discord", "teams", "webhook", "html", "voice"
]
"""The format `body`/`short` is converted to for a channel type (see notify.render.formats)."""


@dataclass(frozen=True)
class ChannelSpec:
    """A channel type, as data."""

    type: str
    fields: tuple[Field, ...]  # the type's own settings (COMMON_FIELDS are added for it)
    part: Part
    format: Format
    per_recipient: bool = False  # `to:` lists recipients (email, sms): one delivery per recipient
    http: bool = True  # talks HTTP: takes `base_url`, uses the shared httpx client
    default_base_url: str | None = None
    threading: str = "none"  # one line for docs / `channels --types`: how later updates thread
    summary: str = ""  # one line: what the type delivers to

    def declared_fields(self) -> dict[str, Field]:
        """Every setting a channel of this type takes, by name: the common ones, `base_url` for
        HTTP types, `skip_invalid` for per-recipient ones, then its own (which may redeclare a
        common one, as a type that needs `base_url` does)."""
        declared = list(COMMON_FIELDS)
        if self.http:
            declared.append(BASE_URL_FIELD)
        if self.per_recipient:
            declared.append(SKIP_INVALID_FIELD)
        declared.extend(self.fields)
        return {field.name: field for field in declared}


@dataclass(slots=True)
class DeliveryContext:
    """What an adapter may use besides the message: shared clients and the update it belongs to."""

    http: httpx.AsyncClient  # shared by every HTTP channel; adapters pass their own timeout
    store: SessionStore
    incident: Mapping[str, Any]  # id, title, status, impact, components, started_at (ISO 8601)
    update: Mapping[str, Any]  # number, status, message, at, next_update_at, key, template
    org: Mapping[str, Any]  # organization.* from channels.yaml
    delivery_key: str  # stable per (update, channel, recipient): derive idempotency keys from it
    attempt: int = 1
    # For adapters that publish the whole history (the status site): the journal, read only (the
    # update being delivered is already in it), and what channels.yaml says besides channels.
    journal: Journal | None = None
    workspace: Workspace | None = None


def register_values(value: Any) -> None:
    """Register a secret setting's value: text as it is, a mapping's values (`headers`: the
    names are not secret) and a list's items."""
    from notify.secrets import register

    if isinstance(value, Mapping):
        for item in value.values():
            register_values(item)
    elif isinstance(value, list | tuple):
        for item in value:
            register_values(item)
    elif value is not None and not isinstance(value, bool):
        register(value)


class ChannelCheckError(Exception):
    """`check --online` found the credentials or target wrong; the message says what to check."""


class ChannelNotVerified(Exception):
    """`check --online` cannot prove this channel without sending: not a failure, and not a ✓
    either. The message says what was checked, if anything, and what only a delivery proves."""


class Channel(ABC):
    """Base of every channel adapter. Subclasses set `spec` and implement `send`."""

    spec: ClassVar[ChannelSpec]

    def __init__(self, name: str, settings: Mapping[str, Any]) -> None:
        # The config loader passes Settings it checked and typed; anyone else (a test, a plugin's
        # own code) may pass a plain mapping, built here into Settings from the same declaration.
        self.name = name
        self.settings: Settings = (
            settings
            if isinstance(settings, Settings)
            else Settings.build(self.spec.declared_fields().values(), settings)
        )
        self._register_secrets()

    def _register_secrets(self) -> None:
        """Every secret setting is redacted from all output, from this one declaration, whoever
        built the channel (the config loader, a test, a plugin): each secret field's value (each
        value of a mapping, like `headers`, or of a list), and the password inside any URL
        setting. A secret URL (a webhook) is also registered by its path and query: an error may
        quote the URL normalised (host lower-cased, port added), which the whole value would not
        match. Its last path segment and each long query value are registered alone too: that
        is where webhook credentials sit (Slack's and Discord's tokens, a Teams Workflows
        `sig=`), and a proxy may echo just that part."""
        from urllib.parse import parse_qsl, urlsplit

        from notify.secrets import register, register_url

        for value in self.settings.values():
            if isinstance(value, str):
                register_url(value)
        for spec_field in self.spec.fields:
            value = self.settings.get(spec_field.name)
            if not spec_field.secret or not value:
                continue
            register_values(value)
            if spec_field.kind == "url":
                parts = urlsplit(str(value))
                register(parts.path.strip("/"))
                register(parts.query)
                pieces = [parts.path.rstrip("/").rsplit("/", 1)[-1]]
                pieces += [v for _, v in parse_qsl(parts.query)]
                for piece in pieces:
                    if len(piece) >= 16:  # credentials are long; short ones are ordinary words
                        register(piece)

    @property
    def timeout(self) -> float:
        """Seconds to wait for one request (the common `timeout` setting)."""
        return self.settings.timeout

    @property
    def base_url(self) -> str:
        url = self.settings.get("base_url") or self.spec.default_base_url or ""
        return str(url).rstrip("/")

    def validate(self) -> list[tuple[str, str]]:
        """Cross-field rules the field declarations cannot say ("from or messaging_service_sid").

        Returns (field, message-with-how-to-fix) pairs; empty when the settings are fine.
        """
        return []

    def recipients(self) -> list[Recipient]:
        """Who this channel delivers to. Per-recipient types list `to`; others one target."""
        to = self.settings.get("to")
        if self.spec.per_recipient and to is not None:
            values = [to] if isinstance(to, str) else list(to)
            return [Recipient(address=str(v)) for v in values]
        return [Recipient(address=self.target())]

    def target(self) -> str:
        """The one recipient of a non-per-recipient channel, as shown in tables and the journal."""
        return self.name

    def validate_recipient(self, recipient: Recipient) -> str | None:
        """None when the address is valid for this type, else what is wrong and how to fix it."""
        return None

    def link(self, referenced: Mapping[str, Channel]) -> list[tuple[str, str]]:
        """Take the channels this one's `refers_to` fields name (by field), already checked to be
        of the declared types; return (field, problem-with-how-to-fix) pairs about them."""
        return []

    def preflight(self) -> str | None:
        """A problem that must stop the whole send before anything leaves on any channel (a
        folder that cannot be written), with how to fix it; None when there is none. Called for
        every selected channel before the first message; it may look at this machine, never at
        the network."""
        return None

    @abstractmethod
    def measure(self, message: Message) -> Length | None:
        """The message's length as this platform counts it, against its limit (None: no limit)."""

    @abstractmethod
    async def send(
        self, message: Message, recipient: Recipient, thread: ThreadRef, ctx: DeliveryContext
    ) -> Receipt:
        """Deliver one message; never raise for a provider's answer, return a failed Receipt.

        Network errors (timeouts, refused or dropped connections) may propagate as httpx or OSError
        exceptions: the dispatcher treats them as retryable.
        """

    def batch_size(self) -> int:
        """How many deliveries one request may carry; above 1 the dispatcher calls send_batch."""
        return 1

    async def send_batch(self, items: list[BatchItem], ctx: DeliveryContext) -> list[Receipt]:
        """Deliver `items` (at most `batch_size()`) in one request: one Receipt per item, in order.

        As `send`: a provider's answer becomes failed Receipts, never an exception; network errors
        may propagate and count as retryable for every item. `ctx.attempt` is the batch's attempt.
        """
        raise NotImplementedError(f"{type(self).__name__} does not send batches")

    def thread_gone(self, receipt: Receipt) -> bool:
        """Whether a failed answer to a threaded delivery says the post it replies to no longer
        exists (deleted): the dispatcher then posts it unthreaded, once, and later updates
        thread under that new post. Types that thread override it with their provider's words."""
        return False

    async def check_online(self, ctx: DeliveryContext) -> str:
        """Prove the credentials work without sending anything; return what was proven.

        Raise ChannelCheckError (message without secrets) when they do not, and
        ChannelNotVerified when nothing short of sending could tell.
        """
        raise ChannelNotVerified("this channel type has no online check")

    async def close(self) -> None:  # noqa: B027 - optional hook, most adapters hold nothing
        """Release connections (SMTP pools); called once after a run."""
