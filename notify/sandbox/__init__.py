"""Local stand-ins of every provider API and an SMTP server (`notify sandbox`, `notify demo`).

    with Sandbox() as sandbox:          # a background thread; or `async with` in a loop
        sandbox.base_url("twilio")      # -> http://127.0.0.1:PORT/twilio
        sandbox.posts("twilio")         # what the emulator accepted

The layout: `core/` is the machinery that knows no provider (emulator interface, HTTP server,
routing, knobs, recording, SMTP); one module per provider emulator beside it, listed in
`registry.py`; `server.py` assembles them into `Sandbox`; `config.py` writes a channels.yaml
pointing at one; `cli.py` is `notify sandbox`.

The names below are imported on first use: the CLI imports `notify.sandbox.cli` to build its
command list, and that must not pull in asyncio, h11 and every emulator (`notify --help`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from notify.sandbox.config import SandboxAddress
    from notify.sandbox.core.recording import ReceivedEmail, Recorded
    from notify.sandbox.credentials import Credentials
    from notify.sandbox.registry import EMULATORS
    from notify.sandbox.server import Sandbox

__all__ = ["EMULATORS", "Credentials", "ReceivedEmail", "Recorded", "Sandbox", "SandboxAddress"]

_HOMES = {
    "Credentials": "notify.sandbox.credentials",
    "EMULATORS": "notify.sandbox.registry",
    "ReceivedEmail": "notify.sandbox.core.recording",
    "Recorded": "notify.sandbox.core.recording",
    "Sandbox": "notify.sandbox.server",
    "SandboxAddress": "notify.sandbox.config",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
