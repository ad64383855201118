"""Local stand-ins of every provider API and an SMTP server (`notify sandbox`, `notify demo`).

    with Sandbox() as sandbox:          # a background thread; or `async with` in a loop
        sandbox.base_url("twilio")      # -> http://127.0.0.1:PORT/twilio
        sandbox.posts("twilio")         # what the emulator accepted

The names below are imported on first use: the CLI imports `notify.sandbox.cli` to build its
command list, and that must not pull in asyncio, h11 and every emulator (`notify --help`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notify.sandbox.credentials import Credentials
    from notify.sandbox.server import EMULATORS, Recorded, Sandbox

__all__ = ["EMULATORS", "Credentials", "Recorded", "Sandbox"]

_HOMES = {
    "Credentials": "notify.sandbox.credentials",
    "EMULATORS": "notify.sandbox.server",
    "Recorded": "notify.sandbox.server",
    "Sandbox": "notify.sandbox.server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
