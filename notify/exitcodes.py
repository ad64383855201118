"""The exit codes scripts act on (CONTRACT.md, "Exit codes")."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    """Every delivery succeeded (or, with --key, had already succeeded)."""
    DELIVERY_FAILED = 1
    """At least one recipient did not get the update after retries and fallbacks."""
    INVALID_INPUT = 2
    """Usage, config, template, variables, recipients, secrets: nothing sent, nothing recorded."""
    INTERNAL_ERROR = 3
    """A bug in notify (or a plugin): the message says what; -v shows the traceback."""
    JOURNAL_FAILED = 4
    """The journal could not be read or written (damaged, disk full, I/O error). In a send or
    retry the result so far is printed: deliveries that went out may be missing from the
    journal, and a `notify retry` once it is fixed may repeat them."""
    INTERRUPTED = 130
    """Ctrl-C or SIGTERM: the journal says what went out; `notify retry` finishes the rest."""
