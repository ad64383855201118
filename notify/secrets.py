"""One place that knows every secret value, so any text can be scrubbed before it leaves.

What is secret is declared, not guessed (CONTRACT.md): the fields a channel type declares secret,
the values of `headers`, the password inside any URL, a journal DSN's password, and tokens an
adapter obtains at run time (Bluesky sessions). Values from the environment are not secret for
coming from there: `enabled: ${SLACK_ON}` is just `true`.

Secrets are kept out of text where text is made (targets are shown without credentials, errors
quote redacted values); `redact` is the last resort every output path calls (errors, logs,
previews, --json, the journal's error column). It also removes the forms a provider may echo a
secret back in: percent-encoded, and base64 (a `Basic` header carries `user:password` so).
"""

from __future__ import annotations

import base64
import re
import threading
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter values ("1", "yes") would mask ordinary words
_MIN_BASE64_CORE = 8  # characters of a base64 piece worth matching (6 bytes of the secret)

_lock = threading.Lock()
_secrets: set[str] = set()  # as written, and percent-encoded
_cores: set[str] = set()  # base64 pieces: a match masks the whole base64 word around it
# What `redact` reads, rebuilt when a secret is registered: longest first, no lock, no sort.
_ordered: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
_BASE64_WORD = "[A-Za-z0-9+/_-]*{}[A-Za-z0-9+/_-]*=*"


def register(value: object) -> None:
    """Remember a secret value (str, or anything whose str() could be printed), with the forms
    it takes percent-encoded and inside base64."""
    text = str(value) if value is not None else ""
    if len(text) < _MIN_SECRET_LENGTH:
        return
    forms = {text, quote(text, safe=""), quote(text), quote_plus(text)}
    forms |= {_lower_hex(f) for f in forms if "%" in f}
    cores = _base64_cores(text.encode())
    global _ordered
    with _lock:
        _secrets.update(forms)
        _cores.update(cores)
        _ordered = (tuple(sorted(_secrets, key=len, reverse=True)), tuple(_cores))


def register_url(url: object) -> None:
    """Register the password inside a URL (`https://user:password@host/...`), as written and
    percent-decoded; nothing when it has none."""
    password = _password(str(url or ""))
    if password:
        register(password)
        register(unquote(password))


def without_credentials(url: str) -> str:
    """`url` with the password of its user part replaced by ***, for showing it."""
    password = _password(url)
    if not password:
        return url
    parts = urlsplit(url)
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def redact(text: str) -> str:
    """`text` with every known secret, in any of its registered forms, replaced by ***."""
    ordered, cores = _ordered
    if not text or not ordered:
        return text
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    for core in cores:
        if core in text:
            text = re.sub(_BASE64_WORD.format(re.escape(core)), MASK, text)
    return text


def clear() -> None:
    """Forget every secret (tests that load several configs in one process)."""
    global _ordered
    with _lock:
        _secrets.clear()
        _cores.clear()
        _ordered = ((), ())


def _password(url: str) -> str | None:
    if "@" not in url or "://" not in url:
        return None
    try:
        return urlsplit(url.strip()).password
    except ValueError:
        return None


def _lower_hex(text: str) -> str:
    return re.sub(r"%[0-9A-F]{2}", lambda m: m.group(0).lower(), text)


def _base64_cores(data: bytes) -> set[str]:
    """The part of base64(anything + data + anything) that depends on `data` alone, for each of
    the three alignments `data` may start at (standard and URL-safe alphabets)."""
    cores: set[str] = set()
    for skip in range(3):
        whole = data[skip:]
        whole = whole[: len(whole) - len(whole) % 3]
        if len(whole) * 4 // 3 < _MIN_BASE64_CORE:
            continue
        encoded = base64.b64encode(whole).decode()
        cores.add(encoded)
        cores.add(encoded.replace("+", "-").replace("/", "_"))
    return cores
