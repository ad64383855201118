"""Local stand-ins of every provider API and an SMTP server (`notify sandbox`, `notify demo`).

with Sandbox() as sandbox:          # a background thread; or `async with` in a loop
    sandbox.base_url("twilio")      # -> http://127.0.0.1:PORT/twilio
    sandbox.posts("twilio")         # what the emulator accepted
"""

from __future__ import annotations

from notify.sandbox.credentials import Credentials
from notify.sandbox.server import EMULATORS, Recorded, Sandbox

__all__ = ["EMULATORS", "Credentials", "Recorded", "Sandbox"]
