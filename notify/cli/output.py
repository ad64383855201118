"""Where a command's words go: results (or one JSON document) on stdout, notes on stderr.

Every byte written goes through notify.secrets.redact, so a secret that slipped into a provider's
error text or a rendered message is still never printed. Every piece of text shown goes through
`printable` on its way to the terminal, so control characters that came from outside (a
provider's error body, a file, a message, an error replayed from the journal) are shown, not
obeyed: no escape sequence but rich's own styling reaches the terminal.
"""

from __future__ import annotations

import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from typing import IO, TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from notify.secrets import redact

if TYPE_CHECKING:
    from rich.console import Console

    from notify.cli.options import GlobalOptions

T = TypeVar("T")


# C0 controls but newline and tab, DEL, C1 controls (0x9b is a one-byte CSI to some terminals),
# and the bidirectional overrides that make text read other than it is ("Trojan Source").
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _picture(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code < 0x20:
        return chr(0x2400 + code)  # its Unicode control picture: ESC shows as ␛
    return "␡" if code == 0x7F else "\ufffd"


def printable(text: str) -> str:
    """`text` with every control character but newline and tab replaced by a visible stand-in."""
    return _CONTROL.sub(_picture, text)


@cache
def _console_class() -> type[Console]:
    from rich.console import Console
    from rich.segment import Segment
    from rich.text import Text

    class PrintableConsole(Console):
        """A rich Console that neutralises control characters in the text it is given, at the
        one place where text becomes terminal output: after layout, before rich adds its own
        escape codes (styles, links), so those alone reach the terminal."""

        def render_str(self, text: str, **options: Any) -> Text:
            # Secrets out before layout: wrapped across two lines, a secret's pieces would no
            # longer match what the stream redacts.
            return super().render_str(redact(text), **options)

        def _render_buffer(self, buffer: Iterable[Segment]) -> str:
            return super()._render_buffer(
                segment if segment.control else Segment(printable(segment.text), segment.style)
                for segment in buffer
            )

    return PrintableConsole


class RedactingStream(io.TextIOBase):  # rich accepts any text stream; typed IO[str] below
    """A text stream that scrubs secrets from everything written through it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        self._stream.write(redact(text))
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return bool(getattr(self._stream, "isatty", lambda: False)())

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return str(getattr(self._stream, "encoding", "utf-8") or "utf-8")


class Output:
    """stdout for results (or JSON), stderr for progress, prompts and notes."""

    def __init__(self, options: GlobalOptions) -> None:
        self.options = options
        self._out: Console | None = None
        self._err: Console | None = None

    @property
    def out(self) -> Console:
        if self._out is None:
            stream = cast("IO[str]", RedactingStream(sys.stdout))
            self._out = _console_class()(file=stream, highlight=False, soft_wrap=False)
        return self._out

    @property
    def err(self) -> Console:
        if self._err is None:
            stream = cast("IO[str]", RedactingStream(sys.stderr))
            self._err = _console_class()(file=stream, highlight=False, stderr=True)
        return self._err

    def err_is_terminal(self) -> bool:
        """rich's answer to whether stderr is a terminal, without loading rich when it plainly
        is not (a script's or a pipeline's run) and no variable rich reads forces one."""
        if self._err is None and not _may_be_terminal(sys.stderr):
            return False
        return self.err.is_terminal

    def json(self, document: Any) -> None:
        # Indented for people; one compact line for scripts (json's C encoder skips indenting,
        # and a 100,000-delivery report is seconds faster without it).
        if sys.stdout.isatty() or not isinstance(document, dict):
            text = json.dumps(document, indent=2, ensure_ascii=False, default=_json_default)
            sys.stdout.write(redact(text) + "\n")
        else:
            write_compact(document, sys.stdout.write)
        sys.stdout.flush()

    def note(self, text: str) -> None:
        """A line for people (stderr), silenced by -q; wrapped only on a terminal."""
        if not self.options.quiet:
            self.err.print(text, soft_wrap=not self.err.is_terminal)

    def line(self, text: str) -> None:
        """A sentence on stdout (markup). On a terminal it wraps to the window; in a pipe, a file
        or a CI log it stays one line, whatever its length (a wrap there would cut it in two)."""
        self.out.print(text, soft_wrap=not self.out.is_terminal)


def _may_be_terminal(stream: IO[str]) -> bool:
    if os.environ.get("TTY_COMPATIBLE") == "1" or os.environ.get("FORCE_COLOR"):
        return True  # what rich's Console.is_terminal honours before asking the stream
    try:
        return stream.isatty()
    except ValueError:  # closed
        return False


class JsonRows(Sequence[dict[str, Any]], Generic[T]):
    """A document's list of objects, each made only when it is read: `Output.json` writes a
    100,000-delivery document one delivery at a time, never holding 100,000 dicts or one string
    of them all."""

    def __init__(self, items: Sequence[T], convert: Callable[[T], dict[str, Any]]) -> None:
        self._items = items
        self._convert = convert

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._convert(item) for item in self._items[index]]
        return self._convert(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return map(self._convert, self._items)


def _json_default(value: Any) -> Any:
    return list(value) if isinstance(value, JsonRows) else str(value)


# One encoder for every piece: json.dumps would build a new one per call with these options.
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_json_default)


def write_compact(document: dict[str, Any], write: Callable[[str], Any]) -> None:
    """`document` as json.dumps writes it on one line, a top-level list item by item. Each piece
    is redacted whole: a secret cannot straddle two values."""
    encode = _ENCODER.encode
    write("{")
    for index, (key, value) in enumerate(document.items()):
        write(f"{', ' if index else ''}{encode(key)}: ")
        if isinstance(value, list | JsonRows):
            write("[")
            # A thousand items encoded as one list (json sets up its encoder once per call, a
            # third of the time when it was called per item), written without its brackets.
            for start in range(0, len(value), 1000):
                chunk = value[start : start + 1000]
                write((", " if start else "") + redact(encode(chunk)[1:-1]))
            write("]")
        else:
            write(redact(encode(value)))
    write("}\n")
