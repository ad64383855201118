"""A spoken script from template Markdown: the text a phone line's voice reads to callers.

The Markdown tree is written as plain sentences (no marks, no list bullets, links as their words),
then tidied for a text-to-speech voice: URLs and the words that only led to them go, emoji and
pictographs go, "&" and "%" become words, and each paragraph is one line of whole sentences.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from notify.render.marks import URL_RE
from notify.render.writers import TextWriter

if TYPE_CHECKING:
    from markdown_it.tree import SyntaxTreeNode

# Stands for a link that is only an address while the script is tidied; never in the output.
_LINK = "\ue002"

# A sentence that only introduced a link ("Details and history: <url>") says nothing without it.
_LEAD_IN_TO_LINK = re.compile(
    rf"(?:^|(?<=[.!?])\s+)[^.!?\n{_LINK}]{{0,80}}:\s*{_LINK}\s*[.!?]?\s*$"
)
# The words left dangling before a removed link: "follow along at", "see", "visit".
_BEFORE_LINK = re.compile(
    rf"(?:[ \t]+(?:at|see|visit|via|on|from|here|to)\b)?[ \t]*[:\-–—]?[ \t]*{_LINK}", re.IGNORECASE
)
_SAID_AS_WORDS = (
    (re.compile(r"\s*&\s*"), " and "),
    (re.compile(r"\s*%"), " percent"),
    (re.compile(r"\s*°"), " degrees"),
    (re.compile(r"#(?=\d)"), "number "),
    (re.compile(r"(?<=\d)–(?=\d)"), " to "),  # a range: "9–17"
    (re.compile(r"[ \t]+(?:-{1,2}|–|—)[ \t]+|[ \t]*[–—][ \t]*"), ", "),  # a dash: a pause
    (re.compile(r"…"), "."),
)
# Characters a voice reads badly or aloud as their names ("asterisk"): Markdown marks left in
# literal text, brackets and the like. "/", "@", "+" and currency signs read fine.
_UNSAID = re.compile(r"[*_#~`|<>\\^=\[\]{}]")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SPACE_BEFORE_PUNCTUATION = re.compile(r"\s+([.,;:!?])")
_REPEATED_PUNCTUATION = re.compile(r"([,;:])\s*(?=[,;:.!?])|\.{2,}")
_SENTENCE_END = ".!?\"'”’)"
_DANGLING_END = " ,;:-"


class SpokenWriter(TextWriter):
    """Plain sentences: no bullets or numbers on list items, headings as their own sentence,
    links as their words (a link that is only its address becomes a placeholder, removed later)."""

    bullet = ""
    rule = ""

    def listing(self, node: SyntaxTreeNode) -> str:
        items = (self.blocks(item.children, sep="\n") for item in node.children)
        return self.item_sep.join(item for item in items if item)

    def quote(self, text: str) -> str:
        return text

    def link(self, inner: str, href: str, label: str) -> str:
        if href.startswith("mailto:"):
            return inner  # an address a voice can say: "support at acme dot com"
        bare = label.strip().rstrip("/")
        is_address = bare in (href.rstrip("/"), re.sub(r"^https?://", "", href).rstrip("/"))
        return _LINK if is_address or URL_RE.fullmatch(bare) else inner


def _speakable_character(char: str) -> bool:
    """False for emoji, pictographs, symbols, joiners and variation selectors."""
    if "\ufe00" <= char <= "\ufe0f":
        return False
    return unicodedata.category(char) not in ("So", "Sk", "Cf", "Co", "Cs", "Cn", "Me")


def _sentences(line: str) -> str:
    """One line tidied into whole sentences, or "" when nothing is left to say."""
    line = _SPACES.sub(" ", line).strip()
    line = _SPACE_BEFORE_PUNCTUATION.sub(r"\1", line)
    line = _REPEATED_PUNCTUATION.sub(lambda m: "." if m.group(0).startswith(".") else "", line)
    line = line.strip(_DANGLING_END)
    if not any(c.isalnum() for c in line):
        return ""
    return line if line.endswith(tuple(_SENTENCE_END)) else f"{line}."


def speakable(written: str) -> str:
    """`SpokenWriter` output (marks removed) as the script a voice reads: one paragraph a line."""
    text = URL_RE.sub(_LINK, written)  # an address inside code, or anywhere the parser left one
    lines = []
    for line in text.split("\n"):
        line = _LEAD_IN_TO_LINK.sub("", line)
        lines.append(_BEFORE_LINK.sub("", line))
    text = "\n".join(lines)
    for pattern, words in _SAID_AS_WORDS:
        text = pattern.sub(words, text)
    text = _UNSAID.sub(" ", text)
    text = "".join(c for c in text if _speakable_character(c))
    text = _EMPTY_BRACKETS.sub("", text)
    paragraphs = []
    for paragraph in re.split(r"\n\s*\n", text):
        said = " ".join(s for s in map(_sentences, paragraph.split("\n")) if s)
        if said:
            paragraphs.append(said)
    return "\n".join(paragraphs)
