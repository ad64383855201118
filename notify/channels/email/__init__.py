"""Email over SMTP or SendGrid: the `email` channel type (entry point notify.channels.email)."""

from __future__ import annotations

from notify.channels.email.channel import EmailChannel

__all__ = ["EmailChannel"]
