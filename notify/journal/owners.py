"""Who holds a claim: this run's owner name, and whether another run's claim may be taken over.

A claim is owned by a run named "host:pid:start", so that a pid reused by another process is not
taken for the dead run. Every backend judges abandoned claims with `claim_abandoned`.
"""

from __future__ import annotations

import os
import socket
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["FOREIGN_CLAIM_TTL", "claim_abandoned", "owner_alive", "run_owner"]

# A claim by a run on another host can't be checked: after this long it counts as abandoned.
FOREIGN_CLAIM_TTL = timedelta(hours=1)

_owner_cache: tuple[int, str] | None = None


def run_owner() -> str:
    """ "hostname:pid:process-start-time" of this process: who holds the claims it makes."""
    global _owner_cache
    pid = os.getpid()
    # Keyed by pid: a forked child must not inherit its parent's name.
    if _owner_cache is None or _owner_cache[0] != pid:
        _owner_cache = (pid, f"{socket.gethostname()}:{pid}:{_start_time(pid) or '?'}")
    return _owner_cache[1]


def owner_alive(owner: str) -> bool:
    """False only when `owner` surely stopped: same host, and its pid is gone or now belongs to a
    process started at another time. A run on another host can't be checked: True."""
    return _liveness(owner) is not False


def claim_abandoned(owner: str, claimed_at: str, now: datetime | None = None) -> bool:
    """Whether a delivery claimed by `owner` at `claimed_at` (ISO 8601) may be taken over."""
    alive = _liveness(owner)
    if alive is not None:
        return not alive
    try:
        since = datetime.fromisoformat(claimed_at.replace("Z", "+00:00"))
    except ValueError:
        return False  # unreadable time: never risk sending twice
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return (now or datetime.now(UTC)) - since > FOREIGN_CLAIM_TTL


def _liveness(owner: str) -> bool | None:
    """True running, False gone, None can't tell (another host, unreadable owner, no way to ask)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    host, pid_text, started = parts
    pid = int(pid_text)
    if host != socket.gethostname() or pid <= 0 or sys.platform == "win32":
        return None  # on Windows os.kill(pid, 0) would send CTRL_C_EVENT, not probe
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    except OSError:
        return None
    current = _start_time(pid)
    if current is None:
        # Linux: /proc/<pid> gone (it just exited) or a zombie; elsewhere: can't read it.
        return not sys.platform.startswith("linux")
    return started in ("?", current)


def _start_time(pid: int) -> str | None:
    """The process's start time as an opaque token without ':', or None (gone or a zombie)."""
    if sys.platform.startswith("linux"):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        # The command name (field 2) may hold spaces and ')': read the fields after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) < 20 or fields[0] in ("Z", "X"):
            return None
        return fields[19]  # field 22, starttime: clock ticks after boot
    if sys.platform == "win32":
        return None
    import subprocess  # macOS and BSDs only: ask ps

    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    token = "".join(ch for ch in out if ch.isalnum())
    return token or None
