"""Shortening a message to fit its channel (`overflow: truncate`), keeping the status link."""

from __future__ import annotations

import re
from collections.abc import Callable

from notify.render.marks import URL_RE

# Punctuation that reads badly right before an ellipsis ("was down, …").
_DANGLING = " \t\n,;:-–—(/"
# The end of a sentence: where a spoken script may stop ("p.m." ends none).
_SENTENCE_END = re.compile(r"(?<![ap]\.m)[.!?…](?=\s)", re.IGNORECASE)


def _word_cuts(text: str) -> list[int]:
    """Positions just after a word, where a cut leaves whole words (URLs have no spaces)."""
    return [i for i in range(1, len(text)) if text[i].isspace() and not text[i - 1].isspace()]


def _sentence_cuts(text: str) -> list[int]:
    """Positions just after a sentence's closing punctuation."""
    return [match.end() for match in _SENTENCE_END.finditer(text)]


def _grapheme_cuts(text: str) -> list[int]:
    """Grapheme boundaries outside URLs: the fallback when even the first word is too long."""
    import regex

    urls = [(m.start(), m.end()) for m in URL_RE.finditer(text)]
    cuts = []
    for match in regex.finditer(r"\X", text):
        pos = match.end()
        if pos < len(text) and not any(start < pos < end for start, end in urls):
            cuts.append(pos)
    return cuts


def _largest(cuts: list[int], ok: Callable[[int], bool]) -> int | None:
    """The largest cut that is ok, by binary search (a longer prefix never fits better)."""
    lo, hi, best = 0, len(cuts) - 1, None
    while lo <= hi:
        mid = (lo + hi) // 2
        if ok(cuts[mid]):
            best, lo = cuts[mid], mid + 1
        else:
            hi = mid - 1
    return best


def truncate_to_fit(
    text: str,
    fits: Callable[[str], bool],
    keep: str | None = None,
    ellipsis: str = "…",
    *,
    at_sentences: bool = False,
) -> str:
    """The longest word-boundary prefix of `text` + ellipsis (+ " " + `keep`) that fits.

    `at_sentences` (a spoken script, where a voice would read a cut word or an ellipsis aloud):
    the longest run of whole sentences that fits, as it is; word cuts only when not one does.

    `keep` (the status link) is moved to the end when it was in the text, so readers can still
    follow it. Cuts never fall inside a URL or a grapheme cluster. Returns `text` unchanged when
    it already fits, and the best remaining effort (the link alone, or "") when nothing does.
    """
    if fits(text):
        return text
    base, suffix = text, ""
    if keep and keep in text:
        at = text.rfind(keep)
        base = f"{text[:at].rstrip()} {text[at + len(keep) :].lstrip()}".strip()
        suffix = f" {keep}"

    def candidate(cut: int) -> str:
        head = base[:cut].rstrip(_DANGLING)
        return f"{head}{ellipsis}{suffix}" if head else ""

    def ok(cut: int) -> bool:
        made = candidate(cut)
        return bool(made) and fits(made)

    if at_sentences:
        whole = _largest(_sentence_cuts(base), lambda cut: fits(base[:cut] + suffix))
        if whole is not None:
            return base[:whole] + suffix
    best = _largest(_word_cuts(base), ok)
    if best is None:
        best = _largest(_grapheme_cuts(base), ok)
    if best is not None:
        return candidate(best)
    for last_resort in (suffix.strip(), ellipsis):
        if last_resort and fits(last_resort):
            return last_resort
    return ""
