"""Writing the site's files so that a web server never serves half of one.

Each file is written whole to a temporary name in its own folder, flushed to disk, then renamed
over the old one (`os.replace`, atomic on POSIX and Windows): a reader gets the old file or the
new one, never a mix. A file whose content did not change is left alone, so its modification
time (and a CDN's cache) stays valid and a re-render writes only what an update changed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Written:
    """What one render did to the folder."""

    changed: list[str] = field(default_factory=list)  # paths relative to the folder
    unchanged: int = 0


def write_atomic(path: Path, data: bytes) -> None:
    """Replace `path` with `data` in one rename (its folder is created when missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes it 0600: a web server must be able to read it
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class SiteWriter:
    """Writes files under one folder, each atomically, skipping those already up to date."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.report = Written()

    def write(self, relative: str, data: bytes | str) -> None:
        content = data.encode() if isinstance(data, str) else data
        path = self.root / relative
        try:
            if path.stat().st_size == len(content) and path.read_bytes() == content:
                self.report.unchanged += 1
                return
        except OSError:
            pass  # missing (or unreadable): write it
        write_atomic(path, content)
        self.report.changed.append(relative)


def writable_problem(folder: Path) -> str | None:
    """Why files cannot be written into `folder`, or None when they can.

    Checked by creating and removing a file there (or, while the folder does not exist yet, in
    the nearest folder above it that does, where it would be created): permission bits alone say
    nothing about read-only mounts, ACLs or a full disk. Nothing is left behind either way.
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"'{existing}' is a file, not a folder"
    try:
        handle, probe = tempfile.mkstemp(prefix=".notify-write-check.", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        return f"cannot write into '{existing}': {exc.strerror or exc}"
    return None
