"""Journal locations: which backend a location names, and how it may be shown (password masked).

A location is a file path (SQLite), or a URL whose scheme names a backend: `sqlite:///path`,
`postgresql://user:password@host:5432/db`. A URL's password is a secret: `shown` registers it
with notify.secrets, so every output path masks it from then on, and replaces it with ***.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from notify import secrets

__all__ = ["ALIASES", "is_url", "scheme", "shown", "sqlite_file"]

# Other spellings of a scheme.
ALIASES: dict[str, str] = {"postgres": "postgresql"}

_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
SQLITE_PREFIX = "sqlite://"


def is_url(location: str | os.PathLike[str]) -> bool:
    """Whether `location` is a `scheme://...` URL (kept as written), not a file path."""
    return isinstance(location, str) and _URL.match(location) is not None


def scheme(location: str | os.PathLike[str]) -> str:
    """The backend's scheme: "sqlite" for a plain path (a Path object is always one)."""
    if isinstance(location, str) and (match := _URL.match(location)):
        name = match.group(1).lower()
        return ALIASES.get(name, name)
    return "sqlite"


def sqlite_file(location: str | os.PathLike[str]) -> Path | None:
    """The file of a SQLite location (a path, or `sqlite://` and a path); None for a journal on
    a server, or a `sqlite://` with no path."""
    if not is_url(location):
        return Path(location)
    text = str(location)
    if text[: len(SQLITE_PREFIX)].lower() != SQLITE_PREFIX:
        return None
    # Everything after the scheme is the path, as written: no host, no %-decoding.
    path_text = text[len(SQLITE_PREFIX) :]
    return Path(path_text).expanduser() if path_text else None


def shown(location: str | os.PathLike[str]) -> str:
    """`location` as it may be printed: a URL's password replaced by *** and registered as a
    secret (as written and %-decoded), so nothing prints it later either."""
    text = str(location)
    try:
        parts = urlsplit(text)
        password = parts.password
    except ValueError:
        return secrets.redact(text)
    if not password:
        return secrets.redact(text)
    secrets.register(password)
    secrets.register(unquote(password))
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{user}:{secrets.MASK}@{host}"
    return secrets.redact(urlunsplit(parts._replace(netloc=netloc)))
