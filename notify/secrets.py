"""One place that knows every secret value, so any text can be scrubbed before it leaves.

Config loading registers values that came from the environment and every field a channel
type declares secret; adapters register tokens they obtain at run time (Bluesky sessions).
Every output path (errors, logs, previews, --json, the journal's error column) calls `redact`.
"""

from __future__ import annotations

import threading

MASK = "***"
_MIN_SECRET_LENGTH = 4  # shorter values ("1", "yes") would mask ordinary words

_lock = threading.Lock()
_secrets: set[str] = set()


def register(value: object) -> None:
    """Remember a secret value (str, or anything whose str() could be printed)."""
    text = str(value) if value is not None else ""
    if len(text) >= _MIN_SECRET_LENGTH:
        with _lock:
            _secrets.add(text)


def redact(text: str) -> str:
    """`text` with every known secret replaced by ***, longest first."""
    if not _secrets or not text:
        return text
    with _lock:
        ordered = sorted(_secrets, key=len, reverse=True)
    for secret in ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def clear() -> None:
    """Forget every secret (tests that load several configs in one process)."""
    with _lock:
        _secrets.clear()
